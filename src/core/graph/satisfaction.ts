/**
 * When a binary satisfies a dependency atom: the rules the binary index (resolving atoms forwards)
 * and the reverse index (checking dependants backwards) share.
 *
 * Versions compare with the flavour's rules (dpkg for Debian and AOSC, vercmp for pacman). A
 * versioned dependency is satisfied only by a versioned provide whose version satisfies it (dpkg
 * and pacman agree: an unversioned provide never satisfies a versioned dependency).
 *
 * Multiarch qualifiers are read for one native architecture: no qualifier, `:native` or the native
 * architecture's name mean the native package; `:any` is satisfied, as dpkg's deparchsatisfied has
 * it, by a package (or through the Provides of a package) marked `Multi-Arch: allowed` or `foreign`;
 * a foreign architecture (`gcc:i386` on amd64) cannot be satisfied from a single-architecture index.
 * (dose-ceve differs on two corner cases bookworm does not have: it lets `:any` take any native
 * package by name, and refuses a `foreign` provider.)
 */
import type { Dependency, Flavour, VersionConstraint } from '../recipe/model.js';
import { InvalidVersionError, satisfiesConstraint } from '../version/index.js';

/** Whether a binary with this Multi-Arch value meets the atom's architecture qualifier on `arch`. */
export function qualifierAllows(multiArch: string | undefined, atom: Dependency, arch: string): boolean {
  const qualifier = atom.archQualifier;
  if (qualifier === undefined || qualifier === 'native' || qualifier === arch) return true;
  if (qualifier === 'any') return multiArch === 'allowed' || multiArch === 'foreign';
  return false;
}

/** Version checks with one flavour's rules, memoised: the same pairs recur across an archive. */
export class VersionCheck {
  private readonly answers = new Map<string, boolean>();

  constructor(readonly flavour: Flavour) {}

  /** Whether a binary's own version meets the constraint (none: always). A version neither side can read satisfies nothing. */
  satisfies(version: string, constraint: VersionConstraint | undefined): boolean {
    if (!constraint) return true;
    const key = `${version}\u0000${constraint.op}\u0000${constraint.version}`;
    let answer = this.answers.get(key);
    if (answer === undefined) {
      try {
        answer = satisfiesConstraint(this.flavour, version, constraint);
      } catch (error) {
        if (!(error instanceof InvalidVersionError)) throw error;
        answer = false;
      }
      this.answers.set(key, answer);
    }
    return answer;
  }

  /** Whether a provide (versioned or not) meets the constraint: a versioned dependency needs a versioned provide. */
  provideSatisfies(version: string | undefined, constraint: VersionConstraint | undefined): boolean {
    if (!constraint) return true;
    return version !== undefined && this.satisfies(version, constraint);
  }
}
