/**
 * Who may write a build's results (artifacts, resource usage): an executor, by its token from
 * `[executor] tokens` (compared in constant time), for a job GitLab vouches for (its CI_JOB_TOKEN,
 * asked of GitLab `GET /job`) that runs in the pipeline quarters dispatched for that build. Nothing a
 * job can set (the build id in the URL, its variables) grants more than that.
 */
import type { Context } from 'hono';
import type { BuildRow, BuildStore } from '../store/build-store.js';
import type { GitLabClient, Job } from '../gitlab/client.js';
import { ApiError } from '../http/http-error.js';
import { matchesSecret } from '../http/token-check.js';

/** 401 unless `Authorization: Bearer` carries one of the executor tokens. */
export function requireExecutorToken(c: Context, executorTokens: readonly string[]): void {
  const authorization = /^Bearer\s+(\S+)$/i.exec(c.req.header('Authorization') ?? '');
  if (!authorization || !matchesSecret(authorization[1], executorTokens)) {
    throw new ApiError(401, 'unauthorized', 'this route needs an executor token from [executor] tokens: Authorization: Bearer TOKEN');
  }
}

/** The live build the URL's id names (a superseded one's successor): 400 for a malformed id, 404 for none. */
export function liveBuildOf(store: BuildStore, idText: string): BuildRow {
  if (!/^[1-9]\d{0,15}$/.test(idText)) throw new ApiError(400, 'invalid_request', 'the build id must be a positive integer');
  const build = store.liveBuild(Number(idText));
  if (!build) throw new ApiError(404, 'not_found', `no live build ${idText} (unknown, or superseded without a successor)`);
  return build;
}

/**
 * The job of `X-Job-Token`, which GitLab must accept (401) and which must run in the build's dispatched pipeline (403).
 * That is enough to refuse jobs of pipelines the server did not create: the recorded pipeline is one the server
 * created itself, or adopted after a lost create answer only when GitLab says the server's own user created it
 * through the API (GitLabClient.findPipelines); a pipeline anyone else made claiming QUARTERS_BUILD_ID is never recorded.
 */
export async function requireBuildJob(c: Context, gitlab: GitLabClient, build: BuildRow): Promise<Job> {
  const jobToken = c.req.header('X-Job-Token');
  if (!jobToken) throw new ApiError(401, 'unauthorized', 'X-Job-Token (the job\'s CI_JOB_TOKEN) is required');
  const job = await gitlab.jobForToken(jobToken);
  if (!job) throw new ApiError(401, 'unauthorized', 'GitLab does not accept this job token (unknown, or the job is not running)');
  if (build.pipeline_id === null || job.pipelineId !== build.pipeline_id || job.projectId !== build.project_id) {
    throw new ApiError(403, 'wrong_pipeline', `job ${job.jobId} belongs to pipeline ${job.pipelineId}, not to the pipeline dispatched for build ${build.id}`);
  }
  return job;
}
