/**
 * Versions for every flavour: parsing `epoch:version-release` into a PackageVersion, ordering
 * (pacman's vercmp for `pkgbuild`, dpkg's for `debian` and `autobuild`) and constraint satisfaction.
 * Versions are plain strings in and out; text a flavour cannot read is an InvalidVersionError.
 */
import type { Flavour, PackageVersion, VersionConstraint } from '../recipe/model.js';
import { compareDpkgParts, splitDebianVersion } from './dpkg.js';
import { InvalidVersionError } from './errors.js';
import { comparePacmanVersions, splitPacmanVersion } from './pacman.js';

export { InvalidVersionError, type VersionPart } from './errors.js';
export { comparePacmanVersions } from './pacman.js';
export { compareDebianVersions } from './dpkg.js';

/** What tryParseVersion answers: the version, or the error saying what is wrong. */
export type VersionParseResult = { ok: true; version: PackageVersion } | { ok: false; error: InvalidVersionError };

// makepkg's rules: an epoch is digits, a pkgver has no colon, slash, hyphen or blank, a pkgrel is integer[.integer].
const PACMAN_EPOCH = /^[0-9]+$/;
const PACMAN_PKGVER = /^[\x21-\x7e]+$/;
const PACMAN_PKGVER_FORBIDDEN = /[:/-]/;
const PACMAN_PKGREL = /^[0-9]+(\.[0-9]+)?$/;
// The same rules in one expression, so that comparing well-formed versions costs one test per side.
const PACMAN_WELL_FORMED = /^(?:[0-9]+:)?[\x21-\x2c\x2e\x30-\x39\x3b-\x7e]+(?:-[0-9]+(?:\.[0-9]+)?)?$/;

/** Throws InvalidVersionError unless the text is a well-formed Arch version. */
function checkPacmanVersion(text: string): void {
  if (!PACMAN_WELL_FORMED.test(text)) parsePacmanVersion(text);
}

function parsePacmanVersion(text: string): PackageVersion {
  if (text === '') throw new InvalidVersionError(text, 'version is empty');
  const colon = text.indexOf(':');
  const epochText = colon >= 0 ? text.slice(0, colon) : null;
  if (epochText !== null && !PACMAN_EPOCH.test(epochText)) throw new InvalidVersionError(text, 'epoch must be a non-negative integer', 'epoch');
  const evr = splitPacmanVersion(text);
  if (evr.version === '') throw new InvalidVersionError(text, 'pkgver is empty', 'upstream');
  if (!PACMAN_PKGVER.test(evr.version)) throw new InvalidVersionError(text, 'pkgver may only contain printable ASCII characters, no blanks', 'upstream');
  if (PACMAN_PKGVER_FORBIDDEN.test(evr.version)) throw new InvalidVersionError(text, 'pkgver may not contain colons, slashes or hyphens', 'upstream');
  if (evr.release !== null && !PACMAN_PKGREL.test(evr.release)) throw new InvalidVersionError(text, "pkgrel must be of the form 'integer[.integer]'", 'release');
  return { epoch: epochText === null ? 0 : Number(epochText), upstream: evr.version, release: evr.release, text };
}

function parseDpkgVersion(text: string): PackageVersion {
  const parts = splitDebianVersion(text);
  return { epoch: parts.epoch, upstream: parts.upstream, release: parts.hasRevision ? parts.revision : null, text };
}

/** Parses a version as the flavour writes it (Arch `epoch:pkgver-pkgrel`, Debian and AOSC `epoch:upstream-revision`). Throws InvalidVersionError. */
export function parseVersion(flavour: Flavour, text: string): PackageVersion {
  return flavour === 'pkgbuild' ? parsePacmanVersion(text) : parseDpkgVersion(text);
}

/** parseVersion that answers with a result value instead of throwing. */
export function tryParseVersion(flavour: Flavour, text: string): VersionParseResult {
  try {
    return { ok: true, version: parseVersion(flavour, text) };
  } catch (error) {
    if (error instanceof InvalidVersionError) return { ok: false, error };
    throw error;
  }
}

/** Composes a version's text from its parts, the inverse of parseVersion (epoch shown only when non-zero). */
export function formatVersion(parts: { epoch: number; upstream: string; release: string | null }): string {
  const epoch = parts.epoch !== 0 ? `${parts.epoch}:` : '';
  return parts.release !== null ? `${epoch}${parts.upstream}-${parts.release}` : `${epoch}${parts.upstream}`;
}

/** Orders two versions of a flavour: -1, 0 or 1. Throws InvalidVersionError for text the flavour cannot read. */
export function compareVersions(flavour: Flavour, a: string, b: string): number {
  if (flavour === 'pkgbuild') {
    checkPacmanVersion(a);
    checkPacmanVersion(b);
    return Math.sign(comparePacmanVersions(a, b));
  }
  return Math.sign(compareDpkgParts(splitDebianVersion(a), splitDebianVersion(b)));
}

/**
 * Whether a version satisfies a constraint. pacman compares as alpm's depcmp does, so a constraint
 * without a pkgrel ignores the candidate's pkgrel (`foo=1.5` takes 1.5-3); dpkg compares plainly.
 */
export function satisfiesConstraint(flavour: Flavour, version: string, constraint: VersionConstraint): boolean {
  const order = compareVersions(flavour, version, constraint.version);
  switch (constraint.op) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '=':
      return order === 0;
    case '>=':
      return order >= 0;
    case '>':
      return order > 0;
  }
}
