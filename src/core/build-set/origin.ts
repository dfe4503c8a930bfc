/** Build sets' names and origin changesets ("pkgbase@ref"), and the errors a request about a build set can meet. */

import { NAMESPACE_NAME } from './names.js';

/** An origin changeset: a pkgbase at a ref. */
export interface Origin {
  pkgbase: string;
  ref: string;
}

/** Why a build set cannot be made or planned; `code` says which rule, the message what to do. Routes choose the HTTP status. */
export type BuildSetErrorCode =
  | 'invalid_origin'
  | 'invalid_name'
  | 'name_taken'
  | 'no_origins'
  | 'unknown_package'
  | 'unknown_ref'
  | 'not_buildable'
  | 'plan_failed';

export class BuildSetError extends Error {
  override name = 'BuildSetError';
  constructor(
    readonly code: BuildSetErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const NAME = NAMESPACE_NAME;

/** Whether `name` may name a build set (it is a path segment of its repository). */
export function isBuildSetName(name: string): boolean {
  return NAME.test(name);
}

/** Throws unless `name` may name a build set. */
export function checkBuildSetName(name: string): void {
  if (!isBuildSetName(name)) throw new BuildSetError('invalid_name', `"${name}" is not a build set name: letters, digits, . _ + - (up to 100), starting with a letter or digit`);
}

/** Parses "pkgbase@ref" (the ref may itself hold "@": the last one separates). */
export function parseOrigin(text: string): Origin {
  const at = text.lastIndexOf('@');
  const pkgbase = text.slice(0, at);
  const ref = text.slice(at + 1);
  if (at <= 0 || !ref || !/^[A-Za-z0-9@._+-]+$/.test(pkgbase) || /\s|\.\.|^-/.test(ref)) {
    throw new BuildSetError('invalid_origin', `"${text}" is not an origin changeset; write pkgbase@ref, e.g. zlib@main`);
  }
  return { pkgbase, ref };
}

/** "pkgbase@ref". */
export function formatOrigin(origin: Origin): string {
  return `${origin.pkgbase}@${origin.ref}`;
}
