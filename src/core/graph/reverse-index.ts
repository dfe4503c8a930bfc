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
import { IntList } from './int-list.js';
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

const RECENT_ATOMS = 1 << 14;

/** Collects binaries for a ReverseIndex, in any order; `build` picks those of one architecture. */
export class ReverseIndexBuilder {
  /** Names numbered (slots): the binaries' own, those they provide, those they ask for. */
  private readonly slots = new Map<string, number>();
  /**
   * The slots of atoms met lately, by a hash of a few of their characters, checked by identity: a
   * table small enough for the processor's cache. Parsers share equal atoms between binaries, and
   * most atoms of an archive are one of a few thousand, so most are found here without a lookup by name.
   */
  private readonly recentAtoms = new Array<Dependency | undefined>(RECENT_ATOMS).fill(undefined);
  private readonly recentSlots = new Int32Array(RECENT_ATOMS);
  private readonly names: string[] = [];
  private readonly versions: string[] = [];
  private readonly sources: string[] = [];
  private readonly ownSlots = new IntList();
  private readonly architectureLists: (readonly string[])[] = [];
  private readonly multiArch: (string | undefined)[] = [];
  private readonly provides: (readonly Provide[])[] = [];
  /** The slots of every binary's provides, in order; binary k's are from provideStart[k] to provideStart[k + 1]. */
  private readonly provideStart = new IntList();
  private readonly provideSlots = new IntList();
  /** Every atom of every binary and its slot, Pre-Depends first; binary k's are from atomStart[k] to atomStart[k + 1]. */
  private readonly atomStart = new IntList();
  private readonly atoms: Dependency[] = [];
  private readonly atomSlots = new IntList();

  constructor(readonly flavour: Flavour) {
    this.provideStart.push(0);
    this.atomStart.push(0);
  }

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
    for (const clause of relations.preDepends) for (const atom of clause) this.atoms.push(atom);
    for (const clause of relations.depends) for (const atom of clause) this.atoms.push(atom);
    this.atomStart.push(this.atoms.length);
  }

  /**
   * Numbers the names of the binaries added since the last call: the part of `build` that does not
   * depend on the architecture, which `build` finishes. A reader whose input comes slower than it
   * parses may call it while it waits. (Not as each binary is added: between stanzas being parsed,
   * every lookup in the table of all names waits on memory that the parsing pushed out of the
   * processor's cache, and numbering costs several times what it costs in one pass.)
   */
  numberNames(): void {
    for (let k = this.ownSlots.length; k < this.names.length; k++) {
      this.ownSlots.push(this.slot(this.names[k]!));
      for (const provide of this.provides[k]!) this.provideSlots.push(this.slot(provide.name));
      this.provideStart.push(this.provideSlots.length);
    }
    for (let a = this.atomSlots.length; a < this.atoms.length; a++) {
      const atom = this.atoms[a]!;
      const slot = this.atomSlot(atom);
      // An atom restricted to some architectures or build profiles is kept as -1 - slot: only those
      // are looked at again when the architecture is known.
      this.atomSlots.push(atom.arches || atom.profiles ? -1 - slot : slot);
    }
  }

  /** The Architecture list of each binary added, for choosing a default architecture. */
  architectures(): readonly (readonly string[])[] {
    return this.architectureLists;
  }

  /**
   * The index of the binaries built for the view's architecture. Each step is a method of its own:
   * run once, a long function is compiled while its later loops have not run yet, and is thrown
   * away (deoptimised) as each of them starts.
   */
  build(view: ArchView): ReverseIndex {
    this.numberNames();
    const order = this.order(view.arch);
    const slotCount = this.slots.size;
    const ownSlots = Int32Array.from(order, (k) => this.ownSlots.at(k));
    const provides = this.layOutProvides(order, view.arch);
    return new ReverseIndex({
      flavour: this.flavour,
      view,
      size: order.length,
      names: order.map((k) => this.names[k]!),
      versions: order.map((k) => this.versions[k]!),
      multiArch: order.map((k) => this.multiArch[k]),
      slots: this.slots,
      ownSlots,
      named: groupBySlot(ownSlots, slotCount),
      provides,
      providing: this.providing(provides, slotCount),
      mentions: this.layOutMentions(order, view, slotCount),
    });
  }

  /** The binaries built for `arch`, in id order (name, version, source). */
  private order(arch: string): number[] {
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
    return sortBinaries(kept, this.names, this.versions, this.sources);
  }

  /** Each binary's provides that apply on `arch`: their slots and versions. */
  private layOutProvides(order: readonly number[], arch: string): ProvideLayout {
    const start = new Int32Array(order.length + 1);
    const slots = new IntList();
    const versions: (string | undefined)[] = [];
    for (let id = 0; id < order.length; id++) {
      const k = order[id]!;
      const list = this.provides[k]!;
      for (let i = 0; i < list.length; i++) {
        const provide = list[i]!;
        if (provide.arches && !restrictionApplies(provide.arches, arch)) continue;
        slots.push(this.provideSlots.at(this.provideStart.at(k) + i));
        versions.push(provide.version);
      }
      start[id + 1] = slots.length;
    }
    return { start, slots: slots.values(), versions };
  }

  /** Who provides each name. */
  private providing(provides: ProvideLayout, slotCount: number): SlotGroups {
    const providerIds = new Int32Array(provides.slots.length);
    for (let id = 0; id + 1 < provides.start.length; id++) providerIds.fill(id, provides.start[id]!, provides.start[id + 1]!);
    const groups = groupBySlot(provides.slots, slotCount);
    for (let i = 0; i < groups.members.length; i++) groups.members[i] = providerIds[groups.members[i]!]!;
    return groups;
  }

  /** The atoms that apply on the view's architecture, by slot, in id order and each binary's own order. */
  private layOutMentions(order: readonly number[], view: ArchView, slotCount: number): MentionLayout {
    const atoms = this.atoms;
    const atomStart = this.atomStart.values();
    const atomSlots = this.atomSlots.values();
    // The slot an atom asks for, or -1 if it does not apply on the architecture.
    const slotOf = (a: number): number => {
      const slot = atomSlots[a]!;
      if (slot >= 0) return slot;
      return dependencyApplies(atoms[a]!, view) ? -1 - slot : -1;
    };
    const start = new Int32Array(slotCount + 1);
    for (const k of order) {
      for (let a = atomStart[k]!; a < atomStart[k + 1]!; a++) start[slotOf(a) + 1]!++;
    }
    // Atoms that do not apply were counted at start[0]: slot -1. They take no place.
    start[0] = 0;
    for (let slot = 0; slot < slotCount; slot++) start[slot + 1]! += start[slot]!;
    const fill = start.slice(0, slotCount);
    const binaries = new Int32Array(start[slotCount]!);
    const mentioned = new Array<Dependency>(binaries.length);
    for (let id = 0; id < order.length; id++) {
      const k = order[id]!;
      for (let a = atomStart[k]!; a < atomStart[k + 1]!; a++) {
        const slot = slotOf(a);
        if (slot < 0) continue;
        const at = fill[slot]!++;
        binaries[at] = id;
        mentioned[at] = atoms[a]!;
      }
    }
    return { start, binaries, atoms: mentioned };
  }

  private atomSlot(atom: Dependency): number {
    const name = atom.name;
    const last = name.length - 1;
    let hash = Math.imul(last ^ (name.charCodeAt(0) << 8) ^ (name.charCodeAt(last) << 16) ^ (name.charCodeAt(last >> 1) << 24), 0x9e3779b1);
    const version = atom.constraint?.version;
    if (version !== undefined) hash ^= Math.imul(version.length ^ (version.charCodeAt(version.length - 1) << 8), 0x85ebca6b);
    const at = (hash ^ (hash >>> 15)) & (RECENT_ATOMS - 1);
    if (this.recentAtoms[at] === atom) return this.recentSlots[at]!;
    const slot = this.slot(name);
    this.recentAtoms[at] = atom;
    this.recentSlots[at] = slot;
    return slot;
  }

  private slot(name: string): number {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(name, slot);
    }
    return slot;
  }
}

/** Members grouped by slot: those of slot s are `members[start[s]]` to `members[start[s + 1] - 1]`. */
interface SlotGroups {
  start: Int32Array;
  members: Int32Array;
}

/** Each binary's provides: binary id's are `slots[i]` with `versions[i]`, for i from `start[id]` to `start[id + 1] - 1`. */
interface ProvideLayout {
  start: Int32Array;
  slots: Int32Array;
  versions: (string | undefined)[];
}

/** The atoms asking for each name: those of slot s are `atoms[i]` of binary `binaries[i]`, for i from `start[s]` to `start[s + 1] - 1`. */
interface MentionLayout {
  start: Int32Array;
  binaries: Int32Array;
  atoms: Dependency[];
}

/** Positions 0..n-1 grouped by their slot (a counting sort), keeping their order within a slot. */
function groupBySlot(slotOf: Int32Array, slotCount: number): SlotGroups {
  const count = slotOf.length;
  const start = new Int32Array(slotCount + 1);
  for (let i = 0; i < count; i++) start[slotOf[i]! + 1]!++;
  for (let slot = 0; slot < slotCount; slot++) start[slot + 1]! += start[slot]!;
  const fill = start.slice(0, slotCount);
  const members = new Int32Array(count);
  for (let i = 0; i < count; i++) members[fill[slotOf[i]!]!++] = i;
  return { start, members };
}

/** What ReverseIndexBuilder.build lays out. */
interface ReverseIndexParts {
  flavour: Flavour;
  view: ArchView;
  size: number;
  names: string[];
  versions: string[];
  multiArch: (string | undefined)[];
  slots: ReadonlyMap<string, number>;
  ownSlots: Int32Array;
  named: SlotGroups;
  /** Each binary's provides on the architecture. */
  provides: ProvideLayout;
  providing: SlotGroups;
  mentions: MentionLayout;
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

  /** The slot a name is numbered with, or -1 if no binary added (of any architecture) has, provides or asks for it. */
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
    const { ownSlots, provides } = this.parts;
    const names = [ownSlots[id]!];
    for (let i = provides.start[id]!; i < provides.start[id + 1]!; i++) {
      const slot = provides.slots[i]!;
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
    return this.satisfiesAs(id, this.slotOf(atom.name), atom);
  }

  /**
   * Whether binary `id` satisfies an atom asking for the name in `slot` (the atom's own name): by
   * that name being its own or one it provides. Slots compare where names would be compared as text.
   */
  satisfiesAs(id: number, slot: number, atom: Dependency): boolean {
    const { ownSlots, versions, multiArch, provides } = this.parts;
    if (atom.archQualifier !== undefined && !qualifierAllows(multiArch[id], atom, this.view.arch)) return false;
    const constraint = atom.constraint;
    if (slot === ownSlots[id] && (constraint === undefined || this.versionCheck.satisfies(versions[id]!, constraint))) return true;
    for (let i = provides.start[id]!; i < provides.start[id + 1]!; i++) {
      if (provides.slots[i] === slot && this.versionCheck.provideSatisfies(provides.versions[i], constraint)) return true;
    }
    return false;
  }
}

function members(groups: SlotGroups, slot: number): Int32Array {
  return slot < 0 ? NO_IDS : groups.members.subarray(groups.start[slot]!, groups.start[slot + 1]!);
}
