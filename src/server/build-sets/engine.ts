/**
 * The one orchestrator of build sets, for the server and for `quarters build` alike: plan an
 * iteration (carry-over, cut cycle edges, cancel what it supersedes), settle it (propagate states,
 * dispatch what is ready), apply what happened to a build, store a build's packages. Only the
 * dispatcher differs: GitLab pipelines, or local containers.
 */
import { labelOf, propagate, propagateFrom, selectForDispatch, transition, IN_FLIGHT, type BuildEvent, type BuildState, type StateChange } from '../../core/build-state.js';
import { buildProducts } from '../../core/build-set/build-products.js';
import { iterationBuilds, type CycleRebuild, type PlanLike, type PlannedRecipe } from '../../core/build-set/iteration.js';
import { BuildSetError } from '../../core/build-set/origin.js';
import type { Flavour, SourcePackage } from '../../core/recipe/model.js';
import type { Logger } from '../../common/log.js';
import type { BuildRow, BuildStore, IterationRow, NamespaceRow, PlannedBuild, SchedulingBuild } from '../store/build-store.js';
import { KeyedLock } from '../keyed-lock.js';
import type { Repositories } from '../artifacts/repository.js';

/** The planner: in production the graph engine's `planBuildSet` over dependency graphs kept across iterations (`KeptGraphs.plan`). */
export type Planner = (universe: { flavour: Flavour; sources: readonly SourcePackage[] }, options: { arch: string; origins: readonly string[]; profiles?: readonly string[] }) => PlanLike;

/** A recipe the engine can plan: where it is, and what it says. */
export interface PlanningRecipe extends Omit<PlannedRecipe, 'version'> {
  recipe: SourcePackage;
}

/** Where a dispatched build is: its build set and iteration number. */
export interface DispatchContext {
  namespace: NamespaceRow;
  iteration: number;
}

/** Starts builds' work and stops it; what happens to the work later comes back through `BuildSetEngine.apply`. */
export interface Dispatcher {
  /** Whether a build in flight when a newer iteration is planned goes on (and may be carried over). */
  readonly carriesInFlight: boolean;
  /** Starts the work of a dispatched build; an event returned applies at once (the work started, or was refused). */
  dispatch(build: BuildRow, context: DispatchContext): Promise<BuildEvent | void>;
  /** Stops the work of a build no longer wanted (superseded or cancelled); its cancellation was recorded first. */
  cancel(build: BuildRow): Promise<void>;
}

export interface EngineSettings {
  flavour: Flavour;
  architectures: readonly string[];
  /** Builds of one build set in flight at once. */
  maxInFlight: number;
  cycleRebuild: CycleRebuild;
  /** Build profiles active in every plan (Debian's `[build] deb_build_profiles`); none when absent. */
  profiles?: readonly string[];
}

/** A package file of a build, already in the pool. */
export interface StoredFile {
  poolPath: string;
  filename: string;
  sha256: string;
  size: number;
  /** The CI job that made it (0 for local builds). */
  jobId: number;
  /** A pacman package's archive listing, when the upload took it (the index reads the file for it otherwise). */
  listing?: readonly string[] | null;
}

const BUILT_ONLY: ReadonlySet<BuildState> = new Set(['built']);
const BUILT_OR_IN_FLIGHT: ReadonlySet<BuildState> = new Set(['built', ...IN_FLIGHT]);

export class BuildSetEngine {
  private readonly lock = new KeyedLock();
  /** Told of every state change propagation makes (e.g. to report dependants skipped). */
  onPropagated: (changes: StateChange[], builds: readonly SchedulingBuild[]) => void = () => {};
  /** Told after a build set was settled (its builds may have moved), e.g. to report its progress in GitLab. Must return at once and not throw. */
  onSettled: (namespaceId: number) => void = () => {};

  constructor(
    readonly store: BuildStore,
    readonly repositories: Repositories,
    private readonly planner: Planner,
    readonly settings: EngineSettings,
    private readonly dispatcher: Dispatcher,
    private readonly log: Logger,
  ) {}

  /** Runs `work` holding the build set's lock: work on one build set is serialised. */
  locked<T>(namespaceId: number, work: () => Promise<T>): Promise<T> {
    return this.lock.run(`ns:${namespaceId}`, work);
  }

  /**
   * Plans a new iteration from `recipes` (every package the planner may pull in, by pkgbase) for the
   * `origins`, supersedes the previous one (its unfinished work is cancelled unless carried over) and
   * puts the carried-over packages in the new repository; `settle` then dispatches what is ready. The caller holds the lock.
   */
  async planIteration(ns: NamespaceRow, input: { recipes: ReadonlyMap<string, PlanningRecipe>; origins: readonly string[]; reason: string; sameInputs?: ReadonlySet<number> }): Promise<IterationRow> {
    const sources = [...input.recipes.values()].map((r) => r.recipe);
    const planned = new Map([...input.recipes].map(([pkgbase, r]) => [pkgbase, { ...r, version: r.recipe.version.text }]));
    const previous = this.store.latestIteration(ns.id);
    // An expired iteration's packages are gone ([retention]): a retired set planned again builds everything anew.
    const previousBuilds = previous && previous.expired_at === null ? this.store.builds(previous.id) : [];
    const builds: PlannedBuild[] = [];
    const findings: Pick<IterationRow, 'cycles' | 'unresolved'> = { cycles: [], unresolved: [] };
    // One universe for every architecture. The server's planner (KeptGraphs) keeps each architecture's dependency
    // graph from the previous iteration and updates it for the recipes that are not the same objects.
    const universe = { flavour: this.settings.flavour, sources };
    for (const arch of this.settings.architectures) {
      const plan = this.planFor(arch, universe, input.origins);
      if (!plan) continue;
      const offset = builds.length;
      const made = iterationBuilds({
        arch, plan, recipes: planned, previous: previousBuilds, packager: ns.packager, cycleRebuild: this.settings.cycleRebuild,
        carriedStates: this.dispatcher.carriesInFlight ? BUILT_OR_IN_FLIGHT : BUILT_ONLY,
        ...(input.sameInputs ? { sameInputs: input.sameInputs } : {}),
      });
      for (const build of made.builds) {
        // The recipe at the build's commit (a carried-over build has the same one): what the build may publish.
        const products = buildProducts(input.recipes.get(build.pkgbase)!.recipe, arch);
        builds.push({ ...build, products, dependsOn: build.dependsOn.map((d) => d + offset) });
      }
      findings.cycles.push(...made.cycles);
      findings.unresolved.push(...(plan.unresolved ?? []).map((u) => ({ arch, ...u })));
    }
    if (builds.length === 0) {
      throw new BuildSetError('not_buildable', `${input.origins.join(', ')}: built on none of the configured architectures (${this.settings.architectures.join(', ')})`);
    }
    const carried = new Set(builds.flatMap((b) => (b.carried ? [b.carried.id] : [])));
    const abandoned = previousBuilds.filter((b) => IN_FLIGHT.includes(b.state) && !carried.has(b.id));
    // The packages carried over go into the new iteration's repository before the iteration is recorded:
    // once it is, nothing plans it again, and a crash in between would leave its repository without them.
    const number = (previous?.number ?? 0) + 1;
    for (const build of builds) {
      if (build.carried?.state !== 'built') continue;
      const owner = build.carried.reused_from ?? build.carried.id;
      const files = this.store.artifacts(owner).map((a) => ({ poolPath: this.repositories.poolPath(owner, a.filename), filename: a.filename }));
      await this.repositories.add(ns.name, number, build.arch, files);
    }
    const iteration = this.store.addIteration(ns.id, input.reason, findings, builds, abandoned.filter((b) => b.pipeline_id !== null));
    this.log.info({ namespace: ns.name, iteration: iteration.number, builds: builds.length, carried: carried.size, cycles: findings.cycles.length, reason: input.reason }, 'planned iteration');
    for (const old of abandoned) await this.dispatcher.cancel(old);
    return iteration;
  }

  /**
   * Has the planner work through these recipes on every architecture, planning nothing: a planner
   * that keeps its dependency graphs (the server's) builds them now, so that the first iteration
   * after a start only updates them.
   */
  preparePlanner(sources: readonly SourcePackage[]): void {
    const universe = { flavour: this.settings.flavour, sources };
    for (const arch of this.settings.architectures) this.planner(universe, { arch, origins: [], profiles: this.settings.profiles ?? [] });
  }

  /** Plans one architecture; origins not built there are left out (null when none is). */
  private planFor(arch: string, universe: Parameters<Planner>[0], origins: readonly string[]): PlanLike | null {
    try {
      return this.planner(universe, { arch, origins, profiles: this.settings.profiles ?? [] });
    } catch (error) {
      const notBuilt = (error as { notBuilt?: string[] }).notBuilt;
      const unknown = (error as { unknown?: string[] }).unknown;
      if (!notBuilt?.length || unknown?.length) throw new BuildSetError('plan_failed', `planning on ${arch}: ${(error as Error).message}`);
      const rest = origins.filter((o) => !notBuilt.includes(o));
      return rest.length ? this.planFor(arch, universe, rest) : null;
    }
  }

  /** Propagates states through the latest iteration and dispatches ready builds (caller holds the lock). */
  async settle(namespaceId: number): Promise<void> {
    try {
      await this.settleOnce(namespaceId);
    } finally {
      this.onSettled(namespaceId);
    }
  }

  private async settleOnce(namespaceId: number): Promise<void> {
    const ns = this.store.namespaceById(namespaceId)!;
    const iteration = this.store.latestIterationRef(namespaceId);
    if (!iteration) return;
    // Only what moved since the previous pass, and its dependants, is looked at; everything on a view read afresh.
    const view = this.store.schedulingView(iteration.id);
    const changes = view.moved ? propagateFrom(view.byId, view.dependants, view.moved) : propagate(view.builds);
    if (changes.length) {
      this.store.transaction(() => changes.forEach((c) => this.store.setState(c.id, c.to, c.reason)));
      this.store.scheduled(iteration.id, changes.map((c) => c.id));
      this.onPropagated(changes, view.builds);
    }
    if (ns.status !== 'active') return;
    // The view's states are those just written: the store keeps it current.
    for (const id of selectForDispatch(view.builds, this.settings.maxInFlight)) {
      // A pass started by an earlier dispatch's answer (below) may have dispatched it already.
      if (this.store.build(id)!.state !== 'ready') continue;
      this.store.markDispatching(id);
      const event = await this.dispatcher.dispatch(this.store.build(id)!, { namespace: ns, iteration: iteration.number });
      if (event && this.move(id, event)) await this.settle(namespaceId);
    }
  }

  /** Applies `event` to a build and settles its build set when it moved (caller holds the lock). Returns whether it moved. */
  async apply(buildId: number, event: BuildEvent): Promise<boolean> {
    if (!this.move(buildId, event)) return false;
    const build = this.store.build(buildId)!;
    await this.settle(this.store.namespaceIdOfIteration(build.iteration_id)!);
    return true;
  }

  private move(buildId: number, event: BuildEvent): boolean {
    const current = this.store.build(buildId)!;
    const result = transition(current.state, event);
    if (result.outcome !== 'moved') return false;
    this.store.setState(current.id, result.state, result.reason);
    this.log.info({ build: current.id, pkgbase: current.pkgbase, arch: current.arch, pass: current.pass, from: current.state, to: result.state, reason: result.reason ?? undefined }, 'build moved');
    return true;
  }

  /**
   * Puts a build's package files into its iteration's repository, then (after `added`, which moves
   * files named from outside the pool into it) records them as its artifacts.
   */
  async storeArtifacts(build: BuildRow, files: readonly StoredFile[], usage?: BuildRow['resource_usage'], added?: () => Promise<void>): Promise<{ namespace: string; iteration: number }> {
    const iteration = this.store.iterationById(build.iteration_id)!;
    const ns = this.store.namespaceById(iteration.namespace_id)!;
    await this.repositories.add(ns.name, iteration.number, build.arch, files);
    await added?.();
    const owner = build.reused_from ?? build.id;
    this.store.transaction(() => {
      for (const f of files) this.store.putArtifact(owner, { filename: f.filename, sha256: f.sha256, size: f.size, jobId: f.jobId });
      if (usage) this.store.setResourceUsage(build.id, usage);
    });
    return { namespace: ns.name, iteration: iteration.number };
  }
}

/** How a build is named in reasons (the rule lives in core). */
export { labelOf };
