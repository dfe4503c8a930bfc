/**
 * A stand-in for GitLab Runner driving a custom executor, following the custom executor
 * documentation (docs/executors/custom.md) and the runner's own sequence (common/build.go,
 * executors/custom/):
 *
 * - every command gets the host environment, the job's variables as CUSTOM_ENV_*,
 *   BUILD_FAILURE_EXIT_CODE=1, SYSTEM_FAILURE_EXIT_CODE=2, TMPDIR (a per-job temporary
 *   directory, also where stage scripts are written) and JOB_RESPONSE_FILE (the job's API
 *   response: id, token, job_info with the project id, GitLab's predefined variables followed by
 *   the job's own, never the runner's); a job's variables override GitLab's and the runner's in
 *   CUSTOM_ENV_*, as in the runner; `config`'s job_env is added to every later command;
 * - `config` (stdout parsed as JSON; builds_dir/cache_dir/builds_dir_is_shared applied) and
 *   `prepare` form the preparation, retried up to 3 times on any failure but a build failure,
 *   with `cleanup` after each failed attempt;
 * - `run SCRIPT STAGE` for prepare_script, get_sources, restore_cache, download_artifacts, the
 *   steps (step_script, or build_script as older runners name it), after_script (always once the
 *   steps were reached, with CI_JOB_STATUS), archive_cache or archive_cache_on_failure,
 *   upload_artifacts_on_success or upload_artifacts_on_failure, cleanup_file_variables; stages
 *   with nothing to do are skipped, as the runner's SkipNoOpBuildStages does;
 * - exit code 1 is a build failure, 2 a system failure, anything else an unknown failure;
 * - cancel or timeout: SIGTERM to the command's process group, SIGKILL after the graceful kill
 *   timeout, abandoned after the force kill timeout; the remaining stages are skipped;
 * - `cleanup` always runs last.
 *
 * Simplifications: the scripts are small bash scripts in the runner's shape (`: | eval $'...'`
 * with the variables exported), not the runner's full generated shell; get_sources clones with
 * plain git from a local repository (and, given `checkout`, fetches that ref and checks it out, as
 * the runner fetches refs/pipelines/ID and checks out the pipeline's commit); cache and artifact stages are shell stand-ins for the
 * gitlab-runner helper (tar into the cache directory); commands run in a new session (setsid)
 * rather than only a new process group; retry intervals are configurable (3 s in the runner).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EmulatedJob {
  id: number;
  projectId: number;
  projectPath?: string;
  /** CI_CONCURRENT_ID: the job's slot among all the runner's running jobs. */
  concurrentId?: number;
  /** CI_CONCURRENT_PROJECT_ID: its slot among the runner's running jobs of the same project; defaults to concurrentId. */
  concurrentProjectId?: number;
  runnerShortToken?: string;
  token?: string;
  /** Job variables (from .gitlab-ci.yml and the pipeline): exported in every script and passed as CUSTOM_ENV_*. */
  variables?: Record<string, string>;
  /** A local git repository get_sources clones; absent: get_sources only creates the project directory. */
  repository?: string;
  /** A ref of `repository` (e.g. refs/pipelines/ID) that get_sources fetches and checks out; absent: the clone's HEAD. */
  checkout?: string;
  /** The job's `script` lines; each step is its own stage (step_script, step_release...). */
  steps: { name: string; script: string[] }[];
  afterScript?: string[];
  /** Paths cached between jobs (relative to the project directory). */
  cachePaths?: string[];
  /** Paths uploaded as artifacts (the emulator copies them next to the job's temporary directory). */
  artifactPaths?: string[];
}

export interface EmulatorOptions {
  /** The executor command, e.g. ['node', 'dist/executor/quarters-executor.cjs']; protocol verbs are appended. */
  executor: readonly string[];
  env?: Record<string, string>;
  /** build_script is the pre-14.0 name of step_script. */
  buildStageName?: 'step_script' | 'build_script';
  gracefulKillTimeoutMs?: number;
  forceKillTimeoutMs?: number;
  prepareRetryIntervalMs?: number;
  jobTimeoutMs?: number;
  /** Aborting cancels the job (as pressing Cancel in GitLab). */
  cancel?: AbortSignal;
  /** Told of the job log as it grows (the runner's live trace); the whole log is in the result too. */
  onTrace?: (text: string) => void;
  /** Called when a command starts; `pid` leads its process group. */
  onCommand?: (verb: string, stage: string | null, pid: number) => void;
}

export type Outcome = 'success' | 'script_failure' | 'system_failure' | 'unknown_failure' | 'canceled' | 'timed_out';

export interface CommandRecord {
  verb: string;
  stage: string | null;
  exitCode: number | null;
  signal: string | null;
}

export interface EmulatorResult {
  outcome: Outcome;
  commands: CommandRecord[];
  /** The job log: what the runner would send to GitLab (stdout and stderr of every command but cleanup). */
  trace: string;
  /** cleanup's stdout and stderr (the runner logs them; they never reach the job log). */
  cleanupLog: string;
  config: Record<string, unknown> | null;
  projectDir: string | null;
  /** Where upload_artifacts put the job's artifacts (the caller removes it); null when the job has none. */
  artifactsDir: string | null;
}

const BUILD_FAILURE = 1;
const SYSTEM_FAILURE = 2;

/** $'...' quoting, as the runner's bash shell writer uses. */
export function ansiQuote(text: string): string {
  return `$'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;
}

/** A stage script in the runner's shape: strict bash, the body evaluated with every variable exported. */
export function stageScript(variables: Record<string, string>, body: string[]): string {
  const lines = [...Object.entries(variables).map(([k, v]) => `export ${k}=${ansiQuote(v)}`), ...body];
  return ['#!/usr/bin/env bash', '', 'set -eo pipefail', 'set +o noclobber', `: | eval ${ansiQuote(`${lines.join('\n')}\n`)}`, 'exit 0', ''].join('\n');
}

class StageError extends Error {
  constructor(
    readonly kind: 'build' | 'system' | 'unknown' | 'canceled' | 'timed_out',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where upload_artifacts puts artifacts, one directory per job: the stand-in for GitLab's artifact
 * storage, so an executor that isolates host stages must show it to them (host_stages.paths).
 */
export const EMULATOR_ARTIFACTS_ROOT = join(tmpdir(), 'custom-executor-artifacts');

/** Runs one job through the executor the way GitLab Runner does; never throws for job failures. */
export async function runJob(job: EmulatedJob, options: EmulatorOptions): Promise<EmulatorResult> {
  const tempDir = await mkdtemp(join(tmpdir(), 'custom-executor'));
  // Outlives the job, like artifacts on GitLab; the caller removes it. Writable by the host user that uploads.
  if (job.artifactPaths?.length) await mkdir(EMULATOR_ARTIFACTS_ROOT, { recursive: true, mode: 0o755 });
  const artifactsDir = job.artifactPaths?.length ? await mkdtemp(join(EMULATOR_ARTIFACTS_ROOT, 'job-')) : null;
  if (artifactsDir) await chmod(artifactsDir, 0o777);
  const commands: CommandRecord[] = [];
  let trace = '';
  const appendTrace = (text: string): void => {
    trace += text;
    options.onTrace?.(text);
  };
  let cleanupLog = '';
  let jobEnv: Record<string, string> = {};
  const token = job.token ?? `glcbt-${job.id}-secret-job-token`;
  const projectPath = job.projectPath ?? `group/project-${job.projectId}`;
  const timeout = options.jobTimeoutMs ? AbortSignal.timeout(options.jobTimeoutMs) : null;
  const stop = AbortSignal.any([options.cancel ?? new AbortController().signal, ...(timeout ? [timeout] : [])]);
  const stopKind = (): 'canceled' | 'timed_out' => (timeout?.aborted ? 'timed_out' : 'canceled');

  // GitLab's predefined variables, in the job response.
  const predefined: Record<string, string> = {
    CI: 'true',
    GITLAB_CI: 'true',
    CI_JOB_ID: String(job.id),
    CI_JOB_TOKEN: token,
    CI_PROJECT_ID: String(job.projectId),
    CI_PROJECT_PATH: projectPath,
    CI_SERVER_URL: 'https://gitlab.example.org',
    CI_REPOSITORY_URL: `https://gitlab-ci-token:${token}@gitlab.example.org/${projectPath}.git`,
    CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
  };
  // The runner's own (build.go GetDefaultVariables, the runner config's): never in the job response.
  const runnerSet: Record<string, string> = {
    CI_CONCURRENT_ID: String(job.concurrentId ?? 0),
    CI_CONCURRENT_PROJECT_ID: String(job.concurrentProjectId ?? job.concurrentId ?? 0),
    CI_RUNNER_SHORT_TOKEN: job.runnerShortToken ?? 'emulatr1',
  };
  // As the runner's GetAllVariables: the job's variables come last and win, over GitLab's and the runner's alike.
  const variables: Record<string, string> = { ...runnerSet, ...predefined, ...job.variables };
  const responseFile = join(tempDir, 'job-response.json');
  // The job's API response as the runner writes it: a variable the job sets follows GitLab's own of the same name.
  const responseVariables = [...Object.entries(predefined), ...Object.entries(job.variables ?? {})].map(([key, value]) => ({ key, value, public: true, masked: key === 'CI_JOB_TOKEN' }));
  await writeFile(responseFile, JSON.stringify({ id: job.id, token, job_info: { id: job.id, name: 'build', stage: 'build', project_id: job.projectId, project_name: projectPath.split('/').pop() }, git_info: { repo_url: `https://gitlab-ci-token:${token}@gitlab.example.org/${projectPath}.git` }, variables: responseVariables }));

  const commandEnv = (): NodeJS.ProcessEnv => ({
    ...process.env,
    ...options.env,
    TMPDIR: tempDir,
    BUILD_FAILURE_EXIT_CODE: String(BUILD_FAILURE),
    SYSTEM_FAILURE_EXIT_CODE: String(SYSTEM_FAILURE),
    JOB_RESPONSE_FILE: responseFile,
    ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [`CUSTOM_ENV_${k}`, v])),
    ...jobEnv,
  });

  /** Runs one executor command in its own process group, with the runner's kill sequence on stop. */
  const exec = (verb: string, args: string[], stage: string | null, sink: 'trace' | 'cleanup' | 'stdout', honourStop = true): Promise<{ code: number | null; signal: string | null; stdout: string }> =>
    new Promise((resolve, reject) => {
      const [program, ...base] = options.executor;
      const child = spawn(program!, [...base, verb, ...args], { env: commandEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => {
        if (sink === 'stdout') stdout += c.toString();
        else if (sink === 'trace') appendTrace(c.toString());
        else cleanupLog += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        if (sink === 'cleanup') cleanupLog += c.toString();
        else appendTrace(c.toString());
      });
      if (child.pid !== undefined) options.onCommand?.(verb, stage, child.pid);
      let graceful: NodeJS.Timeout | undefined;
      let force: NodeJS.Timeout | undefined;
      const kill = (): void => {
        const pgid = child.pid!;
        try {
          process.kill(-pgid, 'SIGTERM');
        } catch {
          return;
        }
        graceful = setTimeout(() => {
          try {
            process.kill(-pgid, 'SIGKILL');
          } catch {
            // already gone
          }
          force = setTimeout(() => resolve({ code: null, signal: 'abandoned', stdout }), options.forceKillTimeoutMs ?? 10_000);
        }, options.gracefulKillTimeoutMs ?? 10_000);
      };
      if (honourStop) {
        if (stop.aborted) kill();
        else stop.addEventListener('abort', kill, { once: true });
      }
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(graceful);
        clearTimeout(force);
        stop.removeEventListener('abort', kill);
        commands.push({ verb, stage, exitCode: code, signal });
        resolve({ code, signal, stdout });
      });
    });

  const classify = (code: number | null, what: string): StageError | null => {
    if (stop.aborted) return new StageError(stopKind(), `${what}: job ${stopKind()}`);
    if (code === 0) return null;
    if (code === BUILD_FAILURE) return new StageError('build', `${what} failed`);
    if (code === SYSTEM_FAILURE) return new StageError('system', `${what}: system failure`);
    return new StageError('unknown', `${what}: unknown failure (exit ${code})`);
  };

  let config: Record<string, unknown> | null = null;
  let projectDir: string | null = null;
  let scriptCount = 0;
  const runStage = async (stage: string, body: string[], extra: Record<string, string> = {}): Promise<void> => {
    if (stop.aborted) throw new StageError(stopKind(), `${stage}: job ${stopKind()}`);
    const dir = join(tempDir, `script${scriptCount++}`);
    await mkdir(dir, { mode: 0o700 });
    const file = join(dir, 'script.');
    await writeFile(file, stageScript({ ...variables, ...extra }, body), { mode: 0o700 });
    const { code } = await exec('run', [file, stage], stage, 'trace');
    const error = classify(code, stage);
    if (error) throw error;
  };

  let outcome: Outcome = 'success';
  let prepared = false;
  for (let attempt = 0; attempt < 3 && !prepared; attempt++) {
    const { code: configCode, stdout } = await exec('config', [], null, 'stdout');
    let error = classify(configCode, 'config');
    if (!error && stdout.trim()) {
      try {
        config = JSON.parse(stdout) as Record<string, unknown>;
        jobEnv = (config.job_env as Record<string, string> | undefined) ?? {};
      } catch (parseError) {
        error = new StageError('system', `config: error while parsing JSON output: ${(parseError as Error).message}`);
      }
    }
    if (!error) {
      const buildsDir = String(config?.builds_dir ?? '/builds');
      projectDir = config?.builds_dir_is_shared ? join(buildsDir, String(job.runnerShortToken ?? 'emulatr1'), String(job.concurrentProjectId ?? job.concurrentId ?? 0), projectPath) : join(buildsDir, projectPath);
      // As the runner's StartBuild: from here on (prepare, run, cleanup) the job's directories are job variables too.
      variables.CI_BUILDS_DIR = buildsDir;
      variables.CI_PROJECT_DIR = projectDir;
      const { code } = await exec('prepare', [], null, 'trace');
      error = classify(code, 'prepare');
    }
    if (!error) {
      prepared = true;
      break;
    }
    appendTrace(`emulator: ${error.message}\n`);
    if (error.kind === 'build' || error.kind === 'canceled' || error.kind === 'timed_out' || attempt === 2) {
      outcome = error.kind === 'build' ? 'script_failure' : error.kind === 'system' ? 'system_failure' : error.kind === 'unknown' ? 'unknown_failure' : error.kind;
      break;
    }
    await exec('cleanup', [], null, 'cleanup', false);
    await new Promise((resolve) => setTimeout(resolve, options.prepareRetryIntervalMs ?? 100));
  }

  if (prepared) {
    const toOutcome = (error: unknown): Outcome => {
      if (!(error instanceof StageError)) throw error;
      appendTrace(`emulator: ${error.message}\n`);
      return ({ build: 'script_failure', system: 'system_failure', unknown: 'unknown_failure', canceled: 'canceled', timed_out: 'timed_out' } as const)[error.kind];
    };
    const cache = job.cachePaths ?? [];
    const artifacts = job.artifactPaths ?? [];
    const cacheFile = join(String(config?.cache_dir ?? '/cache'), projectPath, 'cache.tar');
    let stepsError: Outcome | null = null;
    try {
      await runStage('prepare_script', ['echo "Running on $(hostname) via the quarters runner emulator..."']);
      const checkout = job.checkout === undefined ? [] : [`git fetch -q origin ${ansiQuote(`+${job.checkout}:${job.checkout}`)}`, `git checkout -q -f ${ansiQuote(job.checkout)}`];
      await runStage('get_sources', job.repository
        // As the runner, the remote keeps the token-bearing CI_REPOSITORY_URL.
        ? ['rm -rf "$CI_PROJECT_DIR"', `git clone -q ${job.checkout === undefined ? '' : '--no-checkout '}${job.repository} "$CI_PROJECT_DIR"`, 'cd "$CI_PROJECT_DIR"', ...checkout, 'git remote set-url origin "$CI_REPOSITORY_URL"', 'mkdir -p "$CI_PROJECT_DIR.tmp" && echo "$CI_JOB_TOKEN" > "$CI_PROJECT_DIR.tmp/CREDENTIALS"', 'echo "Checked out $(git rev-parse --short HEAD)"']
        : ['mkdir -p "$CI_PROJECT_DIR"']);
      if (cache.length) await runStage('restore_cache', ['cd "$CI_PROJECT_DIR"', `if [ -f ${ansiQuote(cacheFile)} ]; then tar -xf ${ansiQuote(cacheFile)}; echo "Successfully extracted cache"; fi`]);
      try {
        for (const step of job.steps) {
          const stage = step.name === 'script' ? (options.buildStageName ?? 'step_script') : `step_${step.name}`;
          await runStage(stage, ['cd "$CI_PROJECT_DIR"', ...step.script.flatMap((line) => [`echo ${ansiQuote(`$ ${line}`)}`, line])]);
        }
      } catch (error) {
        stepsError = toOutcome(error);
      }
      if (job.afterScript?.length && stepsError !== 'canceled' && stepsError !== 'timed_out') {
        await runStage('after_script', ['cd "$CI_PROJECT_DIR"', ...job.afterScript], { CI_JOB_STATUS: stepsError ? 'failed' : 'success' }).catch(() => undefined);
      }
      if (stepsError !== 'canceled' && stepsError !== 'timed_out') {
        if (cache.length) await runStage(stepsError ? 'archive_cache_on_failure' : 'archive_cache', ['cd "$CI_PROJECT_DIR"', `mkdir -p "$(dirname ${ansiQuote(cacheFile)})"`, `tar -cf ${ansiQuote(cacheFile)} ${cache.map(ansiQuote).join(' ')}`]).catch(() => undefined);
        if (artifacts.length) await runStage(stepsError ? 'upload_artifacts_on_failure' : 'upload_artifacts_on_success', ['cd "$CI_PROJECT_DIR"', `cp -r ${artifacts.map(ansiQuote).join(' ')} "$QUARTERS_EMULATOR_ARTIFACTS/"`], { QUARTERS_EMULATOR_ARTIFACTS: artifactsDir! });
        await runStage('cleanup_file_variables', ['rm -rf "${CI_PROJECT_DIR}.tmp"']).catch(() => undefined);
      }
      outcome = stepsError ?? 'success';
    } catch (error) {
      outcome = stepsError ?? toOutcome(error);
    }
  }

  await exec('cleanup', [], null, 'cleanup', false);
  await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
  return { outcome, commands, trace, cleanupLog, config, projectDir, artifactsDir };
}
