/** What people do to a build set: cancel it, resume it, retry its failed builds (and retire an MR's set). */
import { transition } from '../../core/build-state.js';
import type { Logger } from '../../common/log.js';
import type { BuildRow } from '../store/build-store.js';
import type { GitLabClient } from '../gitlab/client.js';
import type { BuildSetEngine } from './engine.js';
import type { GitLabDispatcher } from './gitlab-dispatcher.js';

export class BuildSetControl {
  constructor(
    private readonly engine: BuildSetEngine,
    private readonly dispatcher: GitLabDispatcher,
    private readonly gitlab: GitLabClient,
    private readonly log: Logger,
  ) {}

  /**
   * Cancels a build set: every unfinished build is cancelled, their pipelines too. With `only`, just
   * those pkgbases' builds: the set stays active, and what needs them becomes dependency-failed.
   */
  cancel(namespaceId: number, status: 'cancelled' | 'retired' = 'cancelled', only?: ReadonlySet<string>): Promise<void> {
    const { store } = this.engine;
    return this.engine.locked(namespaceId, async () => {
      if (!only) store.setNamespaceStatus(namespaceId, status);
      const iteration = store.latestIteration(namespaceId);
      if (!iteration) return;
      const withPipelines: BuildRow[] = [];
      store.transaction(() => {
        for (const b of store.builds(iteration.id)) {
          if (only && !only.has(b.pkgbase)) continue;
          const result = transition(b.state, { type: 'cancel' });
          if (result.outcome !== 'moved') continue;
          store.setState(b.id, result.state, status === 'retired' ? 'build set retired' : 'build set cancelled');
          if (b.pipeline_id !== null) {
            store.requestCancellation(b.project_id, b.pipeline_id);
            withPipelines.push(b);
          }
        }
      });
      this.engine.onSettled(namespaceId);
      for (const b of withPipelines) await this.dispatcher.cancel(b);
      if (only) await this.engine.settle(namespaceId);
    });
  }

  /** Resumes a cancelled build set (or only those pkgbases' builds): cancelled pipelines are retried in GitLab, builds that had none are dispatched again. */
  resume(namespaceId: number, only?: ReadonlySet<string>): Promise<void> {
    return this.engine.locked(namespaceId, async () => {
      this.engine.store.setNamespaceStatus(namespaceId, 'active');
      await this.rerun(namespaceId, 'cancelled', only);
      await this.engine.settle(namespaceId);
    });
  }

  /** Retries the failed builds of a build set (or only those pkgbases'): failed pipelines are retried in GitLab, builds that had none are dispatched again. */
  retry(namespaceId: number, only?: ReadonlySet<string>): Promise<void> {
    return this.engine.locked(namespaceId, async () => {
      await this.rerun(namespaceId, 'failed', only);
      await this.engine.settle(namespaceId);
    });
  }

  /**
   * Moves the latest iteration's builds in `state` back into play. A build with a pipeline gets that
   * pipeline retried (a new pipeline for the same build would be found again by the dispatch key).
   */
  private async rerun(namespaceId: number, state: 'failed' | 'cancelled', only?: ReadonlySet<string>): Promise<void> {
    const { store } = this.engine;
    const iteration = store.latestIteration(namespaceId);
    if (!iteration) return;
    for (const b of store.builds(iteration.id).filter((x) => x.state === state && (!only || only.has(x.pkgbase)))) {
      if (b.pipeline_id !== null) {
        try {
          store.cancellationDone(b.project_id, b.pipeline_id);
          await this.gitlab.retryPipeline(b.project_id, b.pipeline_id);
          const result = transition(b.state, { type: 'pipeline-running' });
          if (result.outcome === 'moved') store.setState(b.id, result.state, null);
          continue;
        } catch (error) {
          this.log.warn({ build: b.id, pipeline: b.pipeline_id, error: (error as Error).message }, 'GitLab refused to retry the pipeline; dispatching again');
        }
      }
      store.transaction(() => {
        const result = transition(b.state, { type: 'retry' });
        if (result.outcome !== 'moved') return;
        store.clearPipeline(b.id);
        store.setState(b.id, result.state, null);
      });
    }
  }
}
