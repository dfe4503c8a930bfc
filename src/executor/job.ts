/** Who a job is, from the CUSTOM_ENV_* variables GitLab Runner passes: names, target branch, upload details. */
import './zod-messages.js';
import * as z from 'zod/mini';
import { pipelineVariablesSchema } from '../core/pipeline-variables.js';
import { SystemFailure } from './failure.js';

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

export interface Job {
  id: string;
  projectId: string;
  /** Runner + project + concurrency slot: at most one job runs in a slot at a time. */
  slot: string;
  /** False when the runner did not say which concurrency slot the job has: then jobs of a project may share a slot name. */
  slotIsExclusive: boolean;
  /** Slot + job id: unique among all jobs; used for the workspace, the machine and the build directory. */
  name: string;
  targetBranch: string;
  variables: z.infer<typeof jobVariablesSchema>;
}

/** The CUSTOM_ENV_ variables without their prefix; empty values count as unset. */
export function customEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('CUSTOM_ENV_') && value !== undefined && value !== '') out[key.slice('CUSTOM_ENV_'.length)] = value;
  }
  return out;
}

/** Reads the job from the environment; a missing or malformed variable is a SystemFailure naming it. */
export function jobFromEnv(env: NodeJS.ProcessEnv, defaultBranch: string): Job {
  const parsed = jobVariablesSchema.safeParse(customEnv(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SystemFailure(`job variable CUSTOM_ENV_${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  const v = parsed.data;
  const runner = slug(v.CI_RUNNER_SHORT_TOKEN ?? v.CI_RUNNER_ID ?? 'local').slice(0, 12);
  const slot = `q-${runner}-p${v.CI_PROJECT_ID}-c${v.CI_CONCURRENT_PROJECT_ID ?? 'x'}`;
  return { id: v.CI_JOB_ID, projectId: v.CI_PROJECT_ID, slot, slotIsExclusive: v.CI_CONCURRENT_PROJECT_ID !== undefined, name: `${slot}-j${v.CI_JOB_ID}`, targetBranch: v.QUARTERS_TARGET_BRANCH ?? defaultBranch, variables: v };
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}
