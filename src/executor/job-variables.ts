/** The job's variables (CUSTOM_ENV_*) validated with zod, pipeline variables and all: for the commands that read them (config, prepare, guest stages). */
import './zod-messages.js';
import * as z from 'zod/mini';
import { pipelineVariablesSchema } from '../core/pipeline-variables.js';
import { SystemFailure } from './failure.js';
import { customEnv, jobIdentityFromEnv, type JobIdentity } from './job.js';

const id = z.string().check(z.regex(/^\d+$/, 'expected a number'));

/** The job variables the executor reads (without the CUSTOM_ENV_ prefix): the runner's, and the pipeline variables' contract, each optional. */
export const jobVariablesSchema = z.extend(z.partial(z.object(pipelineVariablesSchema.def.shape)), {
  CI_JOB_ID: id,
  CI_PROJECT_ID: id,
  CI_CONCURRENT_PROJECT_ID: z.optional(id),
  CI_RUNNER_SHORT_TOKEN: z.optional(z.string()),
  CI_RUNNER_ID: z.optional(z.string()),
  CI_JOB_TOKEN: z.optional(z.string()),
  CI_PROJECT_PATH: z.optional(z.string()),
  // Here the target branch names a file (source_lists/BRANCH.list): one safe path component.
  QUARTERS_TARGET_BRANCH: z.optional(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'expected a branch name of letters, digits, ".", "_", "+", "-"'))),
});

export interface Job extends JobIdentity {
  variables: z.infer<typeof jobVariablesSchema>;
}

/** Reads the job from the environment, every variable validated and its identity checked against the runner's job response; a missing, malformed or overridden variable is a SystemFailure naming it. */
export function jobFromEnv(env: NodeJS.ProcessEnv, defaultBranch: string): Job {
  const parsed = jobVariablesSchema.safeParse(customEnv(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SystemFailure(`job variable CUSTOM_ENV_${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  return { ...jobIdentityFromEnv(env, defaultBranch), variables: parsed.data };
}
