/** `quarters-executor config`: the JSON object GitLab Runner reads from config_exec's stdout. */
import { join } from 'node:path';
import { executorVersion, type JobSession } from '../session.js';

export interface ConfigAnswer {
  builds_dir: string;
  cache_dir: string;
  builds_dir_is_shared: boolean;
  hostname: string;
  driver: { name: string; version: string };
  job_env: Record<string, string>;
}

/** The answer for this job: a build directory of its own (never shared), so concurrent jobs cannot collide. */
export function configAnswer(session: Pick<JobSession, 'layout' | 'job'>): ConfigAnswer {
  return {
    builds_dir: join(session.layout.builds, session.job.name),
    cache_dir: session.layout.cache,
    builds_dir_is_shared: false,
    hostname: session.job.name,
    driver: { name: 'quarters-executor', version: executorVersion() },
    job_env: { QUARTERS_EXECUTOR_JOB: session.job.name },
  };
}
