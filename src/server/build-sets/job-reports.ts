/** Recording the CI jobs of builds' pipelines from what GitLab and the executors report (the builders view reads them). */
import type { Job } from '../gitlab/client.js';
import type { BuildRow, BuildStore } from '../store/build-store.js';
import type { JobStore } from '../store/job-store.js';
import type { JobHook } from '../webhooks/payloads.js';

/** A time as GitLab writes it in hooks ("2021-02-23 02:41:37 UTC") or as ISO, as ISO; null when absent or unreadable. */
export function isoTime(text: string | null | undefined): string | null {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** Records a Job Hook's job when its pipeline is a build's; others are not quarters' jobs. */
export function recordHookJob(store: BuildStore, jobs: JobStore, hook: JobHook): void {
  const build = store.buildForPipeline(hook.project_id, hook.pipeline_id);
  if (!build) return;
  jobs.record({
    jobId: hook.build_id, buildId: build.id, projectId: hook.project_id, pipelineId: hook.pipeline_id, name: hook.build_name, status: hook.build_status,
    runner: hook.runner ? { id: hook.runner.id, description: hook.runner.description ?? null } : null,
    createdAt: isoTime(hook.build_created_at), startedAt: isoTime(hook.build_started_at), finishedAt: isoTime(hook.build_finished_at),
  });
}

/** Records the job an executor's authenticated report came from: it is running, on the runner GitLab names. */
export function recordReportedJob(jobs: JobStore, build: BuildRow, job: Job): void {
  jobs.record({
    jobId: job.jobId, buildId: build.id, projectId: job.projectId, pipelineId: job.pipelineId, name: job.name, status: job.status,
    runner: job.runner, createdAt: isoTime(job.createdAt), startedAt: isoTime(job.startedAt),
  });
}

/** The web address of a job of a build's pipeline, made from the pipeline's (GitLab's `…/-/pipelines/N` → `…/-/jobs/J`). */
export function jobUrl(pipelineUrl: string | null, jobId: number | null): string | null {
  if (pipelineUrl === null || jobId === null || !/\/-\/pipelines\/\d+$/.test(pipelineUrl)) return null;
  return pipelineUrl.replace(/\/-\/pipelines\/\d+$/, `/-/jobs/${jobId}`);
}
