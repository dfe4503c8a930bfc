/**
 * Dependency graphs kept from one plan to the next, as a long-running planner (the server) wants
 * them: each new iteration is planned over a new universe, which differs from the previous one in
 * the few recipes a push changed. Building an architecture's graph afresh costs resolving every
 * dependency of the universe; updating the kept one resolves only those the change can touch
 * (DependencyGraph.updated), and gives the same graph.
 */
import { archView } from '../recipe/arch-view.js';
import type { SourcePackage } from '../recipe/model.js';
import { DependencyGraph, eachNameAskedFor, namesOffered, type AlternativePolicy } from './dependency-graph.js';
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
  /**
   * The universe asked for last, by pkgbase, with its index of names asked for (name → the pkgbases
   * with a dependency on it): what tells which sources a change touches. The architectures of one
   * iteration share it; it is updated, not rebuilt, for the next universe.
   */
  private latest: Latest | null = null;

  /** The graph of `universe` on the architecture: the kept one if it is for this universe, else the kept one updated, else built. */
  graphFor(universe: Universe, arch: string, profiles: readonly string[] = [], alternatives: AlternativePolicy = 'first'): DependencyGraph {
    const key = graphKey(arch, profiles, alternatives);
    const kept = this.graphs.get(key);
    if (kept?.universe === universe) return kept.graph;
    const latest = this.latestFor(universe);
    let graph: DependencyGraph;
    if (!kept || kept.universe.flavour !== universe.flavour || kept.universe.binaries !== universe.binaries) {
      graph = DependencyGraph.of(universe, archView(arch, profiles), alternatives);
    } else {
      // Usually every architecture's graph is for the previous universe: the change is the same for all.
      const change = kept.universe === latest.previous?.universe ? latest.previous : null;
      const changed = change?.changed ?? changedBetween(kept.sources, latest.sources);
      if (changed.size === 0) graph = kept.graph;
      else {
        const touched = change ? (change.touched ??= touchedBy(changed, kept.sources, latest)) : touchedBy(changed, kept.sources, latest);
        graph = DependencyGraph.updated(kept.graph, universe, changed, touched);
      }
    }
    this.graphs.set(key, { universe, sources: latest.sources, graph });
    return graph;
  }

  /** planBuildSet over the kept graphs: what a long-running planner calls. */
  readonly plan = (universe: Universe, options: PlanOptions): BuildSetPlan =>
    planBuildSet(this.graphFor(universe, options.arch, options.profiles, options.alternatives), options);

  private latestFor(universe: Universe): Latest {
    if (this.latest?.universe === universe) return this.latest;
    const sources = bySourceName(universe);
    const previous = this.latest;
    const askers = previous?.askers ?? new Map<string, Set<string>>();
    const changed = previous ? changedBetween(previous.sources, sources) : new Set(sources.keys());
    for (const pkgbase of changed) {
      for (const source of previous?.sources.get(pkgbase) ?? []) {
        eachNameAskedFor(source, (name) => {
          const set = askers.get(name);
          if (set?.delete(pkgbase) && set.size === 0) askers.delete(name);
        });
      }
      for (const source of sources.get(pkgbase) ?? []) {
        eachNameAskedFor(source, (name) => {
          const set = askers.get(name);
          if (set) set.add(pkgbase);
          else askers.set(name, new Set([pkgbase]));
        });
      }
    }
    this.latest = { universe, sources, askers, previous: previous ? { universe: previous.universe, changed, touched: null } : null };
    if (previous) previous.previous = null;
    return this.latest;
  }
}

/** The universe asked for last, and how it differs from the one before. */
interface Latest {
  universe: Universe;
  sources: SourcesByName;
  /** name → the pkgbases with a dependency on it. */
  askers: Map<string, Set<string>>;
  /** The universe before, with the pkgbases changed since and (once an architecture needed them) those touched. */
  previous: { universe: Universe; changed: Set<string>; touched: Set<string> | null } | null;
}

function bySourceName(universe: Universe): SourcesByName {
  const sources: SourcesByName = new Map();
  for (const source of universe.sources) {
    const list = sources.get(source.pkgbase);
    if (list) list.push(source);
    else sources.set(source.pkgbase, [source]);
  }
  return sources;
}

/** The changed pkgbases and those whose recipes ask for a name a binary of a changed one answers to, before or after. */
function touchedBy(changed: ReadonlySet<string>, before: SourcesByName, after: { sources: SourcesByName; askers: ReadonlyMap<string, ReadonlySet<string>> }): Set<string> {
  const names = new Set<string>();
  for (const pkgbase of changed) {
    for (const sources of [before.get(pkgbase), after.sources.get(pkgbase)]) {
      for (const source of sources ?? []) for (const binary of source.binaries) namesOffered(binary, names);
    }
  }
  const touched = new Set(changed);
  for (const name of names) for (const pkgbase of after.askers.get(name) ?? []) touched.add(pkgbase);
  return touched;
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
