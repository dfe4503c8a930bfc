/**
 * Dispatching builds as GitLab pipelines: the attempt is recorded before the call (the engine marks
 * the build dispatched), and the client looks for the pipeline an earlier, interrupted attempt may
 * have made (by project, sha and build id) before it creates one. Cancellations are recorded before
 * GitLab is asked, so that a crash cannot forget them.
 */
import type { BuildEvent } from '../../core/build-state.js';
import type { Flavour } from '../../core/recipe/model.js';
import type { Logger } from '../../common/log.js';
import type { BuildRow, BuildStore } from '../store/build-store.js';
import { pipelineVariables } from './pipeline-variables.js';
import type { GitLabClient } from '../gitlab/client.js';
import { GitLabApiError, PipelineRefMovedError } from '../gitlab/errors.js';
import type { DispatchContext, Dispatcher } from './engine.js';

export interface GitLabDispatchSettings {
  flavour: Flavour;
  /**
   * Whether recipes share one tree repository: then a pipeline runs at the branch head (GitLab runs
   * pipelines only at a ref's head, and the head has moved on for packages the newest push left alone).
   */
  treeLayout: boolean;
  publicUrl: string;
  /** Debian: `[build] deb_build_options` and `deb_build_profiles`, passed to every build. */
  debBuildOptions?: string;
  debBuildProfiles?: readonly string[];
}

export class GitLabDispatcher implements Dispatcher {
  readonly carriesInFlight = true;

  constructor(
    private readonly store: BuildStore,
    private readonly gitlab: GitLabClient,
    private readonly settings: GitLabDispatchSettings,
    private readonly log: Logger,
  ) {}

  /** Creates the build's pipeline, or finds the one an interrupted attempt made; also resumes such an attempt. */
  async dispatch(build: BuildRow, context: DispatchContext): Promise<BuildEvent | void> {
    const variables = pipelineVariables(build, context.namespace, context.iteration, this.settings);
    try {
      let commitSha = build.commit_sha;
      if (!commitSha) {
        commitSha = this.settings.treeLayout ? (await this.gitlab.getCommit(build.project_id, build.ref)).sha : build.sha;
        this.store.setCommit(build.id, commitSha);
      }
      const { pipeline } = await this.gitlab.dispatchPipeline(build.project_id, { ref: build.ref, sha: commitSha, buildId: String(build.id), variables });
      this.store.setPipeline(build.id, pipeline.id, pipeline.webUrl);
      this.log.info({ build: build.id, pkgbase: build.pkgbase, arch: build.arch, pipeline: pipeline.id }, 'dispatched');
    } catch (error) {
      if (error instanceof GitLabApiError) return { type: 'dispatch-failed', reason: `GitLab refused the pipeline: ${error.gitlabMessage}` };
      if (error instanceof PipelineRefMovedError) return { type: 'dispatch-failed', reason: error.message };
      // Retries are exhausted or the answer was lost: the reconcile loop looks for the pipeline later.
      this.log.warn({ build: build.id, error: (error as Error).message }, 'pipeline creation did not complete; will look for it again');
    }
  }

  async cancel(build: BuildRow): Promise<void> {
    if (build.pipeline_id !== null) await this.cancelPipeline(build.project_id, build.pipeline_id);
  }

  /** Carries out a recorded cancellation; when GitLab cannot be reached it stays recorded and the reconcile loop tries again. */
  async cancelPipeline(projectId: number, pipelineId: number): Promise<void> {
    try {
      await this.gitlab.cancelPipeline(projectId, pipelineId);
      this.store.cancellationDone(projectId, pipelineId);
    } catch (error) {
      // GitLab refusing (the pipeline is gone, or finished) leaves nothing to cancel.
      if (error instanceof GitLabApiError) this.store.cancellationDone(projectId, pipelineId);
      this.log.warn({ project: projectId, pipeline: pipelineId, error: (error as Error).message }, 'cancelling a pipeline failed');
    }
  }
}
