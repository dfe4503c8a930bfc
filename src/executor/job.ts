/** Who a job is, from the CUSTOM_ENV_* variables GitLab Runner passes: names, target branch, upload details. */
import { SystemFailure } from './failure.js';
import { readJobResponse, type JobResponse } from './job-response.js';
import { projectSlug as projectSlugOf } from './project-cache.js';

// Checked by hand, not with zod: the runner starts the executor a dozen times a job, and a host
// stage's `run` and `cleanup` need only who the job is (loading zod was some 5 ms of each start). The
// other variables are validated with zod by the commands that read them (job-variables.ts: config,
// prepare, guest stages); the messages here are zod's for the same fields (job.test.ts compares).

export type { Job } from './job-variables.js';

/** Who the job is: enough to find its workspace, slot and build directory. */
export interface JobIdentity {
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
}

/** The variables jobIdentityFromEnv reads, each checked as jobVariablesSchema (job-variables.ts) checks it. */
interface IdentityVariables {
  CI_JOB_ID: string;
  CI_PROJECT_ID: string;
  CI_CONCURRENT_PROJECT_ID?: string;
  CI_RUNNER_SHORT_TOKEN?: string;
  CI_RUNNER_ID?: string;
  QUARTERS_TARGET_BRANCH?: string;
}

const NUMBER = /^\d+$/;
const BRANCH = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function identityVariables(vars: Record<string, string>): IdentityVariables {
  const refuse = (name: string, message: string): never => {
    throw new SystemFailure(`job variable CUSTOM_ENV_${name}: ${message}`);
  };
  const check = (name: string, pattern: RegExp, message: string, required: boolean): void => {
    const value = vars[name];
    if (value === undefined) {
      if (required) refuse(name, 'Invalid input: expected string, received undefined');
    } else if (!pattern.test(value)) refuse(name, message);
  };
  check('CI_JOB_ID', NUMBER, 'expected a number', true);
  check('CI_PROJECT_ID', NUMBER, 'expected a number', true);
  check('CI_CONCURRENT_PROJECT_ID', NUMBER, 'expected a number', false);
  check('QUARTERS_TARGET_BRANCH', BRANCH, 'expected a branch name of letters, digits, ".", "_", "+", "-"', false);
  return vars as unknown as IdentityVariables;
}

/** The CUSTOM_ENV_ variables without their prefix; empty values count as unset. */
export function customEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('CUSTOM_ENV_') && value !== undefined && value !== '') out[key.slice('CUSTOM_ENV_'.length)] = value;
  }
  return out;
}

/** Who the job is, from the environment, checked against the runner's job response; a missing, malformed or overridden variable is a SystemFailure naming it. */
export function jobIdentityFromEnv(env: NodeJS.ProcessEnv, defaultBranch: string): JobIdentity {
  const v = identityVariables(customEnv(env));
  const response = readJobResponse(env);
  if (response) checkIdentity(v, response);
  const runner = slug(v.CI_RUNNER_SHORT_TOKEN ?? v.CI_RUNNER_ID ?? 'local').slice(0, 12);
  const slot = `q-${runner}-p${v.CI_PROJECT_ID}-c${v.CI_CONCURRENT_PROJECT_ID ?? 'x'}`;
  const projectSlug = response ? projectSlugOf(response.git_info?.repo_url) : projectSlugOf(customEnv(env).CI_REPOSITORY_URL);
  return { id: v.CI_JOB_ID, projectId: v.CI_PROJECT_ID, slot, slotIsExclusive: v.CI_CONCURRENT_PROJECT_ID !== undefined, name: `${slot}-j${v.CI_JOB_ID}`, targetBranch: v.QUARTERS_TARGET_BRANCH ?? defaultBranch, projectSlug };
}

/** Variables GitLab Runner sets itself: GitLab never sends them, so one in the job response is the job's own. */
const RUNNER_SET = ['CI_CONCURRENT_PROJECT_ID', 'CI_RUNNER_SHORT_TOKEN'] as const;

/**
 * The variables that name the job (and so its workspace and slot, which prepare reclaims) must be
 * what GitLab and the runner set: a job that sets one of them itself could take another job's slot.
 */
function checkIdentity(v: IdentityVariables, response: JobResponse): void {
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
