/** Following the pipelines of dispatched builds: Pipeline and Job Hooks, and a reconcile poll for hooks that went missing. */
import { pipelineEvent, statusOfJobs } from '../../core/build-set/pipeline-event.js';
import type { Logger } from '../../common/log.js';
import type { GitLabClient } from '../gitlab/client.js';
import type { BuildRow } from '../store/build-store.js';
import type { BuildSetEngine } from './engine.js';
import type { GitLabDispatcher } from './gitlab-dispatcher.js';

/** How long after a dispatch a late second pipeline is looked for. */
const ORPHAN_WINDOW_MS = 60 * 60 * 1000;

export class PipelineTracker {
  constructor(
    private readonly engine: BuildSetEngine,
    private readonly dispatcher: GitLabDispatcher,
    private readonly gitlab: GitLabClient,
    private readonly log: Logger,
    /** Whether the build's pipeline may carry quarters' own commit statuses (ProgressReporter.mayCarryStatuses). */
    private readonly carriesStatuses: (build: BuildRow) => boolean = () => false,
  ) {}

  /**
   * Applies a pipeline status GitLab reported (hook or poll) to the build that owns the pipeline;
   * `fromJob`: the status is what a job of the pipeline says (a Job Hook), not the pipeline's own.
   */
  pipelineStatus(projectId: number, pipelineId: number, status: string, { fromJob = false } = {}): Promise<void> {
    const { store } = this.engine;
    const build = store.buildForPipeline(projectId, pipelineId);
    if (!build) return Promise.resolve();
    return this.engine.locked(store.namespaceOfBuild(build).id, async () => {
      const current = store.build(build.id)!;
      const event = pipelineEvent(fromJob ? status : await this.buildStatus(current, pipelineId, status), pipelineId, current.state);
      if (event) await this.engine.apply(current.id, event);
    });
  }

  /**
   * A job of a build's pipeline finished. The Pipeline Hook tells the outcome, except when quarters' own
   * commit statuses hold the pipeline's status where it was (running): then the jobs are read now.
   */
  jobFinished(projectId: number, pipelineId: number): Promise<void> {
    const build = this.engine.store.buildForPipeline(projectId, pipelineId);
    if (!build || !this.carriesStatuses(build)) return Promise.resolve();
    return this.pipelineStatus(projectId, pipelineId, 'running');
  }

  /**
   * What a pipeline's status says of its build. quarters' own commit statuses may be jobs of the pipeline
   * (see ProgressReporter.mayCarryStatuses) and hold its status at running, failed or canceled: then the CI jobs decide.
   */
  private async buildStatus(build: BuildRow, pipelineId: number, status: string): Promise<string> {
    if (status === 'success' || !['running', 'failed', 'canceled'].includes(status) || !this.carriesStatuses(build)) return status;
    return statusOfJobs(await this.gitlab.pipelineJobs(build.project_id, pipelineId));
  }

  /**
   * Finds or makes the pipelines of builds whose dispatch was recorded but never completed (after a crash
   * or timeout), then settles the build sets a crash left unsettled (a new iteration's builds not yet
   * propagated, ready builds not yet dispatched): nothing else would until another event reached the
   * build set, and with nothing of it in flight none ever does.
   */
  async resumeDispatches(): Promise<void> {
    const { store } = this.engine;
    for (const build of store.inFlight().filter((b) => b.pipeline_id === null && b.dispatch_started_at !== null)) {
      const namespace = store.namespaceOfBuild(build);
      await this.engine.locked(namespace.id, async () => {
        const current = store.build(build.id)!;
        if (current.pipeline_id !== null || current.state !== 'dispatched') return;
        const event = await this.dispatcher.dispatch(current, { namespace, iteration: store.iterationById(current.iteration_id)!.number });
        if (event) await this.engine.apply(current.id, event);
      });
    }
    for (const namespace of store.activeNamespaces()) {
      const latest = store.latestIteration(namespace.id);
      if (!latest || !store.builds(latest.id).some((b) => b.state === 'ready' || b.state === 'blocked')) continue;
      await this.engine.locked(namespace.id, () => this.engine.settle(namespace.id));
    }
  }

  /**
   * A create whose answer was lost may land after the build got another pipeline: for an hour after a
   * dispatch, the build's other pipelines are looked for and cancelled.
   */
  private async cancelOrphans(build: BuildRow): Promise<void> {
    if (build.dispatch_started_at === null || Date.now() - Date.parse(build.dispatch_started_at) > ORPHAN_WINDOW_MS) return;
    try {
      await this.gitlab.cancelOrphanPipelines(build.project_id, build.commit_sha ?? build.sha, String(build.id), build.pipeline_id!);
    } catch (error) {
      this.log.warn({ build: build.id, error: (error as Error).message }, 'reconcile: cannot look for orphan pipelines');
    }
  }

  /** Polls GitLab for every build with a running pipeline (hooks can be lost) and applies what it says. */
  async reconcile(): Promise<void> {
    const { store } = this.engine;
    await this.resumeDispatches();
    for (const c of store.pendingCancellations()) await this.dispatcher.cancelPipeline(c.project_id, c.pipeline_id);
    for (const build of store.inFlight()) {
      if (build.pipeline_id === null) continue;
      await this.cancelOrphans(build);
      try {
        const pipeline = await this.gitlab.getPipeline(build.project_id, build.pipeline_id);
        await this.pipelineStatus(build.project_id, build.pipeline_id, pipeline.status);
      } catch (error) {
        this.log.warn({ build: build.id, pipeline: build.pipeline_id, error: (error as Error).message }, 'reconcile: cannot read pipeline');
      }
    }
  }
}
