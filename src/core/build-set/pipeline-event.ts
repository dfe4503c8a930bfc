/** What a CI pipeline's status means for the build that owns it, as an event of the build state machine. */
import type { BuildEvent, BuildState } from '../build-state.js';

/** The GitLab pipeline statuses that mean the pipeline is queued or running. */
const ACTIVE_STATUSES: ReadonlySet<string> = new Set(['created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'scheduled']);

/** The state-machine event a pipeline status means for a build in `state`, if any. */
export function pipelineEvent(status: string, pipelineId: number, state: BuildState): BuildEvent | null {
  if (status === 'success') return { type: 'pipeline-succeeded' };
  if (status === 'failed') return { type: 'pipeline-failed', reason: `pipeline ${pipelineId} failed` };
  if (status === 'canceled') return { type: 'pipeline-canceled' };
  if (status === 'skipped') return { type: 'pipeline-failed', reason: `pipeline ${pipelineId} was skipped` };
  // A retried pipeline is queued again before it runs: the failed build is back in the game already.
  if (status === 'running' || (ACTIVE_STATUSES.has(status) && (state === 'failed' || state === 'cancelled'))) return { type: 'pipeline-running' };
  return null;
}

const FINISHED_JOB_STATUSES: ReadonlySet<string> = new Set(['success', 'failed', 'canceled', 'skipped']);

/**
 * A pipeline's status from its CI jobs alone, the way GitLab composes it for the common cases (a
 * failure a job may have counts as success). GitLab counts commit statuses set through its API as
 * jobs of the pipeline too; the jobs API does not list them, so this is what the build's own jobs say.
 */
export function statusOfJobs(jobs: readonly { status: string; allowFailure: boolean }[]): string {
  const statuses = jobs.map((j) => (j.status === 'failed' && j.allowFailure ? 'success' : j.status));
  if (statuses.length === 0) return 'skipped';
  if (statuses.includes('running')) return 'running';
  if (statuses.some((s) => !FINISHED_JOB_STATUSES.has(s))) return statuses.some((s) => FINISHED_JOB_STATUSES.has(s)) ? 'running' : 'pending';
  if (statuses.includes('failed')) return 'failed';
  if (statuses.includes('canceled')) return 'canceled';
  if (statuses.every((s) => s === 'skipped')) return 'skipped';
  return 'success';
}
