/**
 * Arch dependency strings as libalpm reads them (`alpm_dep_from_string`): `name`, `name>=1.2`,
 * `name=1:2.0-3`, optdepends' `name: why`, provides' `name=1.2`. Pure; answers errors as values.
 */
import { tryParseVersion } from '../version/index.js';
import type { Dependency, Provide, VersionOperator } from './model.js';

/**
 * A dependency string read, or the reason it cannot be; when only its version is unreadable
 * (`guile>=` from a PKGBUILD variable that was empty), `unversioned` keeps the name, so that the
 * caller can still see the package relation while reporting the problem.
 */
export type PacmanDependencyResult = { ok: true; dependency: Dependency } | { ok: false; reason: string; unversioned?: Dependency };

/** A provides string read, or the reason it cannot be (with the bare name when only the version is wrong). */
export type PacmanProvideResult = { ok: true; provide: Provide } | { ok: false; reason: string; unversioned?: Provide };

/** Where the operator is and which one it is, found the way libalpm looks: `<` first, then `>`, then `=`. */
function findOperator(text: string): { at: number; op: VersionOperator; length: number } | null {
  const less = text.indexOf('<');
  if (less >= 0) return text[less + 1] === '=' ? { at: less, op: '<=', length: 2 } : { at: less, op: '<', length: 1 };
  const greater = text.indexOf('>');
  if (greater >= 0) return text[greater + 1] === '=' ? { at: greater, op: '>=', length: 2 } : { at: greater, op: '>', length: 1 };
  const equal = text.indexOf('=');
  return equal >= 0 ? { at: equal, op: '=', length: 1 } : null;
}

/** Reads one Arch dependency (depends, makedepends, checkdepends, optdepends, conflicts, replaces); an optdepends description after `: ` is dropped. */
export function parsePacmanDependency(text: string): PacmanDependencyResult {
  const description = text.indexOf(': ');
  const atom = (description >= 0 ? text.slice(0, description) : text).trim();
  if (atom === '') return { ok: false, reason: `dependency '${text}' has no package name` };
  if (/\s/.test(atom)) return { ok: false, reason: `dependency '${atom}' contains blanks` };
  const operator = findOperator(atom);
  if (!operator) return { ok: true, dependency: { name: atom } };
  const name = atom.slice(0, operator.at);
  const version = atom.slice(operator.at + operator.length);
  if (name === '') return { ok: false, reason: `dependency '${atom}' has no package name` };
  if (version === '') return { ok: false, reason: `dependency '${atom}' has an operator but no version`, unversioned: { name } };
  const parsed = tryParseVersion('pkgbuild', version);
  if (!parsed.ok) return { ok: false, reason: `dependency '${atom}': ${parsed.error.message}`, unversioned: { name } };
  return { ok: true, dependency: { name, constraint: { op: operator.op, version } } };
}

/** Reads one Arch provides entry: a name, with `=version` if versioned (pacman only matches provides by equality). */
export function parsePacmanProvide(text: string): PacmanProvideResult {
  const read = parsePacmanDependency(text);
  if (!read.ok) {
    const reason = read.reason.replace(/^dependency/, 'provides');
    return read.unversioned ? { ok: false, reason, unversioned: { name: read.unversioned.name } } : { ok: false, reason };
  }
  const { name, constraint } = read.dependency;
  if (!constraint) return { ok: true, provide: { name } };
  if (constraint.op !== '=') return { ok: false, reason: `provides '${text.trim()}' may only use '=' for a version, not '${constraint.op}'`, unversioned: { name } };
  return { ok: true, provide: { name, version: constraint.version } };
}
