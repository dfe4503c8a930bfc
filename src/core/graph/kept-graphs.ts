/**
 * Dependency graphs kept from one plan to the next, as a long-running planner (the server) wants
 * them: each new iteration is planned over a new universe, which differs from the previous one in
 * the few recipes a push changed. Building an architecture's graph afresh costs resolving every
 * dependency of the universe; updating the kept one resolves only those the change can touch
 * (DependencyGraph.updated), and gives the same graph.
 */
import { archView } from '../recipe/arch-view.js';
import type { SourcePackage } from '../recipe/model.js';
import { DependencyGraph, type AlternativePolicy } from './dependency-graph.js';
import { graphKey, planBuildSet, type BuildSetPlan, type PlanOptions } from './plan.js';
import type { Universe } from './universe.js';

/** A universe's source packages by pkgbase (a pkgbase may come more than once). */
type SourcesByName = Map<string, SourcePackage[]>;

/**
 * The latest dependency graph of each architecture (with its profiles and alternatives) that was
 * asked for. Source packages are compared by identity: a universe given later must hold the same
 * objects for the recipes that did not change (and, like every universe, is never modified).
 */
export class KeptGraphs {
  private readonly graphs = new Map<string, { universe: Universe; sources: SourcesByName; graph: DependencyGraph }>();
  /** The universe asked for last, by pkgbase: the architectures of one iteration share it. */
  private latest: { universe: Universe; sources: SourcesByName } | null = null;

  /** The graph of `universe` on the architecture: the kept one if it is for this universe, else the kept one updated, else built. */
  graphFor(universe: Universe, arch: string, profiles: readonly string[] = [], alternatives: AlternativePolicy = 'first'): DependencyGraph {
    const key = graphKey(arch, profiles, alternatives);
    const kept = this.graphs.get(key);
    if (kept?.universe === universe) return kept.graph;
    const sources = this.sourcesOf(universe);
    let graph: DependencyGraph;
    if (!kept || kept.universe.flavour !== universe.flavour || kept.universe.binaries !== universe.binaries) {
      graph = DependencyGraph.of(universe, archView(arch, profiles), alternatives);
    } else {
      const changed = changedBetween(kept.sources, sources);
      graph = changed.size === 0 ? kept.graph : DependencyGraph.updated(kept.graph, universe, changed);
    }
    this.graphs.set(key, { universe, sources, graph });
    return graph;
  }

  /** planBuildSet over the kept graphs: what a long-running planner calls. */
  readonly plan = (universe: Universe, options: PlanOptions): BuildSetPlan =>
    planBuildSet(this.graphFor(universe, options.arch, options.profiles, options.alternatives), options);

  private sourcesOf(universe: Universe): SourcesByName {
    if (this.latest?.universe !== universe) {
      const sources: SourcesByName = new Map();
      for (const source of universe.sources) {
        const list = sources.get(source.pkgbase);
        if (list) list.push(source);
        else sources.set(source.pkgbase, [source]);
      }
      this.latest = { universe, sources };
    }
    return this.latest.sources;
  }
}

/** pkgbases added, removed, or whose source packages are not the same objects. */
function changedBetween(before: SourcesByName, after: SourcesByName): Set<string> {
  const changed = new Set<string>();
  for (const [pkgbase, list] of after) {
    const old = before.get(pkgbase);
    if (!old || old.length !== list.length || list.some((source, i) => source !== old[i])) changed.add(pkgbase);
  }
  for (const pkgbase of before.keys()) if (!after.has(pkgbase)) changed.add(pkgbase);
  return changed;
}
