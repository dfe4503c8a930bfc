/**
 * The binary index of one architecture: every binary built for it, found by its name and by the
 * names it provides, and the answer to "which binaries satisfy this dependency?".
 *
 * Satisfaction follows the package managers: a binary satisfies an atom through its own name
 * (its version checked against the constraint) or through a Provides of that name. A versioned
 * dependency is satisfied only by a versioned provide whose version satisfies it (dpkg and pacman
 * agree: an unversioned provide never satisfies a versioned dependency). Versions compare with the
 * flavour's rules (dpkg for Debian and AOSC, vercmp for pacman).
 *
 * Multiarch qualifiers are read for one native architecture: no qualifier, `:native` or the native
 * architecture's name mean the native package; `:any` is satisfied, as dpkg's deparchsatisfied has
 * it, by a package (or through the Provides of a package) marked `Multi-Arch: allowed` or `foreign`;
 * a foreign architecture (`gcc:i386` on amd64) cannot be satisfied from a single-architecture index.
 * (dose-ceve differs on two corner cases bookworm does not have: it lets `:any` take any native
 * package by name, and refuses a `foreign` provider.)
 */
import { builtFor, clausesFor, restrictionApplies, type ArchView } from '../recipe/arch-view.js';
import type { Dependency, DependencyClause, Flavour, VersionConstraint } from '../recipe/model.js';
import { InvalidVersionError, satisfiesConstraint } from '../version/index.js';
import { binaryEntries, type BinaryEntry, type Universe } from './universe.js';
import { pushTo } from './multimap.js';
import { compareText } from './order.js';

/** A binary that provides a name, with the provided version if the provide is versioned. */
export interface ProvideRef {
  binary: number;
  version: string | undefined;
}

/** The atoms asking for one name: `binaries[i]` holds `atoms[i]` in its Depends or Pre-Depends, for i from `from` to `to - 1`. */
export interface MentionRange {
  binaries: Int32Array;
  atoms: readonly Dependency[];
  from: number;
  to: number;
}

interface MentionIndex {
  slots: Map<string, number>;
  start: Int32Array;
  binaries: Int32Array;
  atoms: Dependency[];
}

const NONE: readonly never[] = [];

/** The binaries of one architecture, indexed by name and by provided name. Ids are positions in `entries`. */
export class BinaryIndex {
  /** The binaries built for the view's architecture, sorted by name then version text, so that answers do not depend on input order. */
  readonly entries: readonly BinaryEntry[];
  private readonly real = new Map<string, number[]>();
  private readonly providing = new Map<string, ProvideRef[]>();
  private readonly runClauseCache: (readonly DependencyClause[] | undefined)[];
  private mentionIndex: MentionIndex | null = null;
  private readonly versionCache = new Map<string, boolean>();

  constructor(
    readonly flavour: Flavour,
    entries: readonly BinaryEntry[],
    readonly view: ArchView,
  ) {
    const built = entries.filter((entry) => builtFor(entry.binary.architectures, view.arch));
    // Sorting positions over plain arrays of names is several times faster than sorting the entries themselves.
    const names = built.map((entry) => entry.name);
    const versions = built.map((entry) => entry.version);
    const order = Int32Array.from(built, (_, i) => i).sort(
      (a, b) => compareText(names[a]!, names[b]!) || compareText(versions[a]!, versions[b]!) || compareText(built[a]!.source, built[b]!.source),
    );
    this.entries = Array.from(order, (i) => built[i]!);
    this.runClauseCache = new Array<readonly DependencyClause[] | undefined>(this.entries.length);
    this.entries.forEach((entry, id) => {
      pushTo(this.real, entry.name, id);
      for (const provide of entry.binary.provides) {
        if (restrictionApplies(provide.arches, view.arch)) pushTo(this.providing, provide.name, { binary: id, version: provide.version });
      }
    });
  }

  /** The index of a universe's binaries for one architecture. */
  static of(universe: Universe, view: ArchView): BinaryIndex {
    return new BinaryIndex(universe.flavour, binaryEntries(universe), view);
  }

  /** Binaries whose own name is `name`. */
  named(name: string): readonly number[] {
    return this.real.get(name) ?? NONE;
  }

  /** Binaries that provide `name`. */
  providers(name: string): readonly ProvideRef[] {
    return this.providing.get(name) ?? NONE;
  }

  /** A binary's Pre-Depends and Depends as they apply on the view's architecture. */
  runClauses(id: number): readonly DependencyClause[] {
    let clauses = this.runClauseCache[id];
    if (!clauses) {
      const binary = this.entries[id]!.binary;
      clauses = clausesFor(binary.preDepends.length > 0 ? [...binary.preDepends, ...binary.depends] : binary.depends, this.view);
      this.runClauseCache[id] = clauses;
    }
    return clauses;
  }

  /** Every binary satisfying an atom, in id order (one binary once, whether by name or by provide). */
  resolveAtom(atom: Dependency): number[] {
    const found: number[] = [];
    for (const id of this.named(atom.name)) {
      if (this.qualifierAllows(id, atom) && this.versionSatisfies(this.entries[id]!.version, atom.constraint)) found.push(id);
    }
    for (const provide of this.providers(atom.name)) {
      if (this.qualifierAllows(provide.binary, atom) && this.provideSatisfies(provide.version, atom.constraint) && !found.includes(provide.binary)) {
        found.push(provide.binary);
      }
    }
    return found.length > 1 ? found.sort((a, b) => a - b) : found;
  }

  /** Whether binary `id` satisfies the atom, by its own name or a provide. */
  satisfies(id: number, atom: Dependency): boolean {
    if (!this.qualifierAllows(id, atom)) return false;
    const entry = this.entries[id]!;
    if (entry.name === atom.name && this.versionSatisfies(entry.version, atom.constraint)) return true;
    for (const provide of entry.binary.provides) {
      if (provide.name === atom.name && restrictionApplies(provide.arches, this.view.arch) && this.provideSatisfies(provide.version, atom.constraint)) return true;
    }
    return false;
  }

  /** The names binary `id` answers to: its own, then those it provides on this architecture. */
  namesOf(id: number): string[] {
    const entry = this.entries[id]!;
    const names = [entry.name];
    for (const provide of entry.binary.provides) {
      if (restrictionApplies(provide.arches, this.view.arch) && !names.includes(provide.name)) names.push(provide.name);
    }
    return names;
  }

  /**
   * The atoms of every binary's run dependencies that ask for `name` (the reverse of resolution,
   * before version checks): positions `from` to `to - 1` of `binaries` (the asking binary) and `atoms`.
   */
  mentions(name: string): MentionRange {
    const mentions = (this.mentionIndex ??= this.indexMentions());
    const slot = mentions.slots.get(name);
    if (slot === undefined) return { binaries: mentions.binaries, atoms: mentions.atoms, from: 0, to: 0 };
    return { binaries: mentions.binaries, atoms: mentions.atoms, from: mentions.start[slot]!, to: mentions.start[slot + 1]! };
  }

  /** Builds the mention index in two passes (count, then fill) into flat arrays: 400k atoms in bookworm. */
  private indexMentions(): MentionIndex {
    const slots = new Map<string, number>();
    const counts: number[] = [];
    let total = 0;
    for (let id = 0; id < this.entries.length; id++) {
      for (const clause of this.runClauses(id)) {
        for (const atom of clause) {
          let slot = slots.get(atom.name);
          if (slot === undefined) {
            slot = counts.length;
            slots.set(atom.name, slot);
            counts.push(0);
          }
          counts[slot]!++;
          total++;
        }
      }
    }
    const start = new Int32Array(counts.length + 1);
    for (let slot = 0; slot < counts.length; slot++) start[slot + 1] = start[slot]! + counts[slot]!;
    const fill = start.slice(0, counts.length);
    const binaries = new Int32Array(total);
    const atoms = new Array<Dependency>(total);
    for (let id = 0; id < this.entries.length; id++) {
      for (const clause of this.runClauses(id)) {
        for (const atom of clause) {
          const at = fill[slots.get(atom.name)!]!++;
          binaries[at] = id;
          atoms[at] = atom;
        }
      }
    }
    return { slots, start, binaries, atoms };
  }

  private qualifierAllows(id: number, atom: Dependency): boolean {
    const qualifier = atom.archQualifier;
    if (qualifier === undefined || qualifier === 'native' || qualifier === this.view.arch) return true;
    if (qualifier === 'any') {
      const multiArch = this.entries[id]!.binary.multiArch;
      return multiArch === 'allowed' || multiArch === 'foreign';
    }
    return false;
  }

  private provideSatisfies(version: string | undefined, constraint: VersionConstraint | undefined): boolean {
    if (!constraint) return true;
    return version !== undefined && this.versionSatisfies(version, constraint);
  }

  /** Version check with the flavour's rules; a version neither side can read satisfies nothing. Memoised: the same pairs recur across an archive. */
  private versionSatisfies(version: string, constraint: VersionConstraint | undefined): boolean {
    if (!constraint) return true;
    const key = `${version}\u0000${constraint.op}\u0000${constraint.version}`;
    let answer = this.versionCache.get(key);
    if (answer === undefined) {
      try {
        answer = satisfiesConstraint(this.flavour, version, constraint);
      } catch (error) {
        if (!(error instanceof InvalidVersionError)) throw error;
        answer = false;
      }
      this.versionCache.set(key, answer);
    }
    return answer;
  }
}
