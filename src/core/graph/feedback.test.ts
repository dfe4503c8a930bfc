import { describe, expect, it } from 'vitest';
import { breakCycle } from './feedback.js';
import { stronglyConnectedComponents, type AdjacencyGraph } from './scc.js';

/** A graph from adjacency lists (node i needs each of lists[i]). */
function graphOf(lists: number[][]): AdjacencyGraph {
  const start = new Int32Array(lists.length + 1);
  lists.forEach((list, i) => (start[i + 1] = start[i]! + list.length));
  return { start, target: Int32Array.from(lists.flat()) };
}

/** Edges (as [from, to]) between members that point forward in the order: the ones a build in that order cannot respect. */
function forwardEdges(graph: AdjacencyGraph, order: number[]): number[][] {
  const position = new Map(order.map((node, i) => [node, i]));
  const found: number[][] = [];
  order.forEach((p) => {
    for (let e = graph.start[p]!; e < graph.start[p + 1]!; e++) {
      const q = graph.target[e]!;
      if (q !== p && position.has(q) && position.get(q)! > position.get(p)!) found.push([p, q]);
    }
  });
  return found;
}

describe('breakCycle', () => {
  it('closes a ring with chords by its one backward edge', () => {
    // i needs i-1 and i-2; node 0 needs the last one: one edge closes every cycle.
    const size = 200;
    const lists = Array.from({ length: size }, (_, i) => (i === 0 ? [size - 1] : i === 1 ? [0] : [i - 1, i - 2]));
    const graph = graphOf(lists);
    const members = Array.from({ length: size }, (_, i) => i);
    expect(stronglyConnectedComponents(graph, members).members).toHaveLength(1);
    const broken = breakCycle(graph, members);
    expect([...broken.order].sort((a, b) => a - b)).toEqual(members);
    expect(broken.closingEdges).toHaveLength(1);
    expect(broken.closingEdges.map((e) => [0, graph.target[e]])).toEqual([[0, size - 1]]);
    expect(forwardEdges(graph, broken.order)).toEqual([[0, size - 1]]);
  });

  it('returns as closing edges exactly the edges its order cannot respect', () => {
    // Two cycles sharing node 2, plus a self-loop (ignored) and an edge leaving the component.
    const lists = [[1], [2], [0, 3, 5], [4], [2, 4], []];
    const graph = graphOf(lists);
    const members = [0, 1, 2, 3, 4];
    const broken = breakCycle(graph, members);
    const closing = broken.closingEdges.map((e) => {
      let from = 0;
      while (graph.start[from + 1]! <= e) from++;
      return [from, graph.target[e]!];
    });
    expect(closing).toEqual(forwardEdges(graph, broken.order).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
    expect(closing).toHaveLength(2);
    expect(breakCycle(graph, members)).toEqual(broken);
  });
});
