/**
 * Evaluating the recipe model for one architecture: architecture restrictions and wildcards
 * (matched as dpkg-architecture's `debarch_is` matches them), build profiles, and which
 * architectures a source or binary package is built for.
 */
import type { ArchRestriction, Dependency, DependencyClause } from './model.js';

/** The architecture a plan or closure is computed for, and the build profiles active (none by default). */
export interface ArchView {
  arch: string;
  profiles: ReadonlySet<string>;
}

/** A view of `arch` with the given build profiles active. */
export function archView(arch: string, profiles: Iterable<string> = []): ArchView {
  return { arch, profiles: new Set(profiles) };
}

/** dpkg's tuple (abi, libc, os, cpu) of the Debian architectures whose tuple is not base-gnu-linux-<name>. */
const TUPLES: Record<string, readonly [string, string, string, string]> = {
  armhf: ['eabihf', 'gnu', 'linux', 'arm'],
  armel: ['eabi', 'gnu', 'linux', 'arm'],
  arm: ['base', 'gnu', 'linux', 'arm'],
  mips64el: ['abi64', 'gnu', 'linux', 'mips64el'],
  mips64: ['abi64', 'gnu', 'linux', 'mips64'],
  mips64r6el: ['abi64', 'gnu', 'linux', 'mips64r6el'],
  x32: ['x32', 'gnu', 'linux', 'amd64'],
  powerpcspe: ['spe', 'gnu', 'linux', 'powerpc'],
  'hurd-i386': ['base', 'gnu', 'hurd', 'i386'],
  'hurd-amd64': ['base', 'gnu', 'hurd', 'amd64'],
  'kfreebsd-i386': ['base', 'gnu', 'kfreebsd', 'i386'],
  'kfreebsd-amd64': ['base', 'gnu', 'kfreebsd', 'amd64'],
  'musl-linux-amd64': ['base', 'musl', 'linux', 'amd64'],
  'musl-linux-arm64': ['base', 'musl', 'linux', 'arm64'],
};

/**
 * The dpkg tuple of a concrete architecture name. Names dpkg does not list (Arch's `x86_64`,
 * AOSC's `loongarch64`, most Debian ports) are taken as Linux with glibc on a CPU of that name,
 * which is what they are.
 */
function tupleOf(arch: string): readonly [string, string, string, string] {
  return TUPLES[arch] ?? ['base', 'gnu', 'linux', arch];
}

const wildcardTuples = new Map<string, readonly [string, string, string, string] | null>();

/** The tuple a wildcard stands for, as dpkg's debwildcard_to_debtuple expands it; null for a concrete name. Each pattern is expanded once: an archive repeats a few. */
function wildcardTuple(pattern: string): readonly [string, string, string, string] | null {
  let tuple = wildcardTuples.get(pattern);
  if (tuple === undefined) {
    tuple = expandWildcard(pattern);
    // Patterns come from recipes: the memo stays small whatever they hold.
    if (wildcardTuples.size < 4096) wildcardTuples.set(pattern, tuple);
  }
  return tuple;
}

function expandWildcard(pattern: string): readonly [string, string, string, string] | null {
  const parts = pattern.split('-');
  if (!parts.includes('any')) return null;
  if (parts.length >= 4) return [parts[0]!, parts[1]!, parts[2]!, parts.slice(3).join('-')];
  if (parts.length === 3) return ['any', parts[0]!, parts[1]!, parts[2]!];
  if (parts.length === 2) return ['any', 'any', parts[0]!, parts[1]!];
  return ['any', 'any', 'any', 'any'];
}

/** Whether a concrete architecture is matched by an architecture name or wildcard (`linux-any`, `any-amd64`, `any`). `all` matches only `all`. */
export function archMatches(pattern: string, arch: string): boolean {
  if (pattern === arch) return true;
  if (pattern === 'all' || arch === 'all') return false;
  if (pattern === 'any') return true;
  const wildcard = wildcardTuple(pattern);
  if (!wildcard) return false;
  const real = tupleOf(arch);
  return wildcard.every((part, i) => part === 'any' || part === real[i]);
}

/** Whether a restriction (`[amd64 !i386]`, or a per-architecture key) lets a dependency apply on `arch`. */
export function restrictionApplies(restriction: ArchRestriction | undefined, arch: string): boolean {
  if (!restriction || restriction.arches.length === 0) return true;
  const listed = restriction.arches.some((pattern) => archMatches(pattern, arch));
  return restriction.negated ? !listed : listed;
}

/** Whether a build-profile formula (a disjunction of conjunctions of `name` / `!name`) holds with these profiles active. */
export function profilesApply(formula: string[][] | undefined, active: ReadonlySet<string>): boolean {
  if (!formula || formula.length === 0) return true;
  return formula.some((conjunction) =>
    conjunction.every((term) => (term.startsWith('!') ? !active.has(term.slice(1)) : active.has(term))),
  );
}

/** Whether a dependency atom applies in the view (its architecture restriction and build profiles). */
export function dependencyApplies(dependency: Dependency, view: ArchView): boolean {
  return restrictionApplies(dependency.arches, view.arch) && profilesApply(dependency.profiles, view.profiles);
}

/**
 * The clauses as they apply in the view: atoms that do not apply are removed, and a clause left
 * without atoms is dropped (as dpkg-checkbuilddeps reduces `a [i386] | b [amd64]`).
 */
export function clausesFor(clauses: readonly DependencyClause[], view: ArchView): readonly DependencyClause[] {
  // Most clauses carry no restriction: hand the list back as it is unless one does not apply.
  let applying: DependencyClause[] | null = null;
  for (let i = 0; i < clauses.length; i++) {
    const clause = clauses[i]!;
    let atoms: DependencyClause = clause;
    for (const atom of clause) {
      if ((atom.arches || atom.profiles) && !dependencyApplies(atom, view)) {
        atoms = clause.filter((a) => dependencyApplies(a, view));
        break;
      }
    }
    if (atoms !== clause && !applying) applying = clauses.slice(0, i);
    if (applying && atoms.length > 0) applying.push(atoms);
  }
  return applying ?? clauses;
}

/**
 * Whether a package whose `Architecture` lists these names is built for `arch`: a name or wildcard
 * matching it, or `all` (architecture-independent packages, Arch's `any` included, install everywhere).
 */
export function builtFor(architectures: readonly string[], arch: string): boolean {
  return architectures.length === 0 || architectures.some((name) => name === 'all' || archMatches(name, arch));
}

/** Whether the list names architecture-dependent output for `arch` (anything but `all` that matches it). */
export function hasArchDependent(architectures: readonly string[], arch: string): boolean {
  return architectures.some((name) => name !== 'all' && archMatches(name, arch));
}

/** Whether the list names architecture-independent output (`all`). */
export function hasArchIndependent(architectures: readonly string[]): boolean {
  return architectures.includes('all');
}
