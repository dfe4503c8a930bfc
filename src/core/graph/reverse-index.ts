/**
 * The reverse index of one architecture: its binaries, the names each answers to (its own and
 * those it provides), and every atom of their Pre-Depends and Depends by the name it asks for —
 * what the reverse closure walks. Names are numbered (slots) and each relation is laid out by
 * slot in flat arrays, so that a closure over a whole archive does no Map lookup per dependant.
 *
 * Binaries go in one at a time (ReverseIndexBuilder.add), so that an archive index can be added
 * while it is read, stanza by stanza, without becoming package objects; the architecture is chosen
 * afterwards (build). Ids follow the binary index's order (name, version, source), so both answer
 * alike, and satisfaction follows the same rules (satisfaction.ts).
 */
import { builtFor, dependencyApplies, restrictionApplies, type ArchView } from '../recipe/arch-view.js';
import type { Dependency, Flavour, Provide, RunRelations } from '../recipe/model.js';
import { sortBinaries } from './order.js';
import { qualifierAllows, VersionCheck } from './satisfaction.js';
import { binaryEntries, type Universe } from './universe.js';

/** The atoms asking for one name: `binaries[i]` holds `atoms[i]` in its Pre-Depends or Depends, for i from `from` to `to - 1`. */
export interface MentionRange {
  binaries: Int32Array;
  atoms: readonly Dependency[];
  from: number;
  to: number;
}

/** Collects binaries for a ReverseIndex, in any order; `build` picks those of one architecture. */
export class ReverseIndexBuilder {
  private readonly names: string[] = [];
  private readonly versions: string[] = [];
  private readonly sources: string[] = [];
  private readonly architectureLists: (readonly string[])[] = [];
  private readonly multiArch: (string | undefined)[] = [];
  private readonly provides: (readonly Provide[])[] = [];
  /** Every atom of every binary, Pre-Depends first, in the order added; binary k's are from atomStart[k] to atomStart[k + 1]. */
  private readonly atomStart: number[] = [0];
  private readonly atoms: Dependency[] = [];

  constructor(readonly flavour: Flavour) {}

  /** The builder of a universe's binaries. */
  static of(universe: Universe): ReverseIndexBuilder {
    const builder = new ReverseIndexBuilder(universe.flavour);
    for (const entry of binaryEntries(universe)) builder.add(entry.name, entry.version, entry.source, entry.binary);
    return builder;
  }

  /** Adds a binary: its name, version text, source package name and run relations (kept as given: never modified). */
  add(name: string, version: string, source: string, relations: RunRelations): void {
    this.names.push(name);
    this.versions.push(version);
    this.sources.push(source);
    this.architectureLists.push(relations.architectures);
    this.multiArch.push(relations.multiArch);
    this.provides.push(relations.provides);
    // Names are numbered in `build`, in one pass: between the stanzas of an index being read, each
    // lookup in a table of every name would wait on memory the parser has pushed out of the cache.
    for (const clause of relations.preDepends) for (const atom of clause) this.atoms.push(atom);
    for (const clause of relations.depends) for (const atom of clause) this.atoms.push(atom);
    this.atomStart.push(this.atoms.length);
  }

  /** The Architecture list of each binary added, for choosing a default architecture. */
  architectures(): readonly (readonly string[])[] {
    return this.architectureLists;
  }

  /** The index of the binaries built for the view's architecture. */
  build(view: ArchView): ReverseIndex {
    const arch = view.arch;
    // A whole archive has only a few different Architecture lists (parsers share equal ones).
    const builtByList = new Map<readonly string[], boolean>();
    const kept: number[] = [];
    for (let k = 0; k < this.names.length; k++) {
      const list = this.architectureLists[k]!;
      let built = builtByList.get(list);
      if (built === undefined) {
        built = builtFor(list, arch);
        builtByList.set(list, built);
      }
      if (built) kept.push(k);
    }
    const order = sortBinaries(kept, this.names, this.versions, this.sources);
    const size = order.length;

    // Names are numbered (slots): the binaries' own, then those they provide, then those they ask for.
    const slots = new Map<string, number>();
    const slot = (name: string): number => {
      let found = slots.get(name);
      if (found === undefined) {
        found = slots.size;
        slots.set(name, found);
      }
      return found;
    };
    const ownSlots = Int32Array.from(order, (k) => slot(this.names[k]!));
    const provides = order.map((k) => providesOn(this.provides[k]!, arch));
    const providerSlots: number[] = [];
    const providerBinaries: number[] = [];
    provides.forEach((list, id) => {
      for (const provide of list) {
        providerSlots.push(slot(provide.name));
        providerBinaries.push(id);
      }
    });
    // The mentions: the atoms that apply on the architecture, in id order and each binary's own order.
    const mentionSlots: number[] = [];
    const mentionOwners: number[] = [];
    const mentionAtoms: Dependency[] = [];
    order.forEach((k, id) => {
      for (let a = this.atomStart[k]!; a < this.atomStart[k + 1]!; a++) {
        const atom = this.atoms[a]!;
        if ((atom.arches || atom.profiles) && !dependencyApplies(atom, view)) continue;
        mentionSlots.push(slot(atom.name));
        mentionOwners.push(id);
        mentionAtoms.push(atom);
      }
    });

    const slotCount = slots.size;
    const named = groupBySlot(ownSlots, slotCount);
    const providing = groupBySlot(providerSlots, slotCount);
    const mentions = groupBySlot(mentionSlots, slotCount);
    return new ReverseIndex({
      flavour: this.flavour,
      view,
      size,
      names: order.map((k) => this.names[k]!),
      versions: order.map((k) => this.versions[k]!),
      multiArch: order.map((k) => this.multiArch[k]),
      provides,
      slots,
      ownSlots,
      named,
      providing: { start: providing.start, members: Int32Array.from(providing.members, (p) => providerBinaries[p]!) },
      mentions: { start: mentions.start, binaries: Int32Array.from(mentions.members, (m) => mentionOwners[m]!), atoms: Array.from(mentions.members, (m) => mentionAtoms[m]!) },
    });
  }
}

/** Members grouped by slot: those of slot s are `members[start[s]]` to `members[start[s + 1] - 1]`. */
interface SlotGroups {
  start: Int32Array;
  members: Int32Array;
}

/** Positions 0..n-1 grouped by their slot (a counting sort), keeping their order within a slot. */
function groupBySlot(slotOf: ArrayLike<number>, slotCount: number): SlotGroups {
  const start = new Int32Array(slotCount + 1);
  for (let i = 0; i < slotOf.length; i++) start[slotOf[i]! + 1]!++;
  for (let slot = 0; slot < slotCount; slot++) start[slot + 1]! += start[slot]!;
  const fill = start.slice(0, slotCount);
  const members = new Int32Array(slotOf.length);
  for (let i = 0; i < slotOf.length; i++) members[fill[slotOf[i]!]!++] = i;
  return { start, members };
}

/** The provides that apply on `arch`: the list itself unless one is restricted to other architectures. */
function providesOn(provides: readonly Provide[], arch: string): readonly Provide[] {
  return provides.some((provide) => provide.arches) ? provides.filter((provide) => restrictionApplies(provide.arches, arch)) : provides;
}

/** What ReverseIndexBuilder.build lays out. */
interface ReverseIndexParts {
  flavour: Flavour;
  view: ArchView;
  size: number;
  names: string[];
  versions: string[];
  multiArch: (string | undefined)[];
  provides: (readonly Provide[])[];
  slots: ReadonlyMap<string, number>;
  ownSlots: Int32Array;
  named: SlotGroups;
  providing: SlotGroups;
  mentions: { start: Int32Array; binaries: Int32Array; atoms: Dependency[] };
}

const NO_IDS = new Int32Array(0);

/** The binaries of one architecture and who asks for their names. Ids are 0 to size - 1, in name, version, source order. */
export class ReverseIndex {
  readonly view: ArchView;
  readonly size: number;
  private readonly parts: ReverseIndexParts;
  private readonly versionCheck: VersionCheck;

  /** Made by ReverseIndexBuilder.build. */
  constructor(parts: ReverseIndexParts) {
    this.parts = parts;
    this.view = parts.view;
    this.size = parts.size;
    this.versionCheck = new VersionCheck(parts.flavour);
  }

  /** The index of a universe's binaries for one architecture. */
  static of(universe: Universe, view: ArchView): ReverseIndex {
    return ReverseIndexBuilder.of(universe).build(view);
  }

  /** Binary `id`'s name. */
  name(id: number): string {
    return this.parts.names[id]!;
  }

  /** Binary `id`'s version text. */
  version(id: number): string {
    return this.parts.versions[id]!;
  }

  /** The slot a name is numbered with, or -1 if no binary of the architecture has, provides or asks for it. */
  slotOf(name: string): number {
    return this.parts.slots.get(name) ?? -1;
  }

  /** Binaries whose own name is `name`. */
  named(name: string): Int32Array {
    return members(this.parts.named, this.slotOf(name));
  }

  /** Binaries that provide `name` on this architecture. */
  providers(name: string): Int32Array {
    return members(this.parts.providing, this.slotOf(name));
  }

  /** The slots of the names binary `id` answers to: its own, then those it provides (each once). */
  namesOf(id: number): number[] {
    const names = [this.parts.ownSlots[id]!];
    for (const provide of this.parts.provides[id]!) {
      const slot = this.parts.slots.get(provide.name)!;
      if (!names.includes(slot)) names.push(slot);
    }
    return names;
  }

  /** The atoms of every binary's run dependencies (as they apply on this architecture) that ask for the name in `slot`, before version checks. */
  mentions(slot: number): MentionRange {
    const { start, binaries, atoms } = this.parts.mentions;
    if (slot < 0) return { binaries, atoms, from: 0, to: 0 };
    return { binaries, atoms, from: start[slot]!, to: start[slot + 1]! };
  }

  /** Whether binary `id` satisfies the atom, by its own name or a provide. */
  satisfies(id: number, atom: Dependency): boolean {
    const { names, versions, multiArch, provides } = this.parts;
    if (!qualifierAllows(multiArch[id], atom, this.view.arch)) return false;
    if (names[id] === atom.name && this.versionCheck.satisfies(versions[id]!, atom.constraint)) return true;
    for (const provide of provides[id]!) {
      if (provide.name === atom.name && this.versionCheck.provideSatisfies(provide.version, atom.constraint)) return true;
    }
    return false;
  }
}

function members(groups: SlotGroups, slot: number): Int32Array {
  return slot < 0 ? NO_IDS : groups.members.subarray(groups.start[slot]!, groups.start[slot + 1]!);
}
