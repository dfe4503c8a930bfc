/**
 * Breaking a cycle for a bootstrap: an order of a strongly connected component's members in which
 * as few needs as possible point forward (a package needing one built after it). Those needs are
 * the cycle's closing edges: a bootstrap satisfies them from binaries already published.
 * The order is Eades, Lin and Smyth's greedy heuristic for the minimum feedback arc set ("A fast and
 * effective heuristic for the feedback arc set problem", 1993): repeatedly place members that need
 * nothing left first, members nothing left needs last, and otherwise, first, the member with the
 * most dependants left over needs left. Linear time with bucket queues; no recursion.
 */
import type { AdjacencyGraph } from './scc.js';

/** A build order for the members and the edges (ids) that point forward in it, ascending. */
export interface CycleBreak {
  order: number[];
  closingEdges: number[];
}

/**
 * Orders `members` (a strongly connected component of `graph`, ascending ids; an edge p → q means p
 * needs q) so that few edges between members point from a member to one placed after it.
 * Self-loops are ignored. The same graph always gives the same answer.
 */
export function breakCycle(graph: AdjacencyGraph, members: readonly number[]): CycleBreak {
  const n = members.length;
  const local = new Map<number, number>();
  members.forEach((node, i) => local.set(node, i));
  // Local adjacency: needs (p → q) and dependants (q → p), both as compressed arrays.
  const needsCount = new Int32Array(n);
  const dependantsCount = new Int32Array(n);
  const internal: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = members[i]!;
    for (let e = graph.start[p]!; e < graph.start[p + 1]!; e++) {
      const j = local.get(graph.target[e]!);
      if (j === undefined || j === i) continue;
      internal.push(e, i, j);
      needsCount[i]!++;
      dependantsCount[j]!++;
    }
  }
  const needStart = prefixSums(needsCount);
  const dependantStart = prefixSums(dependantsCount);
  const needs = new Int32Array(needStart[n]!);
  const dependants = new Int32Array(dependantStart[n]!);
  {
    const needFill = needStart.slice(0, n);
    const dependantFill = dependantStart.slice(0, n);
    for (let k = 0; k < internal.length; k += 3) {
      const i = internal[k + 1]!;
      const j = internal[k + 2]!;
      needs[needFill[i]!++] = j;
      dependants[dependantFill[j]!++] = i;
    }
  }

  const needsLeft = needsCount.slice();
  const dependantsLeft = dependantsCount.slice();
  const placed = new Uint8Array(n);
  const front: number[] = [];
  const back: number[] = [];
  // Buckets by (dependants left - needs left), offset by n; stale entries are skipped when popped.
  const buckets: number[][] = Array.from({ length: 2 * n + 1 }, () => []);
  let top = 0;
  const file = (i: number): void => {
    const delta = dependantsLeft[i]! - needsLeft[i]! + n;
    buckets[delta]!.push(i);
    if (delta > top) top = delta;
  };
  const ready: number[] = [];
  const finished: number[] = [];
  for (let i = n - 1; i >= 0; i--) {
    if (needsLeft[i] === 0) ready.push(i);
    else if (dependantsLeft[i] === 0) finished.push(i);
    else file(i);
  }
  const place = (i: number): void => {
    placed[i] = 1;
    for (let k = needStart[i]!; k < needStart[i + 1]!; k++) {
      const j = needs[k]!;
      if (placed[j]) continue;
      dependantsLeft[j]!--;
      if (dependantsLeft[j] === 0) finished.push(j);
      else file(j);
    }
    for (let k = dependantStart[i]!; k < dependantStart[i + 1]!; k++) {
      const j = dependants[k]!;
      if (placed[j]) continue;
      needsLeft[j]!--;
      if (needsLeft[j] === 0) ready.push(j);
      else file(j);
    }
  };

  let left = n;
  while (left > 0) {
    if (ready.length > 0) {
      const i = ready.pop()!;
      if (placed[i]) continue;
      front.push(i);
      place(i);
      left--;
      continue;
    }
    if (finished.length > 0) {
      const i = finished.pop()!;
      if (placed[i]) continue;
      back.push(i);
      place(i);
      left--;
      continue;
    }
    let chosen = -1;
    while (chosen < 0) {
      const bucket = buckets[top]!;
      if (bucket.length === 0) {
        top--;
        continue;
      }
      const i = bucket.pop()!;
      if (!placed[i] && dependantsLeft[i]! - needsLeft[i]! + n === top) chosen = i;
    }
    front.push(chosen);
    place(chosen);
    left--;
  }

  const order = [...front, ...back.reverse()];
  const position = new Int32Array(n);
  order.forEach((i, at) => (position[i] = at));
  const closingEdges: number[] = [];
  for (let k = 0; k < internal.length; k += 3) {
    // Edge i → j: i needs j, so j must come first; placed after i, it closes the cycle.
    if (position[internal[k + 2]!]! > position[internal[k + 1]!]!) closingEdges.push(internal[k]!);
  }
  return { order: order.map((i) => members[i]!), closingEdges: closingEdges.sort((a, b) => a - b) };
}

function prefixSums(counts: Int32Array): Int32Array {
  const start = new Int32Array(counts.length + 1);
  for (let i = 0; i < counts.length; i++) start[i + 1] = start[i]! + counts[i]!;
  return start;
}
