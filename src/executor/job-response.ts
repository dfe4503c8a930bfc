/**
 * The job as GitLab handed it to the runner: GitLab Runner writes the job's API response to
 * JOB_RESPONSE_FILE before it starts the executor. Unlike the CUSTOM_ENV_* variables, which a job
 * overrides by setting a variable of the same name, its `id` and `job_info.project_id` are GitLab's.
 */
import { readFileSync } from 'node:fs';
import './zod-messages.js';
import * as z from 'zod/mini';
import { SystemFailure } from './failure.js';

const jobResponseSchema = z.looseObject({
  id: z.int().check(z.positive()),
  token: z.optional(z.string()),
  job_info: z.looseObject({ project_id: z.int().check(z.positive()) }),
  /** The repository the runner clones: its path is the project's slug in the runner's cache_dir (project-cache.ts). */
  git_info: z.optional(z.looseObject({ repo_url: z.optional(z.string()) })),
  /** GitLab's predefined variables first, then the project's, group's and .gitlab-ci.yml's: a key may appear twice, the last wins. */
  variables: z._default(z.array(z.looseObject({ key: z.string(), value: z.nullish(z.string()), masked: z.optional(z.boolean()) })), []),
});
export type JobResponse = z.infer<typeof jobResponseSchema>;

/** The runner's job response, or null when the executor was not started by GitLab Runner (JOB_RESPONSE_FILE unset). */
export function readJobResponse(env: NodeJS.ProcessEnv): JobResponse | null {
  const file = env.JOB_RESPONSE_FILE;
  if (!file) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SystemFailure(`cannot read the runner's job response JOB_RESPONSE_FILE=${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SystemFailure(`the runner's job response ${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = jobResponseSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SystemFailure(`the runner's job response ${file}: ${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
