/**
 * Planning a build set: which source packages to (re)build, in which order, and why.
 *
 * **Reach.** On the plan's architecture, source P *needs* source Q when one of P's dependencies
 * that take part in building it (see dependency-graph.ts: build dependencies, check dependencies,
 * and the run dependencies of P's binaries) is satisfied by a binary of Q, by name or Provides,
 * versions checked; of a clause's alternatives, the first one something satisfies counts (what
 * sbuild and apt install), or every one with `alternatives: 'all'`. P *reaches* the set when a chain of needs leads from P to an
 * origin. The build set is the origins plus every source that reaches them. Because a build
 * environment installs the build dependencies together with their run dependencies, and a run
 * dependency of a binary is a need of its source, a package whose build environment contains a
 * rebuilt binary anywhere in its install closure is reached, through the sources of the binaries
 * in between (which are in the set themselves).
 *
 * **Order.** Edges P → Q inside the set mean Q is built before P. Strongly connected components are
 * cycles: each is reported (members, and the closing edges that a bootstrap has to break, i.e.
 * satisfy from the binaries already published; feedback.ts keeps them few) and scheduled as one
 * unit: its members share a wave and build in `buildOrder`, which every other edge respects. Wave 0
 * holds what needs nothing in the set; a unit's wave is one more than the highest wave it needs.
 * The critical path is the longest chain of units, its length the number of waves.
 */
import { archView } from '../recipe/arch-view.js';
import { DependencyGraph, NEED_KINDS, type AlternativePolicy, type NeedKind } from './dependency-graph.js';
import { compareText } from './order.js';
import { pushTo } from './multimap.js';
import { breakCycle } from './feedback.js';
import { stronglyConnectedComponents } from './scc.js';
import type { Universe } from './universe.js';

/** One edge "from needs a binary of to", with the dependency that makes it. */
export interface PlanEdge {
  from: string;
  to: string;
  kind: NeedKind;
  /** The binary of `to` that satisfies the dependency. */
  binary: string;
  /** The dependency clause as written (alternatives joined by ` | `). */
  clause: string;
  /** For `run` edges: the binary of `from` whose dependency it is. */
  via?: string;
}

export interface PlannedPackage {
  pkgbase: string;
  version: string;
  wave: number;
  /** Index into `cycles` when the package is part of one. */
  cycle: number | null;
  /** pkgbases in the set it needs (built before it, except for the closing edges of its cycle). */
  needs: string[];
  /**
   * The first step of one shortest chain of needs from this package to an origin (null for an
   * origin); the next step is the `because` of the package it needs. `whyChain` follows it.
   */
  because: PlanEdge | null;
}

export interface PlanCycle {
  members: string[];
  /** The order to build the members in once the closing edges are left to already published binaries. */
  buildOrder: string[];
  closingEdges: PlanEdge[];
}

/** A dependency of a package in the set that no binary satisfies on the architecture. */
export interface UnresolvedDependency {
  pkgbase: string;
  kind: NeedKind;
  clause: string;
  /** For `run`: the binary whose dependency it is. */
  binary?: string;
}

export interface BuildSetPlan {
  flavour: string;
  arch: string;
  profiles: string[];
  alternatives: AlternativePolicy;
  origins: string[];
  /** Sorted by wave, then pkgbase. */
  packages: PlannedPackage[];
  /** pkgbases per wave, each wave sorted. */
  waves: string[][];
  cycles: PlanCycle[];
  /** One longest chain of units, first built first; a cycle stands for itself by its first member. */
  criticalPath: string[];
  /** Edges between packages of the set (self-needs included). */
  edgeCount: number;
  unresolved: UnresolvedDependency[];
}

export interface PlanOptions {
  arch: string;
  /** Build profiles active (none by default). */
  profiles?: readonly string[];
  /** pkgbases the set starts from. */
  origins: readonly string[];
  /** Which alternatives of a dependency count (default: the first one something satisfies). */
  alternatives?: AlternativePolicy;
}

/** Origins the planner cannot use: not in the universe, or not built on the architecture. */
export class UnknownSourceError extends Error {
  override name = 'UnknownSourceError';
  constructor(
    readonly unknown: string[],
    readonly notBuilt: string[],
    readonly arch: string,
  ) {
    const parts: string[] = [];
    if (unknown.length > 0) parts.push(`unknown source package${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
    if (notBuilt.length > 0) parts.push(`not built on ${arch}: ${notBuilt.join(', ')}`);
    super(parts.join('; '));
  }
}

/** A prebuilt graph given to planBuildSet with options it was not built for (another architecture, profiles or alternatives). */
export class GraphMismatchError extends Error {
  override name = 'GraphMismatchError';
}

const graphs = new WeakMap<Universe, Map<string, DependencyGraph>>();

/**
 * The dependency graph of a universe for an architecture and profiles, built once and remembered
 * for as long as the universe is alive: every later plan is graph traversal only. A universe is
 * taken as immutable: after a change to its packages, plan with a new Universe object.
 */
export function dependencyGraphFor(universe: Universe, arch: string, profiles: readonly string[] = [], alternatives: AlternativePolicy = 'first'): DependencyGraph {
  let perView = graphs.get(universe);
  if (!perView) {
    perView = new Map();
    graphs.set(universe, perView);
  }
  const key = graphKey(arch, profiles, alternatives);
  let graph = perView.get(key);
  if (!graph) {
    graph = DependencyGraph.of(universe, archView(arch, profiles), alternatives);
    perView.set(key, graph);
  }
  return graph;
}

/** What tells dependency graphs of one universe apart: the architecture, the build profiles (in any order) and the alternatives counted. */
export function graphKey(arch: string, profiles: readonly string[], alternatives: AlternativePolicy): string {
  return [alternatives, arch, ...[...profiles].sort(compareText)].join('\u0000');
}

/** Plans the build set of `origins` on an architecture. Throws UnknownSourceError for origins it cannot plan. */
export function planBuildSet(input: Universe | DependencyGraph, options: PlanOptions): BuildSetPlan {
  const graph = input instanceof DependencyGraph ? input : dependencyGraphFor(input, options.arch, options.profiles, options.alternatives);
  if (graph.index.view.arch !== options.arch) throw new GraphMismatchError(`the graph is for ${graph.index.view.arch}, not ${options.arch}`);
  if (options.alternatives && graph.alternatives !== options.alternatives) throw new GraphMismatchError(`the graph counts ${graph.alternatives} alternatives, not ${options.alternatives}`);
  if (options.profiles && [...options.profiles].sort(compareText).join(' ') !== [...graph.index.view.profiles].sort(compareText).join(' ')) {
    throw new GraphMismatchError(`the graph is for profiles [${[...graph.index.view.profiles].join(' ')}], not [${options.profiles.join(' ')}]`);
  }
  const origins = resolveOrigins(graph, options.origins);

  const n = graph.sources.length;
  const inSet = new Uint8Array(n);
  const parentEdge = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let tail = 0;
  for (const origin of origins) {
    if (!inSet[origin]) {
      inSet[origin] = 1;
      queue[tail++] = origin;
    }
  }
  const reverse = graph.reverseEdges();
  const edgeFrom = graph.sourceOfEdge();
  for (let head = 0; head < tail; head++) {
    const q = queue[head]!;
    for (let i = reverse.start[q]!; i < reverse.start[q + 1]!; i++) {
      const edge = reverse.edges[i]!;
      const p = edgeFrom[edge]!;
      if (inSet[p]) continue;
      inSet[p] = 1;
      parentEdge[p] = edge;
      queue[tail++] = p;
    }
  }
  // Ids follow pkgbase order, so everything sorted by id below is sorted by name.
  const members = queue.slice(0, tail).sort();

  const { componentOf, members: components } = stronglyConnectedComponents(
    { start: graph.edgeStart, target: graph.edgeTarget },
    members,
  );
  // Components come in reverse topological order: every component a unit needs has its wave already.
  const componentWave = new Int32Array(components.length);
  const componentNextEdge = new Int32Array(components.length).fill(-1);
  components.forEach((component, c) => {
    let wave = 0;
    for (const p of component) {
      for (let e = graph.edgeStart[p]!; e < graph.edgeStart[p + 1]!; e++) {
        const d = componentOf[graph.edgeTarget[e]!]!;
        if (d < 0 || d === c) continue;
        if (componentWave[d]! + 1 > wave) {
          wave = componentWave[d]! + 1;
          componentNextEdge[c] = e;
        }
      }
    }
    componentWave[c] = wave;
  });

  const edge = (e: number): PlanEdge => describeEdge(graph, e);
  const pkgbases = graph.pkgbases;
  const name = (p: number): string => pkgbases[p]!;
  const selfNeedsByComponent = new Map<number, number[]>();
  for (const [p, e] of graph.selfNeeds) if (inSet[p]) pushTo(selfNeedsByComponent, componentOf[p]!, e);

  const cyclic: number[] = [];
  components.forEach((component, c) => {
    if (component.length > 1 || selfNeedsByComponent.has(c)) cyclic.push(c);
  });
  cyclic.sort((a, b) => components[a]![0]! - components[b]![0]!);
  const cycleOf = new Map<number, number>(cyclic.map((c, i) => [c, i]));
  const adjacency = { start: graph.edgeStart, target: graph.edgeTarget };
  const cycles: PlanCycle[] = cyclic.map((c) => {
    const component = components[c]!;
    const broken = component.length > 1 ? breakCycle(adjacency, component) : { order: component, closingEdges: [] };
    const closing = [...broken.closingEdges, ...(selfNeedsByComponent.get(c) ?? [])].sort((a, b) => a - b);
    return { members: component.map(name), buildOrder: broken.order.map(name), closingEdges: closing.map(edge) };
  });

  const waveCount = components.length > 0 ? componentWave.reduce((a, b) => Math.max(a, b), 0) + 1 : 0;
  const waves: string[][] = Array.from({ length: waveCount }, () => []);
  const packages: PlannedPackage[] = [];
  let edgeCount = 0;
  for (const p of members) {
    const c = componentOf[p]!;
    const wave = componentWave[c]!;
    waves[wave]!.push(pkgbases[p]!);
    const needs: string[] = [];
    for (let e = graph.edgeStart[p]!; e < graph.edgeStart[p + 1]!; e++) {
      const q = graph.edgeTarget[e]!;
      if (!inSet[q]) continue;
      edgeCount++;
      if (q !== p) needs.push(pkgbases[q]!);
    }
    const because = parentEdge[p]! >= 0 ? edge(parentEdge[p]!) : null;
    packages.push({ pkgbase: pkgbases[p]!, version: graph.sources[p]!.version.text, wave, cycle: cycleOf.get(c) ?? null, needs, because });
  }
  // A stable sort: within a wave the packages stay in pkgbase order.
  packages.sort((a, b) => a.wave - b.wave);

  // The longest chain, top unit first: each step is the edge that gave a unit its wave.
  const criticalPath: string[] = [];
  if (components.length > 0) {
    let c = componentWave.indexOf(waveCount - 1);
    const top = componentNextEdge[c]!;
    criticalPath.push(top >= 0 ? name(edgeFrom[top]!) : name(components[c]![0]!));
    for (let e = top; e >= 0; e = componentNextEdge[c]!) {
      criticalPath.push(name(graph.edgeTarget[e]!));
      c = componentOf[graph.edgeTarget[e]!]!;
    }
    criticalPath.reverse();
  }

  const unresolved: UnresolvedDependency[] = [];
  for (const p of members) {
    for (const problem of graph.unresolved.get(p) ?? []) {
      const entry: UnresolvedDependency = { pkgbase: name(p), kind: problem.kind, clause: graph.clauseText(problem.clause) };
      if (problem.binary !== undefined) entry.binary = problem.binary;
      unresolved.push(entry);
    }
  }

  return {
    flavour: graph.index.flavour,
    arch: graph.index.view.arch,
    profiles: [...graph.index.view.profiles].sort(compareText),
    alternatives: graph.alternatives,
    origins: [...new Set(origins)].map(name),
    packages,
    waves,
    cycles,
    criticalPath,
    edgeCount,
    unresolved,
  };
}

/** Why a package is in the set: the chain of needs from it to an origin (empty for an origin). */
export function whyChain(plan: BuildSetPlan, pkgbase: string): PlanEdge[] {
  const byName = new Map(plan.packages.map((p) => [p.pkgbase, p]));
  const chain: PlanEdge[] = [];
  for (let step = byName.get(pkgbase)?.because; step; step = byName.get(step.to)?.because) {
    chain.push(step);
    if (chain.length > plan.packages.length) throw new Error(`the why-chain of ${pkgbase} loops`);
  }
  return chain;
}

function resolveOrigins(graph: DependencyGraph, names: readonly string[]): number[] {
  const ids: number[] = [];
  const unknown: string[] = [];
  const notBuilt: string[] = [];
  for (const name of names) {
    const id = graph.sourceIds.get(name);
    if (id !== undefined) ids.push(id);
    else if (graph.notBuilt.has(name)) notBuilt.push(name);
    else unknown.push(name);
  }
  if (unknown.length > 0 || notBuilt.length > 0) throw new UnknownSourceError(unknown, notBuilt, graph.index.view.arch);
  return ids.sort((a, b) => a - b);
}

function describeEdge(graph: DependencyGraph, e: number): PlanEdge {
  const described: PlanEdge = {
    from: graph.pkgbases[graph.edgeSource(e)]!,
    to: graph.pkgbases[graph.edgeTarget[e]!]!,
    kind: NEED_KINDS[graph.edgeKind[e]!]!,
    binary: graph.index.entries[graph.edgeBinary[e]!]!.name,
    clause: graph.clauseText(graph.edgeClause[e]!),
  };
  const via = graph.edgeVia[e]!;
  if (via >= 0) described.via = graph.index.entries[via]!.name;
  return described;
}

