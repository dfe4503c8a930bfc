/**
 * The binary index of one architecture: every binary built for it, found by its name and by the
 * names it provides, and the answer to "which binaries satisfy this dependency?".
 *
 * A binary satisfies an atom through its own name (its version checked against the constraint) or
 * through a Provides of that name, with the version and multiarch rules of satisfaction.ts.
 */
import { builtFor, clausesFor, restrictionApplies, type ArchView } from '../recipe/arch-view.js';
import type { Dependency, DependencyClause, Flavour } from '../recipe/model.js';
import { binaryEntries, type BinaryEntry, type Universe } from './universe.js';
import { pushTo } from './multimap.js';
import { sortBinaries } from './order.js';
import { qualifierAllows, VersionCheck } from './satisfaction.js';

/** A binary that provides a name, with the provided version if the provide is versioned. */
export interface ProvideRef {
  binary: number;
  version: string | undefined;
}

const NONE: readonly never[] = [];

/** The binaries of one architecture, indexed by name and by provided name. Ids are positions in `entries`. */
export class BinaryIndex {
  /** The binaries built for the view's architecture, sorted by name then version text, so that answers do not depend on input order. */
  readonly entries: readonly BinaryEntry[];
  private readonly real = new Map<string, number[]>();
  private readonly providing = new Map<string, ProvideRef[]>();
  private readonly runClauseCache: (readonly DependencyClause[] | undefined)[];
  private readonly versions: VersionCheck;

  constructor(
    readonly flavour: Flavour,
    entries: readonly BinaryEntry[],
    readonly view: ArchView,
  ) {
    this.versions = new VersionCheck(flavour);
    const built = entries.filter((entry) => builtFor(entry.binary.architectures, view.arch));
    // Sorting positions over plain arrays of names is several times faster than sorting the entries themselves.
    const order = sortBinaries(
      Array.from(built, (_, i) => i),
      built.map((entry) => entry.name),
      built.map((entry) => entry.version),
      built.map((entry) => entry.source),
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
      if (this.qualifierAllows(id, atom) && this.versions.satisfies(this.entries[id]!.version, atom.constraint)) found.push(id);
    }
    for (const provide of this.providers(atom.name)) {
      if (this.qualifierAllows(provide.binary, atom) && this.versions.provideSatisfies(provide.version, atom.constraint) && !found.includes(provide.binary)) {
        found.push(provide.binary);
      }
    }
    return found.length > 1 ? found.sort((a, b) => a - b) : found;
  }

  private qualifierAllows(id: number, atom: Dependency): boolean {
    return qualifierAllows(this.entries[id]!.binary.multiArch, atom, this.view.arch);
  }
}
