/** Processes one stored webhook event: the inbox worker's handler. */
import type { Logger } from '../../common/log.js';
import type { PipelineTracker } from '../build-sets/pipelines.js';
import type { BuildSets } from '../build-sets/planning.js';
import type { MergeRequests } from './merge-requests.js';
import { handlePush, type PushSettings } from './push.js';
import type { GitLabClient } from '../gitlab/client.js';
import type { RecipeTable, SourceIndex } from '../sources/source-index.js';
import type { HookEvent } from './payloads.js';
import type { JobStore } from '../store/job-store.js';
import { recordHookJob } from '../build-sets/job-reports.js';

export interface EventDeps {
  gitlab: GitLabClient;
  index: SourceIndex;
  recipes: RecipeTable;
  buildSets: BuildSets;
  pipelines: PipelineTracker;
  mergeRequests: MergeRequests;
  settings: PushSettings;
  /** Where the jobs of builds' pipelines are recorded (the builders view). */
  jobs?: JobStore;
  log: Logger;
}

/** Handles one event; throws (and the inbox retries) when GitLab or the store fails. */
export async function handleEvent(event: HookEvent, deps: EventDeps): Promise<void> {
  switch (event.kind) {
    case 'Push Hook':
      return handlePush(event.body, deps);
    case 'Tag Push Hook':
      deps.log.info({ project: event.body.project.path_with_namespace, ref: event.body.ref }, 'tag push: nothing to build');
      return;
    case 'Merge Request Hook':
      return deps.mergeRequests.handle(event.body);
    case 'Pipeline Hook':
      return deps.pipelines.pipelineStatus(event.body.project.id, event.body.object_attributes.id, event.body.object_attributes.status);
    case 'Job Hook':
      if (deps.jobs) recordHookJob(deps.buildSets.store, deps.jobs, event.body);
      // A running job means a running pipeline; finished jobs are settled by the Pipeline Hook, unless
      // quarters' commit statuses hold the pipeline's status (then the jobs are read).
      if (event.body.build_status === 'running') return deps.pipelines.pipelineStatus(event.body.project_id, event.body.pipeline_id, 'running', { fromJob: true });
      if (['success', 'failed', 'canceled'].includes(event.body.build_status)) return deps.pipelines.jobFinished(event.body.project_id, event.body.pipeline_id);
      return;
  }
}
