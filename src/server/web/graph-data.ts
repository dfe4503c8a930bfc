/**
 * A build set's graph as the UI draws it: the latest iteration's builds of one architecture, laid out
 * once per iteration (its builds and edges never change) and kept; the states are read fresh each time.
 */
import { layeredLayout, type LayeredLayout } from '../../core/build-set/graph-view.js';
import { BUILD_STATES } from '../../core/build-state.js';
import type { BuildStore, SchedulingBuild } from '../store/build-store.js';

export interface ArchGraph {
  iterationId: number;
  arch: string;
  builds: SchedulingBuild[];
  layout: LayeredLayout;
  /** Build id → index into builds and the layout's arrays. */
  index: Map<number, number>;
}

/** How many laid-out graphs are kept. */
const KEPT = 8;

export class GraphCache {
  private readonly layouts = new Map<string, { layout: LayeredLayout; ids: number[] }>();

  constructor(private readonly store: BuildStore) {}

  /** The graph of an iteration's builds for `arch`. */
  graph(iterationId: number, arch: string): ArchGraph {
    const builds = this.store.schedulingView(iterationId).filter((b) => b.arch === arch);
    const key = `${iterationId}/${arch}`;
    let kept = this.layouts.get(key);
    if (!kept || kept.ids.length !== builds.length) {
      kept = { layout: layeredLayout(builds), ids: builds.map((b) => b.id) };
      if (this.layouts.size >= KEPT) this.layouts.delete(this.layouts.keys().next().value!);
      this.layouts.set(key, kept);
    }
    return { iterationId, arch, builds, layout: kept.layout, index: new Map(builds.map((b, i) => [b.id, i])) };
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
