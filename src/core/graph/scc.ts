/** Strongly connected components: Tarjan's algorithm, iterative so that 34k-node archives cannot overflow the stack. */

/** A directed graph in compressed adjacency form: edges of node `n` are `start[n]` to `start[n + 1] - 1`, heading to `target[e]`. */
export interface AdjacencyGraph {
  start: Int32Array;
  target: Int32Array;
}

/** The components in reverse topological order (a component comes after every component it has an edge to). */
export interface Components {
  /** Component of each node; -1 for nodes outside the subgraph. */
  componentOf: Int32Array;
  /** Members of each component, ascending. */
  members: number[][];
}

/**
 * The strongly connected components of the subgraph induced by `nodes` (ascending ids; the search
 * starts from them in that order and follows edges in stored order, so the answer is deterministic).
 * Self-loops are ignored: the caller knows them from the edges.
 */
export function stronglyConnectedComponents(graph: AdjacencyGraph, nodes: Int32Array | readonly number[]): Components {
  const size = graph.start.length - 1;
  const inSubgraph = new Uint8Array(size);
  for (const node of nodes) inSubgraph[node] = 1;
  const order = new Int32Array(size).fill(-1);
  const low = new Int32Array(size);
  const onStack = new Uint8Array(size);
  const componentOf = new Int32Array(size).fill(-1);
  const members: number[][] = [];
  const stack: number[] = [];
  const pathNode: number[] = [];
  const pathEdge: number[] = [];
  let counter = 0;

  for (const root of nodes) {
    if (order[root] !== -1) continue;
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    pathNode.push(root);
    pathEdge.push(graph.start[root]!);
    while (pathNode.length > 0) {
      const top = pathNode.length - 1;
      const node = pathNode[top]!;
      const edge = pathEdge[top]!;
      if (edge < graph.start[node + 1]!) {
        pathEdge[top] = edge + 1;
        const next = graph.target[edge]!;
        if (next === node || !inSubgraph[next]) continue;
        if (order[next] === -1) {
          order[next] = low[next] = counter++;
          stack.push(next);
          onStack[next] = 1;
          pathNode.push(next);
          pathEdge.push(graph.start[next]!);
        } else if (onStack[next] && order[next]! < low[node]!) {
          low[node] = order[next]!;
        }
        continue;
      }
      pathNode.pop();
      pathEdge.pop();
      if (pathNode.length > 0) {
        const parent = pathNode[pathNode.length - 1]!;
        if (low[node]! < low[parent]!) low[parent] = low[node]!;
      }
      if (low[node] === order[node]) {
        const component: number[] = [];
        const id = members.length;
        let member: number;
        do {
          member = stack.pop()!;
          onStack[member] = 0;
          componentOf[member] = id;
          component.push(member);
        } while (member !== node);
        members.push(component.sort((a, b) => a - b));
      }
    }
  }
  return { componentOf, members };
}
