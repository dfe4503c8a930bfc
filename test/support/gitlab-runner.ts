/**
 * A GitLab Runner for the GitLab double: it picks up the pending jobs of the double's pipelines
 * and runs each through a custom executor (the real quarters-executor) with the runner emulator,
 * the way a runner registered with the quarters custom executor would:
 *
 * - it asks for work every `checkIntervalMs` (the runner's check_interval) and whenever the double
 *   reports a job or pipeline change (its state listeners), taking the oldest pending job first;
 * - at most `concurrent` jobs run at once; each gets CI_CONCURRENT_ID, the lowest slot no other
 *   running job of the runner holds, and CI_CONCURRENT_PROJECT_ID, the lowest no running job of
 *   the same project holds (GitLab Runner's buildsHelper.addBuild);
 * - picking a job up starts it in the double, which makes its CI_JOB_TOKEN valid;
 * - the job's definition (script, before_script, after_script, variables, artifacts:paths) is
 *   read from the CI file (by default infrastructure/ci/quarters-build.gitlab-ci.yml) by the job's
 *   name, as GitLab compiles it from the project's .gitlab-ci.yml;
 * - the job's variables: GitLab's predefined CI_* variables, then the CI file's, then the
 *   runner's `variables` (standing in for project CI/CD variables), then the pipeline's own
 *   (QUARTERS_*), later ones winning, as GitLab's precedence goes;
 * - get_sources clones the project's repository (GitMirror: the double's commits as real git
 *   commits) and checks out refs/pipelines/ID, the pipeline's commit;
 * - the outcome finishes the job: success, or failed with script_failure (build failure),
 *   runner_system_failure (system failure, or the runner stopped under it), unknown_failure or
 *   job_execution_timeout; a job GitLab cancelled meanwhile is aborted (SIGTERM, then SIGKILL)
 *   and left canceled.
 *
 * Simplifications: no runner registration, job request API or trace PATCHes: the runner reads and
 * changes the double's state directly, and the trace stays here (`jobs`); every job of the double
 * is this runner's (no tags, no `rules` evaluation, no `when`); no cache, services, image,
 * retry:, or artifacts upload to GitLab (artifacts stay in the emulator's directory, removed on
 * stop); CI_COMMIT_SHA is the double's commit id, while the checkout's git id differs (see
 * GitMirror); the emulator's own simplifications (runner-emulator/emulator.ts) apply.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { DoubleJob, DoublePipeline, DoubleProject, GitLabDouble, StateListener } from '../gitlab-double/index.js';
import { runJob, type EmulatedJob, type Outcome } from '../runner-emulator/emulator.js';
import { GitMirror } from './git-mirror.js';

/** The CI template package repositories include: its jobs are what the runner runs by default. */
export const CI_TEMPLATE = fileURLToPath(new URL('../../infrastructure/ci/quarters-build.gitlab-ci.yml', import.meta.url));

export interface GitLabRunnerOptions {
  gitlab: GitLabDouble;
  /** The custom executor command (protocol verbs are appended), e.g. EXECUTOR. */
  executor: readonly string[];
  /** Added to the executor's environment (QUARTERS_EXECUTOR_CONFIG...). */
  env?: Record<string, string>;
  /** Where the runner keeps the projects' git repositories; the caller removes it. */
  dir: string;
  /** The user ("UID:GID") the executor clones as: it must own the repositories. */
  gitOwner: string;
  /** The CI file whose jobs are run, by job name. */
  ciFile?: string;
  /** Jobs run at once (config.toml `concurrent` and the runner's `limit`); 2 unless given. */
  concurrent?: number;
  /** Variables every job gets, below the pipeline's: the project's CI/CD variables, in effect. */
  variables?: Record<string, string>;
  /** CI_RUNNER_SHORT_TOKEN. */
  shortToken?: string;
  checkIntervalMs?: number;
  /** The job timeout (GitLab's default is 1 h). */
  jobTimeoutMs?: number;
  /**
   * Stops a job as a runner host going down under it would: once the job's trace matches the pattern
   * this gives for it (null: never), the job is aborted (its executor gets SIGTERM, then cleanup runs)
   * and reported failed with runner_system_failure.
   */
  interruptWhen?: (job: RunnerJobRecord) => RegExp | null;
  /** Told of every job once it has finished, with its trace. */
  onJobFinished?: (record: RunnerJobRecord) => void;
}

/** A job the runner ran, with its trace. */
export interface RunnerJobRecord {
  jobId: number;
  jobName: string;
  pipelineId: number;
  projectId: number;
  projectPath: string;
  concurrentId: number;
  concurrentProjectId: number;
  /** The emulator's outcome; null when the job never reached the executor. */
  outcome: Outcome | null;
  /** What the double's job ended as. */
  status: 'running' | 'success' | 'failed' | 'canceled';
  failureReason: string | null;
  /** The job log, growing while the job runs: the runner's own lines and every executor command's output but cleanup's. */
  trace: string;
  cleanupLog: string;
  startedAt: number;
  finishedAt: number | null;
}

export interface GitLabRunner {
  /** Every job picked up so far, in pick-up order (running ones too). */
  readonly jobs: readonly RunnerJobRecord[];
  /** The record of a job of the double. */
  job(jobId: number): RunnerJobRecord | undefined;
  /** The traces of the jobs that did not succeed, for assertion messages. */
  failureReport(): string;
  /** Stops picking up jobs, aborts the running ones (their cleanup runs) and waits for them. */
  stop(): Promise<void>;
}

interface JobDefinition {
  script: string[];
  before_script?: string[];
  after_script?: string[];
  variables?: Record<string, string | number | boolean>;
  artifacts?: { paths?: string[] };
}

const OUTCOME_REASON: Record<Exclude<Outcome, 'success' | 'canceled'>, string> = {
  script_failure: 'script_failure',
  system_failure: 'runner_system_failure',
  unknown_failure: 'unknown_failure',
  timed_out: 'job_execution_timeout',
};

/** Starts the runner loop. */
export function startGitLabRunner(options: GitLabRunnerOptions): GitLabRunner {
  const { gitlab } = options;
  const state = gitlab.state;
  const concurrent = options.concurrent ?? 2;
  const definitions = readJobDefinitions(options.ciFile ?? CI_TEMPLATE);
  const mirror = new GitMirror(options.dir, options.gitOwner);
  const records: RunnerJobRecord[] = [];
  const running = new Map<number, { record: RunnerJobRecord; abort: AbortController; done: Promise<void> }>();
  const artifactDirs: string[] = [];
  let stopped = false;

  const lowestFree = (taken: number[]): number => {
    let slot = 0;
    while (taken.includes(slot)) slot += 1;
    return slot;
  };

  /** Aborts jobs GitLab cancelled, then takes pending jobs while there is room. Synchronous: claims cannot race. */
  const tick = (): void => {
    if (stopped) return;
    for (const { record, abort } of running.values()) {
      if (state.jobs.get(record.jobId)?.status === 'canceled') abort.abort();
    }
    const pending = [...state.jobs.values()].filter((j) => j.status === 'pending' && !j.retried && !running.has(j.id)).sort((a, b) => a.id - b.id);
    for (const job of pending) {
      if (running.size >= concurrent) break;
      const active = [...running.values()].map((r) => r.record);
      const project = state.project(job.projectId);
      const record: RunnerJobRecord = {
        jobId: job.id, jobName: job.name, pipelineId: job.pipelineId, projectId: job.projectId, projectPath: project.pathWithNamespace,
        concurrentId: lowestFree(active.map((r) => r.concurrentId)),
        concurrentProjectId: lowestFree(active.filter((r) => r.projectId === job.projectId).map((r) => r.concurrentProjectId)),
        outcome: null, status: 'running', failureReason: null, trace: '', cleanupLog: '', startedAt: Date.now(), finishedAt: null,
      };
      records.push(record);
      const abort = new AbortController();
      const entry = { record, abort, done: Promise.resolve() };
      running.set(job.id, entry);
      entry.done = execute(job, project, record, abort).finally(() => {
        record.finishedAt ??= Date.now();
        running.delete(job.id);
        options.onJobFinished?.(record);
        tick();
      });
    }
  };

  const execute = async (job: DoubleJob, project: DoubleProject, record: RunnerJobRecord, abort: AbortController): Promise<void> => {
    const cancel = abort.signal;
    const interruptAt = options.interruptWhen?.(record) ?? null;
    const pipeline = state.pipeline(job.pipelineId);
    let token: string;
    try {
      token = await state.startJob(job.id);
    } catch (error) {
      // Taken or cancelled between the look and the start: GitLab would not have handed it out.
      record.trace += `runner: job ${job.id} could not be started: ${(error as Error).message}\n`;
      record.status = state.job(job.id).status === 'canceled' ? 'canceled' : 'failed';
      return;
    }
    let outcome: Outcome | null = null;
    try {
      const definition = definitions.get(job.name);
      if (!definition) throw new Error(`the CI file defines no job "${job.name}" (it has: ${[...definitions.keys()].join(', ')})`);
      const sources = await mirror.publishPipeline(project, pipeline);
      record.trace += `runner: running job ${job.id} (${job.name}) of pipeline ${pipeline.id} at ${pipeline.ref} (${sources.commit.slice(0, 8)}) in slot ${record.concurrentId}/${record.concurrentProjectId}\n`;
      const emulated: EmulatedJob = {
        id: job.id,
        projectId: project.id,
        projectPath: project.pathWithNamespace,
        concurrentId: record.concurrentId,
        concurrentProjectId: record.concurrentProjectId,
        runnerShortToken: options.shortToken ?? 'rigrunr1',
        token,
        variables: {
          ...predefinedVariables(gitlab, project, pipeline, job, token),
          ...stringValues(definition.variables ?? {}),
          ...options.variables,
          ...Object.fromEntries(pipeline.variables.map((v) => [v.key, v.value])),
        },
        repository: sources.repository,
        checkout: sources.ref,
        steps: [{ name: 'script', script: [...(definition.before_script ?? []), ...definition.script] }],
        ...(definition.after_script ? { afterScript: definition.after_script } : {}),
        ...(definition.artifacts?.paths ? { artifactPaths: definition.artifacts.paths } : {}),
      };
      const result = await runJob(emulated, {
        executor: options.executor, env: options.env, cancel,
        onTrace: (text) => {
          record.trace += text;
          if (interruptAt?.test(record.trace) && !cancel.aborted) {
            record.trace += 'runner: the runner host goes down under this job (test fault)\n';
            abort.abort();
          }
        },
        ...(options.jobTimeoutMs ? { jobTimeoutMs: options.jobTimeoutMs } : {}),
      });
      outcome = result.outcome;
      record.cleanupLog = result.cleanupLog;
      if (result.artifactsDir) artifactDirs.push(result.artifactsDir);
    } catch (error) {
      record.trace += `runner: ${(error as Error).message}\n`;
      outcome = 'system_failure';
    }
    record.outcome = outcome;
    // Finished when the job's work ended, before the report to GitLab: the report sets off the next
    // pipeline, whose job may start within the same millisecond.
    record.finishedAt = Date.now();
    const now = state.job(job.id).status;
    if (now !== 'running') {
      // GitLab cancelled (or otherwise finished) it meanwhile: the runner's report would be refused.
      record.status = now === 'canceled' ? 'canceled' : now === 'success' ? 'success' : 'failed';
      return;
    }
    if (outcome === 'success') {
      record.status = 'success';
      await state.finishJob(job.id, 'success');
      return;
    }
    // Canceled here means the runner stopped under the job, not GitLab: a system failure to GitLab.
    record.failureReason = outcome === 'canceled' ? 'runner_system_failure' : OUTCOME_REASON[outcome];
    record.status = 'failed';
    record.trace += `runner: job failed: ${record.failureReason}\n`;
    await state.finishJob(job.id, 'failed', record.failureReason);
  };

  const listener: StateListener = async () => tick();
  state.listeners.push(listener);
  const timer = setInterval(tick, options.checkIntervalMs ?? 1000);
  tick();

  return {
    jobs: records,
    job: (jobId) => records.find((r) => r.jobId === jobId),
    failureReport: () => records
      .filter((r) => r.status !== 'success')
      .map((r) => `--- job ${r.jobId} (${r.projectPath}, pipeline ${r.pipelineId}): ${r.status}${r.failureReason ? ` (${r.failureReason})` : ''}, outcome ${r.outcome ?? 'none'}\n${r.trace}${r.cleanupLog ? `--- its cleanup:\n${r.cleanupLog}` : ''}`)
      .join('\n') || '(no job failed)',
    async stop() {
      stopped = true;
      clearInterval(timer);
      const at = state.listeners.indexOf(listener);
      if (at >= 0) state.listeners.splice(at, 1);
      for (const { abort } of running.values()) abort.abort();
      await Promise.allSettled([...running.values()].map((r) => r.done));
      await Promise.all(artifactDirs.map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** The jobs of a CI file by name (hidden jobs and global keywords left out). */
function readJobDefinitions(file: string): Map<string, JobDefinition> {
  const document = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const keywords = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script']);
  const jobs = new Map<string, JobDefinition>();
  for (const [name, value] of Object.entries(document)) {
    if (keywords.has(name) || name.startsWith('.') || typeof value !== 'object' || value === null || !('script' in value)) continue;
    const job = value as JobDefinition;
    // YAML anchors may nest script lists; GitLab flattens them.
    const flat = (lines: unknown): string[] | undefined => (Array.isArray(lines) ? lines.flat(9).map(String) : typeof lines === 'string' ? [lines] : undefined);
    jobs.set(name, { ...job, script: flat(job.script)!, before_script: flat(job.before_script), after_script: flat(job.after_script) });
  }
  return jobs;
}

/** The predefined variables GitLab gives a job of a pipeline created through the API. */
function predefinedVariables(gitlab: GitLabDouble, project: DoubleProject, pipeline: DoublePipeline, job: DoubleJob, token: string): Record<string, string> {
  const host = new URL(gitlab.url).host;
  const projectUrl = `${gitlab.url}/${project.pathWithNamespace}`;
  return {
    CI_SERVER_URL: gitlab.url,
    CI_SERVER_HOST: host,
    CI_API_V4_URL: gitlab.apiUrl,
    CI_PROJECT_ID: String(project.id),
    CI_PROJECT_NAME: project.name,
    CI_PROJECT_PATH: project.pathWithNamespace,
    CI_PROJECT_NAMESPACE: project.group.fullPath,
    CI_PROJECT_URL: projectUrl,
    CI_DEFAULT_BRANCH: project.defaultBranch,
    CI_REPOSITORY_URL: `${gitlab.url.replace('://', `://gitlab-ci-token:${token}@`)}/${project.pathWithNamespace}.git`,
    CI_PIPELINE_ID: String(pipeline.id),
    CI_PIPELINE_IID: String(pipeline.iid),
    CI_PIPELINE_SOURCE: pipeline.source,
    CI_PIPELINE_URL: `${projectUrl}/-/pipelines/${pipeline.id}`,
    CI_COMMIT_SHA: pipeline.sha,
    CI_COMMIT_SHORT_SHA: pipeline.sha.slice(0, 8),
    CI_COMMIT_BEFORE_SHA: pipeline.beforeSha,
    CI_COMMIT_REF_NAME: pipeline.ref,
    CI_COMMIT_REF_SLUG: pipeline.ref.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 63).replace(/^-|-$/g, ''),
    ...(pipeline.tag ? { CI_COMMIT_TAG: pipeline.ref } : { CI_COMMIT_BRANCH: pipeline.ref }),
    CI_JOB_ID: String(job.id),
    CI_JOB_NAME: job.name,
    CI_JOB_STAGE: job.stage,
    CI_JOB_URL: `${projectUrl}/-/jobs/${job.id}`,
    CI_JOB_TOKEN: token,
    GITLAB_USER_ID: String(pipeline.user.id),
    GITLAB_USER_LOGIN: pipeline.user.username,
    GITLAB_USER_NAME: pipeline.user.name,
    GITLAB_USER_EMAIL: pipeline.user.email,
  };
}

const stringValues = (variables: Record<string, string | number | boolean>): Record<string, string> =>
  Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]));
