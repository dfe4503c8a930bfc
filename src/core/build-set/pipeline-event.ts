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
