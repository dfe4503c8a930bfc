/**
 * The reverse dependency closure of binaries: every binary that needs one of them installed, directly
 * or through others. "Needs" is a Depends or Pre-Depends clause that one of them can satisfy, through
 * any alternative and through Provides, with versions checked: the set `dose-ceve -r` answers.
 */
import type { Dependency } from '../recipe/model.js';
import type { ReverseIndex } from './reverse-index.js';

/** A binary of the closure and the dependency that brought it in (absent for the starting binaries). */
export interface ClosureMember {
  name: string;
  version: string;
  /** The binary it depends on that is already in the closure, and the atom that asks for it. */
  via?: { name: string; atom: Dependency };
}

/** The closure, sorted by name then version. */
export interface ReverseClosure {
  members: ClosureMember[];
}

/** A name to start from that the index does not know. */
export class UnknownBinaryError extends Error {
  override name = 'UnknownBinaryError';
  constructor(readonly names: string[]) {
    super(`unknown binary package${names.length > 1 ? 's' : ''}: ${names.join(', ')}`);
  }
}

/**
 * The binaries that need any binary named in `names` (a name no binary has stands for the binaries
 * that provide it), the named binaries included. Throws UnknownBinaryError for names nothing answers to.
 */
export function reverseClosure(index: ReverseIndex, names: readonly string[]): ReverseClosure {
  const walk = new Walk(index.size);
  const unknown: string[] = [];
  for (const name of names) {
    const named = index.named(name);
    const seeds = named.length > 0 ? named : index.providers(name);
    if (seeds.length === 0) unknown.push(name);
    for (const id of seeds) walk.reach(id, -1, undefined);
  }
  if (unknown.length > 0) throw new UnknownBinaryError(unknown);
  walk.run(index);
  return { members: walk.members(index) };
}

/** A breadth-first walk from binaries to those that need them, and the way each was reached. */
class Walk {
  private readonly reached: Uint8Array;
  private readonly parent: Int32Array;
  private readonly parentAtom: (Dependency | undefined)[];
  private readonly queue: Int32Array;
  private tail = 0;

  constructor(size: number) {
    this.reached = new Uint8Array(size);
    this.parent = new Int32Array(size).fill(-1);
    this.parentAtom = new Array<Dependency | undefined>(size);
    this.queue = new Int32Array(size);
  }

  reach(id: number, from: number, atom: Dependency | undefined): void {
    if (this.reached[id]) return;
    this.reached[id] = 1;
    this.parent[id] = from;
    this.parentAtom[id] = atom;
    this.queue[this.tail++] = id;
  }

  /** Reaches every binary with a Pre-Depends or Depends atom that a reached binary satisfies. */
  run(index: ReverseIndex): void {
    const reached = this.reached;
    for (let head = 0; head < this.tail; head++) {
      const id = this.queue[head]!;
      for (const slot of index.namesOf(id)) {
        const { binaries, atoms, from, to } = index.mentions(slot);
        for (let i = from; i < to; i++) {
          const dependant = binaries[i]!;
          if (!reached[dependant] && index.satisfiesAs(id, slot, atoms[i]!)) this.reach(dependant, id, atoms[i]);
        }
      }
    }
  }

  /** The binaries reached, sorted as ids are (name, then version), with the dependency that brought each in. */
  members(index: ReverseIndex): ClosureMember[] {
    const ids = this.queue.subarray(0, this.tail).sort();
    const members: ClosureMember[] = [];
    for (const id of ids) {
      const from = this.parent[id]!;
      const member: ClosureMember = { name: index.name(id), version: index.version(id) };
      if (from >= 0) member.via = { name: index.name(from), atom: this.parentAtom[id]! };
      members.push(member);
    }
    return members;
  }
}
