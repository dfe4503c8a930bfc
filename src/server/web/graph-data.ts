/**
 * A build set's graph as the UI draws it: the latest iteration's builds of one architecture, laid out
 * once per iteration (its builds and edges never change) and kept; the states are read fresh each time.
 */
import { layeredLayout, type LayeredLayout } from '../../core/build-set/graph-view.js';
import { BUILD_STATES } from '../../core/build-state.js';
import type { BuildStore } from '../store/build-store.js';

export interface ArchGraph {
  iterationId: number;
  arch: string;
  builds: GraphPageBuild[];
  layout: LayeredLayout;
  /** Build id → index into builds and the layout's arrays. */
  index: Map<number, number>;
  /** Build id → the ids of the builds that need it. */
  dependants: ReadonlyMap<number, number[]>;
}

/** A build of the graph as the pages read it: its place in the graph and its state. */
export type GraphPageBuild = ReturnType<BuildStore['graphBuilds']>[number];

type Shape = Omit<GraphPageBuild, 'state' | 'reason'>;

/** How many laid-out graphs are kept. */
const KEPT = 8;

export class GraphCache {
  private readonly kept = new Map<string, { shape: Shape[]; layout: LayeredLayout; index: Map<number, number>; dependants: Map<number, number[]> }>();

  constructor(private readonly store: BuildStore) {}

  /** The graph of an iteration's builds for `arch`: the structure as kept, the states as stored now. */
  graph(iterationId: number, arch: string): ArchGraph {
    const states = this.store.archStates(iterationId, arch);
    const key = `${iterationId}/${arch}`;
    let kept = this.kept.get(key);
    if (!kept || kept.shape.length !== states.length) {
      const shape: Shape[] = this.store.graphBuilds(iterationId).filter((b) => b.arch === arch).map(({ state: _s, reason: _r, ...rest }) => rest);
      const dependants = new Map<number, number[]>();
      for (const b of shape) for (const d of b.depends_on) (dependants.get(d) ?? dependants.set(d, []).get(d)!).push(b.id);
      kept = { shape, layout: layeredLayout(shape), index: new Map(shape.map((b, i) => [b.id, i])), dependants };
      if (this.kept.size >= KEPT) this.kept.delete(this.kept.keys().next().value!);
      this.kept.set(key, kept);
    }
    const shape = kept.shape;
    const builds = states.map(([, state, reason], i) => ({ ...shape[i]!, state, reason }));
    return { iterationId, arch, builds, layout: kept.layout, index: kept.index, dependants: kept.dependants };
  }
}

/** The compact JSON the overview canvas draws from: parallel arrays, states as indexes into `states`. */
export function graphJson(graph: ArchGraph, namespace: string, iteration: number) {
  const stateIndex = new Map(BUILD_STATES.map((s, i) => [s, i]));
  return {
    namespace,
    iteration,
    arch: graph.arch,
    states: BUILD_STATES,
    ids: graph.layout.ids,
    names: graph.builds.map((b) => (b.pass > 1 ? `${b.pkgbase} (pass ${b.pass})` : b.pkgbase)),
    state: graph.builds.map((b) => stateIndex.get(b.state)!),
    wave: Array.from(graph.layout.wave),
    row: Array.from(graph.layout.row),
    waveSizes: graph.layout.waveSizes,
    edges: Array.from(graph.layout.edges),
    critical: graph.layout.critical,
  };
}
