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
  const count = index.size;
  const reached = new Uint8Array(count);
  const parent = new Int32Array(count).fill(-1);
  const parentAtom: (Dependency | undefined)[] = new Array<Dependency | undefined>(count);
  const queue = new Int32Array(count);
  let tail = 0;
  const unknown: string[] = [];
  for (const name of names) {
    const named = index.named(name);
    const seeds = named.length > 0 ? named : index.providers(name);
    if (seeds.length === 0) unknown.push(name);
    for (const id of seeds) {
      if (!reached[id]) {
        reached[id] = 1;
        queue[tail++] = id;
      }
    }
  }
  if (unknown.length > 0) throw new UnknownBinaryError(unknown);

  for (let head = 0; head < tail; head++) {
    const id = queue[head]!;
    for (const slot of index.namesOf(id)) {
      const { binaries, atoms, from, to } = index.mentions(slot);
      for (let i = from; i < to; i++) {
        const dependant = binaries[i]!;
        if (reached[dependant] || !index.satisfiesAs(id, slot, atoms[i]!)) continue;
        reached[dependant] = 1;
        parent[dependant] = id;
        parentAtom[dependant] = atoms[i];
        queue[tail++] = dependant;
      }
    }
  }

  // Ids follow the index's order (name, then version), so sorting ids sorts the members.
  const ids = queue.subarray(0, tail).sort();
  const members: ClosureMember[] = [];
  for (const id of ids) {
    const from = parent[id]!;
    const member: ClosureMember = { name: index.name(id), version: index.version(id) };
    if (from >= 0) member.via = { name: index.name(from), atom: parentAtom[id]! };
    members.push(member);
  }
  return { members };
}
