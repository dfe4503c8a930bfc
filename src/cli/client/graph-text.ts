/** A build set's graph (GET /namespaces/{name}/graph) as a text tree or as Graphviz DOT. */
import type { GraphOut } from './views.js';

type Node = GraphOut['nodes'][number];

function label(node: Node): string {
  return `${node.pkgbase}/${node.arch}${node.pass > 1 ? ` (pass ${node.pass})` : ''} ${node.state}`;
}

/**
 * Each build nothing else depends on, with what it needs below it, as `cargo tree` draws it:
 * a build already drawn in full is marked (*) the next time.
 */
export function graphTree(graph: GraphOut): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const needs = new Map<number, number[]>();
  const needed = new Set<number>();
  for (const edge of graph.edges) {
    needs.set(edge.from, [...(needs.get(edge.from) ?? []), edge.to]);
    needed.add(edge.to);
  }
  const order = (ids: number[]) => ids.filter((id) => byId.has(id)).sort((a, b) => label(byId.get(a)!).localeCompare(label(byId.get(b)!)));
  const lines: string[] = [];
  const drawn = new Set<number>();
  const draw = (id: number, prefix: string, branch: string, ancestors: Set<number>) => {
    const node = byId.get(id)!;
    const below = order(needs.get(id) ?? []);
    const repeat = drawn.has(id) && below.length > 0;
    lines.push(`${prefix}${branch}${label(node)}${repeat || ancestors.has(id) ? ' (*)' : ''}`);
    if (repeat || ancestors.has(id)) return;
    drawn.add(id);
    const childPrefix = prefix + (branch === '' ? '' : branch === '└── ' ? '    ' : '│   ');
    below.forEach((child, i) => draw(child, childPrefix, i === below.length - 1 ? '└── ' : '├── ', new Set([...ancestors, id])));
  };
  const roots = order(graph.nodes.map((n) => n.id).filter((id) => !needed.has(id)));
  for (const root of roots) draw(root, '', '', new Set());
  // Builds only reachable through a cycle have no root above them; they are drawn on their own.
  for (const node of order(graph.nodes.map((n) => n.id))) if (!drawn.has(node)) draw(node, '', '', new Set());
  return lines.join('\n');
}

const escape = (text: string) => text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** Graphviz DOT: a node per build (labelled pkgbase/arch and state), an edge from each build to what it needs. */
export function graphDot(name: string, graph: GraphOut): string {
  return [
    `digraph "${escape(name)}" {`,
    '  rankdir=LR;',
    ...graph.nodes.map((n) => `  ${n.id} [label="${escape(`${n.pkgbase}/${n.arch}${n.pass > 1 ? ` pass ${n.pass}` : ''}`)}\\n${escape(n.state)}"];`),
    ...graph.edges.map((e) => `  ${e.from} -> ${e.to};`),
    '}',
  ].join('\n');
}
