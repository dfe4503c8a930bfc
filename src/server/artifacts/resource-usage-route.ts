/**
 * `PUT /api/v1/builds/:id/resource-usage`: the executor reports what a build used after every build
 * stage, failed ones included (uploads carry it too, but a failed build uploads nothing). Authenticated
 * as uploads are (executor-auth.ts); the body is src/core/resource-usage.ts's JSON.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { BuildState } from '../../core/build-state.js';
import { resourceUsageSchema } from '../../core/resource-usage.js';
import type { Logger } from '../../common/log.js';
import type { BuildStore } from '../store/build-store.js';
import { liveBuildOf, requireBuildJob, requireExecutorToken } from './executor-auth.js';
import type { GitLabClient } from '../gitlab/client.js';
import type { JobStore } from '../store/job-store.js';
import { recordReportedJob } from '../build-sets/job-reports.js';
import { ApiError, describeZodError } from '../http/http-error.js';

/** States whose build ran or runs a job: a failed build's usage is recorded like a built one's. */
const RECORDABLE: readonly BuildState[] = ['dispatched', 'building', 'built', 'failed'];

export interface ResourceUsageDeps {
  store: BuildStore;
  gitlab: GitLabClient;
  executorTokens: readonly string[];
  /** Where the reporting job (and its runner) is recorded for the builders view. */
  jobs?: JobStore;
  log: Logger;
}

/** The resource usage route. */
export function resourceUsageRoutes(deps: ResourceUsageDeps): Hono {
  const app = new Hono();
  app.put('/api/v1/builds/:id/resource-usage', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
    requireExecutorToken(c, deps.executorTokens);
    const build = liveBuildOf(deps.store, c.req.param('id'));
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new ApiError(400, 'invalid_json', 'the body must be JSON: {wall_seconds, cpu_seconds, peak_memory_bytes, disk_bytes}');
    }
    const usage = resourceUsageSchema.safeParse(body);
    if (!usage.success) throw new ApiError(400, 'invalid_resource_usage', describeZodError(usage.error));
    const job = await requireBuildJob(c, deps.gitlab, build);
    if (!RECORDABLE.includes(build.state)) throw new ApiError(409, 'build_not_running', `build ${build.id} is ${build.state}: no job of it runs`);
    deps.store.setResourceUsage(build.id, usage.data);
    if (deps.jobs) recordReportedJob(deps.jobs, build, job);
    deps.log.info({ build: build.id, job: job.jobId, state: build.state }, 'resource usage recorded');
    return c.body(null, 204);
  });
  return app;
}
