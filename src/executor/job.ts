/** Who a job is, from the CUSTOM_ENV_* variables GitLab Runner passes: names, target branch, upload details. */
import './zod-messages.js';
import * as z from 'zod/mini';
import { pipelineVariablesSchema } from '../core/pipeline-variables.js';
import { SystemFailure } from './failure.js';
import { readJobResponse, type JobResponse } from './job-response.js';
import { projectSlug as projectSlugOf } from './project-cache.js';

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
  /** The project's path in the runner's cache_dir (its repository URL's path; GitLab's where the runner says), or null: project-<id>. */
  projectSlug: string | null;
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

/** Reads the job from the environment, its identity checked against the runner's job response; a missing, malformed or overridden variable is a SystemFailure naming it. */
export function jobFromEnv(env: NodeJS.ProcessEnv, defaultBranch: string): Job {
  const parsed = jobVariablesSchema.safeParse(customEnv(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SystemFailure(`job variable CUSTOM_ENV_${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  const v = parsed.data;
  const response = readJobResponse(env);
  if (response) checkIdentity(v, response);
  const runner = slug(v.CI_RUNNER_SHORT_TOKEN ?? v.CI_RUNNER_ID ?? 'local').slice(0, 12);
  const slot = `q-${runner}-p${v.CI_PROJECT_ID}-c${v.CI_CONCURRENT_PROJECT_ID ?? 'x'}`;
  const projectSlug = response ? projectSlugOf(response.git_info?.repo_url) : projectSlugOf(customEnv(env).CI_REPOSITORY_URL);
  return { id: v.CI_JOB_ID, projectId: v.CI_PROJECT_ID, slot, slotIsExclusive: v.CI_CONCURRENT_PROJECT_ID !== undefined, name: `${slot}-j${v.CI_JOB_ID}`, targetBranch: v.QUARTERS_TARGET_BRANCH ?? defaultBranch, projectSlug, variables: v };
}

/** Variables GitLab Runner sets itself: GitLab never sends them, so one in the job response is the job's own. */
const RUNNER_SET = ['CI_CONCURRENT_PROJECT_ID', 'CI_RUNNER_SHORT_TOKEN'] as const;

/**
 * The variables that name the job (and so its workspace and slot, which prepare reclaims) must be
 * what GitLab and the runner set: a job that sets one of them itself could take another job's slot.
 */
function checkIdentity(v: z.infer<typeof jobVariablesSchema>, response: JobResponse): void {
  const refuse = (name: string, why: string): never => {
    throw new SystemFailure(`job variable CUSTOM_ENV_${name}: ${why}; a job cannot choose its own identity (JOB_RESPONSE_FILE is GitLab's)`);
  };
  if (v.CI_JOB_ID !== String(response.id)) refuse('CI_JOB_ID', `is ${v.CI_JOB_ID}, but GitLab gave the runner job ${response.id}`);
  if (v.CI_PROJECT_ID !== String(response.job_info.project_id)) refuse('CI_PROJECT_ID', `is ${v.CI_PROJECT_ID}, but job ${response.id} belongs to project ${response.job_info.project_id}`);
  // GitLab sends its own CI_RUNNER_ID first; a second value is the job's.
  const runnerIds = new Set(response.variables.filter((r) => r.key === 'CI_RUNNER_ID').map((r) => r.value));
  if (runnerIds.size > 1) refuse('CI_RUNNER_ID', 'is set by the job');
  for (const name of RUNNER_SET) {
    if (response.variables.some((r) => r.key === name)) refuse(name, 'is set by the job, not by the runner');
  }
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}
