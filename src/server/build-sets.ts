/**
 * Build sets (namespaces): creating them, planning iterations, moving builds through the state
 * machine, propagating, and dispatching what is ready. Work on one build set is serialised.
 */
import { propagate, selectForDispatch, transition, type BuildEvent, type BuildNode } from '../core/build-state.js';
import { NAMESPACE_NAME } from '../core/build-set-names.js';
import type { Flavour } from '../core/recipe/model.js';
import type { Logger } from '../common/log.js';
import { BuildStore, type BuildRow, type NamespaceKind, type NamespaceRow, type NewBuild } from './build-store.js';
import { ensurePipeline, pipelineVariables } from './dispatch.js';
import type { GitLabClient } from './gitlab/client.js';
import { GitLabApiError, PipelineRefMovedError } from './gitlab/errors.js';
import { ApiError } from './http-error.js';
import { iterationBuilds, type PlanLike, type Planner } from './iteration-plan.js';
import { KeyedLock } from './keyed-lock.js';
import type { IndexedRecipe, RecipeTable, SourceIndex } from './source-index.js';

export interface BuildSetSettings {
  flavour: Flavour;
  /**
   * Whether recipes share one tree repository: then a pipeline runs at the branch head (GitLab runs
   * pipelines only at a ref's head, and the head has moved on for packages the newest push left alone).
   */
  treeLayout: boolean;
  architectures: string[];
  maxInFlight: number;
  publicUrl: string;
}

/** An origin changeset: a pkgbase at a ref. */
export interface Origin {
  pkgbase: string;
  ref: string;
}

const NAME = NAMESPACE_NAME;

/** Whether `name` may name a build set (it is a path segment of its repository). */
export function isBuildSetName(name: string): boolean {
  return NAME.test(name);
}

/** Parses "pkgbase@ref". */
export function parseOrigin(text: string): Origin {
  const at = text.lastIndexOf('@');
  const pkgbase = text.slice(0, at);
  const ref = text.slice(at + 1);
  if (at <= 0 || !ref || !/^[A-Za-z0-9@._+-]+$/.test(pkgbase) || /\s|\.\.|^-/.test(ref)) {
    throw new ApiError(400, 'invalid_origin', `"${text}" is not an origin changeset; write pkgbase@ref, e.g. zlib@main`);
  }
  return { pkgbase, ref };
}

/** The GitLab pipeline statuses that mean the pipeline is queued or running. */
const ACTIVE_STATUSES = new Set(['created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'scheduled']);

/** The state-machine event a pipeline status means for a build in `state`, if any. */
export function pipelineEvent(status: string, pipelineId: number, state: BuildRow['state']): BuildEvent | null {
  if (status === 'success') return { type: 'pipeline-succeeded' };
  if (status === 'failed') return { type: 'pipeline-failed', reason: `pipeline ${pipelineId} failed` };
  if (status === 'canceled') return { type: 'pipeline-canceled' };
  if (status === 'skipped') return { type: 'pipeline-failed', reason: `pipeline ${pipelineId} was skipped` };
  // A retried pipeline is queued again before it runs: the failed build is back in the game already.
  if (status === 'running' || (ACTIVE_STATUSES.has(status) && (state === 'failed' || state === 'cancelled'))) return { type: 'pipeline-running' };
  return null;
}

export class BuildSets {
  private readonly lock = new KeyedLock();
  /** Called after an iteration is committed, with the builds it carried over already built (their packages belong in its repository). */
  onIterationCreated: (ns: NamespaceRow, iteration: number, carriedBuilt: BuildRow[]) => Promise<void> = async () => {};

  constructor(
    readonly store: BuildStore,
    private readonly recipes: RecipeTable,
    private readonly index: SourceIndex,
    private readonly gitlab: GitLabClient,
    private readonly planner: Planner,
    private readonly settings: BuildSetSettings,
    private readonly log: Logger,
  ) {}

  /** Creates a build set and plans its first iteration. */
  async create(input: { name?: string | undefined; origins: string[]; packager: string | null; kind: NamespaceKind; targetBranch?: string; mergeRequest?: { projectId: number; iid: number } }): Promise<NamespaceRow> {
    const origins = input.origins.map(parseOrigin);
    if (origins.length === 0) throw new ApiError(400, 'invalid_request', 'origin_changesets: give at least one pkgbase@ref');
    const name = input.name ?? `${origins[0]!.pkgbase}-${Date.now().toString(36)}`;
    if (!NAME.test(name)) throw new ApiError(400, 'invalid_name', `"${name}" is not a build set name: letters, digits, . _ + - (up to 100), starting with a letter or digit`);
    if (this.store.namespaceByName(name)) throw new ApiError(409, 'name_taken', `a build set named "${name}" exists already`);
    const recipes = await this.originRecipes(origins);
    // The distribution branch the builds target: the origin project's default branch, unless given (an MR's target).
    const first = origins[0]!.pkgbase;
    const targetBranch = input.targetBranch ?? this.recipes.getDefault(first)?.branch ?? recipes.get(first)!.branch;
    const ns = this.store.createNamespace({
      name, origin: JSON.stringify(input.origins), kind: input.kind, packager: input.packager, target_branch: targetBranch,
      mr_project_id: input.mergeRequest?.projectId ?? null, mr_iid: input.mergeRequest?.iid ?? null,
    });
    try {
      await this.newIteration(ns.id, 'created');
    } catch (error) {
      // A build set that cannot be planned is not kept half-made: the same request may be sent again.
      this.store.deleteNamespaceWithoutIterations(ns.id);
      throw error;
    }
    return this.store.namespaceById(ns.id)!;
  }

  /** Creates the build set `name`, or makes a new iteration of it with these origins when it exists. */
  async startOrIterate(name: string, origins: string[], packager: string | null, kind: NamespaceKind, extra: { targetBranch?: string; mergeRequest?: { projectId: number; iid: number } } = {}): Promise<NamespaceRow> {
    const existing = this.store.namespaceByName(name);
    if (!existing) return this.create({ name, origins, packager, kind, ...extra });
    origins.forEach(parseOrigin);
    this.store.updateNamespaceOrigin(existing.id, origins, packager);
    this.store.setNamespaceStatus(existing.id, 'active');
    await this.newIteration(existing.id, `new commits on ${origins.join(', ')}`);
    return this.store.namespaceById(existing.id)!;
  }

  /**
   * After the index changed `pkgbases` on `branch`: every active build set with one of them as an
   * origin on that branch, or (for a default branch) building one of them, gets a new iteration.
   * Returns the pkgbases that were origins of some build set.
   */
  async onRecipesChanged(pkgbases: string[], branch: string, isDefault: boolean, packager: string | null): Promise<Set<string>> {
    const changed = new Set(pkgbases);
    const asOrigin = new Set<string>();
    for (const ns of this.store.activeNamespaces()) {
      const origins = (JSON.parse(ns.origin) as string[]).map(parseOrigin);
      const hit = origins.filter((o) => o.ref === branch && changed.has(o.pkgbase)).map((o) => o.pkgbase);
      hit.forEach((p) => asOrigin.add(p));
      let reason: string | null = hit.length ? `new commits on ${hit.map((p) => `${p}@${branch}`).join(', ')}` : null;
      if (!reason && isDefault) {
        const latest = this.store.latestIteration(ns.id);
        const planned = latest ? this.store.builds(latest.id).map((b) => b.pkgbase) : [];
        const dependency = planned.find((p) => changed.has(p) && !origins.some((o) => o.pkgbase === p));
        if (dependency) reason = `dependency ${dependency} changed on ${branch}`;
      }
      if (!reason) continue;
      if (hit.length && packager) this.store.updateNamespaceOrigin(ns.id, JSON.parse(ns.origin) as string[], packager);
      try {
        await this.newIteration(ns.id, reason);
      } catch (error) {
        this.log.warn({ namespace: ns.name, reason, error: (error as Error).message }, 'cannot plan the new iteration');
      }
    }
    return asOrigin;
  }

  /** The recipes of the origins, read from GitLab when the index has not seen that ref yet. */
  private async originRecipes(origins: Origin[]): Promise<Map<string, IndexedRecipe>> {
    const found = new Map<string, IndexedRecipe>();
    for (const origin of origins) {
      let recipe: IndexedRecipe | null | undefined = this.recipes.get(origin.pkgbase, origin.ref);
      if (!recipe) {
        const home = this.recipes.getDefault(origin.pkgbase) ?? this.recipes.defaults().find((r) => r.pkgbase === origin.pkgbase);
        if (!home) throw new ApiError(422, 'unknown_package', `${origin.pkgbase} is not in the source index; run "quarters index sync" or check the name`);
        recipe = await this.index.readAt(home.projectId, home.dir, origin.ref);
        if (!recipe || recipe.pkgbase !== origin.pkgbase) throw new ApiError(422, 'unknown_ref', `${origin.pkgbase}@${origin.ref}: no recipe of ${origin.pkgbase} at that ref`);
      }
      found.set(origin.pkgbase, recipe);
    }
    return found;
  }

  /**
   * Plans a new iteration of a build set from the current index: superseded pipelines are cancelled,
   * unchanged builds carried over, then ready builds dispatched.
   */
  newIteration(namespaceId: number, reason: string): Promise<void> {
    return this.lock.run(`ns:${namespaceId}`, async () => {
      const ns = this.store.namespaceById(namespaceId)!;
      const origins = (JSON.parse(ns.origin) as string[]).map(parseOrigin);
      const originRecipes = await this.originRecipes(origins);
      const universe = new Map(this.recipes.defaults().map((r) => [r.pkgbase, r]));
      for (const [pkgbase, recipe] of originRecipes) universe.set(pkgbase, recipe);
      const sources = [...universe.values()].map((r) => r.recipe);
      const previous = this.store.latestIteration(ns.id);
      const previousBuilds = previous ? this.store.builds(previous.id) : [];
      const builds: NewBuild[] = [];
      const cycles: unknown[] = [];
      const unresolved: unknown[] = [];
      for (const arch of this.settings.architectures) {
        const plan = this.planFor(arch, sources, [...originRecipes.keys()]);
        if (!plan) continue;
        const offset = builds.length;
        for (const build of iterationBuilds(arch, plan, universe, previousBuilds, ns.packager)) {
          builds.push({ ...build, dependsOn: build.dependsOn.map((d) => d + offset) });
        }
        cycles.push(...plan.cycles.map((c) => ({ arch, members: c.members })));
        unresolved.push(...(plan.unresolved ?? []).map((u) => ({ arch, ...u })));
      }
      if (builds.length === 0) {
        throw new ApiError(422, 'not_buildable', `${[...originRecipes.keys()].join(', ')}: built on none of the configured architectures (${this.settings.architectures.join(', ')})`);
      }
      const carried = new Set(builds.flatMap((b) => (b.carried ? [b.carried.id] : [])));
      const abandoned = previousBuilds.filter((b) => (b.state === 'dispatched' || b.state === 'building') && !carried.has(b.id) && b.pipeline_id !== null);
      const iteration = this.store.addIteration(ns.id, reason, { cycles, unresolved }, builds, abandoned);
      this.log.info({ namespace: ns.name, iteration: iteration.number, builds: builds.length, carried: carried.size, reason }, 'planned iteration');
      for (const old of abandoned) await this.cancelPipeline(old.project_id, old.pipeline_id!);
      const carriedBuilt = this.store.builds(iteration.id).filter((b) => b.reused_from !== null && b.state === 'built');
      await this.onIterationCreated(ns, iteration.number, carriedBuilt);
      await this.settle(ns.id);
    });
  }

  /** Plans one architecture; origins not built there are left out (null when none is). */
  private planFor(arch: string, sources: IndexedRecipe['recipe'][], origins: string[]): PlanLike | null {
    try {
      return this.planner({ flavour: this.settings.flavour, sources }, { arch, origins });
    } catch (error) {
      const notBuilt = (error as { notBuilt?: string[] }).notBuilt;
      const unknown = (error as { unknown?: string[] }).unknown;
      if (!notBuilt?.length || unknown?.length) throw new ApiError(422, 'plan_failed', `planning on ${arch}: ${(error as Error).message}`);
      const rest = origins.filter((o) => !notBuilt.includes(o));
      return rest.length ? this.planFor(arch, sources, rest) : null;
    }
  }

  /** Carries out a recorded cancellation; when GitLab cannot be reached it stays recorded and the reconcile loop tries again. */
  private async cancelPipeline(projectId: number, pipelineId: number): Promise<void> {
    try {
      await this.gitlab.cancelPipeline(projectId, pipelineId);
      this.store.cancellationDone(projectId, pipelineId);
    } catch (error) {
      // GitLab refusing (the pipeline is gone, or finished) leaves nothing to cancel.
      if (error instanceof GitLabApiError) this.store.cancellationDone(projectId, pipelineId);
      this.log.warn({ project: projectId, pipeline: pipelineId, error: (error as Error).message }, 'cancelling a pipeline failed');
    }
  }

  /** Applies a pipeline status GitLab reported (hook or poll) to the build that owns the pipeline. */
  pipelineStatus(projectId: number, pipelineId: number, status: string): Promise<void> {
    const build = this.store.buildForPipeline(projectId, pipelineId);
    if (!build) return Promise.resolve();
    const ns = this.namespaceOfBuild(build);
    return this.lock.run(`ns:${ns.id}`, async () => {
      const current = this.store.build(build.id)!;
      const event = pipelineEvent(status, pipelineId, current.state);
      if (!event) return;
      const result = transition(current.state, event);
      if (result.outcome !== 'moved') return;
      this.store.setState(current.id, result.state, result.reason);
      this.log.info({ build: current.id, pkgbase: current.pkgbase, arch: current.arch, from: current.state, to: result.state, pipeline: pipelineId }, 'build moved');
      await this.settle(ns.id);
    });
  }

  namespaceOfBuild(build: BuildRow): NamespaceRow {
    const iteration = this.store.iterationById(build.iteration_id)!;
    return this.store.namespaceById(iteration.namespace_id)!;
  }

  /** Propagates states through the latest iteration and dispatches ready builds (caller holds the lock). */
  private async settle(namespaceId: number): Promise<void> {
    const ns = this.store.namespaceById(namespaceId)!;
    const iteration = this.store.latestIteration(namespaceId);
    if (!iteration) return;
    const builds = this.store.builds(iteration.id);
    const nodes: BuildNode[] = builds.map((b) => ({ id: b.id, label: `${b.pkgbase}/${b.arch}`, state: b.state, reason: b.reason, dependsOn: JSON.parse(b.depends_on) as number[] }));
    const changes = propagate(nodes);
    if (changes.length) this.store.transaction(() => changes.forEach((c) => this.store.setState(c.id, c.to, c.reason)));
    if (ns.status !== 'active') return;
    const after = this.store.builds(iteration.id);
    for (const id of selectForDispatch(after, this.settings.maxInFlight)) await this.dispatch(after.find((b) => b.id === id)!, ns, iteration.number);
  }

  /** Records the dispatch, then creates (or, when resuming, finds) the pipeline. */
  private async dispatch(build: BuildRow, ns: NamespaceRow, iteration: number, resumed = false): Promise<void> {
    if (!resumed) this.store.markDispatching(build.id);
    const variables = pipelineVariables(build, ns, iteration, { publicUrl: this.settings.publicUrl, flavour: this.settings.flavour });
    try {
      let commitSha = resumed ? this.store.build(build.id)!.commit_sha : null;
      if (!commitSha) {
        commitSha = this.settings.treeLayout ? (await this.gitlab.getCommit(build.project_id, build.ref)).sha : build.sha;
        this.store.setCommit(build.id, commitSha);
      }
      const pipeline = await ensurePipeline(this.gitlab, build, commitSha, variables);
      this.store.setPipeline(build.id, pipeline.id, pipeline.webUrl);
      this.log.info({ build: build.id, pkgbase: build.pkgbase, arch: build.arch, pipeline: pipeline.id }, 'dispatched');
    } catch (error) {
      if (error instanceof GitLabApiError || error instanceof PipelineRefMovedError) {
        const reason = error instanceof GitLabApiError ? `GitLab refused the pipeline: ${error.gitlabMessage}` : error.message;
        this.store.setState(build.id, 'failed', reason);
        await this.settle(ns.id);
        return;
      }
      // Retries are exhausted or the answer was lost: the reconcile loop looks for the pipeline later.
      this.log.warn({ build: build.id, error: (error as Error).message }, 'pipeline creation did not complete; will look for it again');
    }
  }

  /** Finds or makes the pipelines of builds whose dispatch was recorded but never completed (after a crash or timeout). */
  async resumeDispatches(): Promise<void> {
    const pending = this.store.inFlight().filter((b) => b.pipeline_id === null && b.dispatch_started_at !== null);
    for (const build of pending) {
      const ns = this.namespaceOfBuild(build);
      const iteration = this.store.iterationById(build.iteration_id)!;
      await this.lock.run(`ns:${ns.id}`, () => this.dispatch(this.store.build(build.id)!, ns, iteration.number, true));
    }
  }

  /** Polls GitLab for every build with a running pipeline (hooks can be lost) and applies what it says. */
  async reconcile(): Promise<void> {
    await this.resumeDispatches();
    for (const c of this.store.pendingCancellations()) await this.cancelPipeline(c.project_id, c.pipeline_id);
    for (const build of this.store.inFlight()) {
      if (build.pipeline_id === null) continue;
      try {
        const pipeline = await this.gitlab.getPipeline(build.project_id, build.pipeline_id);
        await this.pipelineStatus(build.project_id, build.pipeline_id, pipeline.status);
      } catch (error) {
        this.log.warn({ build: build.id, pipeline: build.pipeline_id, error: (error as Error).message }, 'reconcile: cannot read pipeline');
      }
    }
  }

  /** Cancels a build set: every unfinished build is cancelled, their pipelines too. */
  cancel(namespaceId: number, status: 'cancelled' | 'retired' = 'cancelled'): Promise<void> {
    return this.lock.run(`ns:${namespaceId}`, async () => {
      this.store.setNamespaceStatus(namespaceId, status);
      const iteration = this.store.latestIteration(namespaceId);
      if (!iteration) return;
      const builds = this.store.builds(iteration.id);
      const withPipelines: BuildRow[] = [];
      this.store.transaction(() => {
        for (const b of builds) {
          const result = transition(b.state, { type: 'cancel' });
          if (result.outcome !== 'moved') continue;
          this.store.setState(b.id, result.state, status === 'retired' ? 'build set retired' : 'build set cancelled');
          if (b.pipeline_id !== null) {
            this.store.requestCancellation(b.project_id, b.pipeline_id);
            withPipelines.push(b);
          }
        }
      });
      for (const b of withPipelines) await this.cancelPipeline(b.project_id, b.pipeline_id!);
    });
  }

  /** Resumes a cancelled build set: cancelled pipelines are retried in GitLab, builds that had none are dispatched again. */
  resume(namespaceId: number): Promise<void> {
    return this.lock.run(`ns:${namespaceId}`, async () => {
      this.store.setNamespaceStatus(namespaceId, 'active');
      await this.rerun(namespaceId, 'cancelled');
      await this.settle(namespaceId);
    });
  }

  /** Retries the failed builds of a build set: failed pipelines are retried in GitLab, builds that had none are dispatched again. */
  retry(namespaceId: number): Promise<void> {
    return this.lock.run(`ns:${namespaceId}`, async () => {
      await this.rerun(namespaceId, 'failed');
      await this.settle(namespaceId);
    });
  }

  /**
   * Moves the latest iteration's builds in `state` back into play. A build with a pipeline gets that
   * pipeline retried (a new pipeline for the same build would be found again by the dispatch key).
   */
  private async rerun(namespaceId: number, state: 'failed' | 'cancelled'): Promise<void> {
    const iteration = this.store.latestIteration(namespaceId);
    if (!iteration) return;
    for (const b of this.store.builds(iteration.id).filter((x) => x.state === state)) {
      if (b.pipeline_id !== null) {
        try {
          this.store.cancellationDone(b.project_id, b.pipeline_id);
          await this.gitlab.retryPipeline(b.project_id, b.pipeline_id);
          const result = transition(b.state, { type: 'pipeline-running' });
          if (result.outcome === 'moved') this.store.setState(b.id, result.state, null);
          continue;
        } catch (error) {
          this.log.warn({ build: b.id, pipeline: b.pipeline_id, error: (error as Error).message }, 'GitLab refused to retry the pipeline; dispatching again');
        }
      }
      this.retryStates([b]);
    }
  }

  private retryStates(builds: BuildRow[]): void {
    this.store.transaction(() => {
      for (const b of builds) {
        const result = transition(b.state, { type: 'retry' });
        if (result.outcome !== 'moved') continue;
        this.store.clearPipeline(b.id);
        this.store.setState(b.id, result.state, null);
      }
    });
  }
}
