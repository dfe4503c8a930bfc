/** Jobs caught mid-build, for the failure paths: prepared, and running a step that sleeps until it is killed. */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stageScript } from '../runner-emulator/emulator.js';
import { EXECUTOR, type ExecutorFixture } from './executor-fixture.js';
import { processesWith, waitFor } from './processes.js';

export interface MidBuildJob {
  jobId: number;
  projectId: number;
  concurrentId: number;
  /** A string only the build's sleeping process has in its command line. */
  marker: string;
  /** Shell lines the build runs (in the build directory) before it sleeps. */
  body?: string[];
  /** True once the build sleeps; by default: its marker process runs here (a VM's processes are not the host's). */
  sleeping?: () => boolean;
}

/** The job's name (workspace, build directory, machine), as the executor derives it from the variables below. */
export function midBuildName(job: MidBuildJob): string {
  return `q-emulatr1-p${job.projectId}-c${job.concurrentId}-j${job.jobId}`;
}

/** The variables GitLab Runner gives every command of the job. */
export function midBuildEnv(fx: ExecutorFixture, job: MidBuildJob): Record<string, string> {
  return {
    ...fx.env,
    BUILD_FAILURE_EXIT_CODE: '1',
    SYSTEM_FAILURE_EXIT_CODE: '2',
    CUSTOM_ENV_CI_JOB_ID: String(job.jobId),
    CUSTOM_ENV_CI_PROJECT_ID: String(job.projectId),
    CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: String(job.concurrentId),
    CUSTOM_ENV_CI_RUNNER_SHORT_TOKEN: 'emulatr1',
  };
}

/** Writes the job's step_script (in the build directory: touch `started`, the body, then sleep with the marker); returns its path. */
export async function writeMidBuildScript(fx: ExecutorFixture, job: MidBuildJob): Promise<string> {
  const scripts = join(fx.dir, `mid-build-${job.jobId}`);
  await mkdir(scripts, { recursive: true });
  const script = join(scripts, 'script.');
  const buildsDir = join(fx.workDir, 'builds', midBuildName(job));
  await writeFile(script, stageScript({ CI_PROJECT_DIR: buildsDir }, ['cd "$CI_PROJECT_DIR"', 'touch started', ...(job.body ?? []), `sh -c 'sleep 600; : ${job.marker}'`]), { mode: 0o700 });
  return script;
}

/**
 * Starts prepare + run of the job under a stand-in runner (sh), waits until the build sleeps, and
 * kills the executor and its runner with SIGKILL; returns the job's name.
 */
export async function crashMidBuild(fx: ExecutorFixture, job: MidBuildJob, timeoutMs = 60_000): Promise<string> {
  const script = await writeMidBuildScript(fx, job);
  const runner = execa('sh', ['-c', `"$@" prepare && "$@" run ${script} step_script`, 'runner', ...EXECUTOR], { env: midBuildEnv(fx, job), reject: false, detached: true, stdio: 'ignore' });
  if (!(await waitFor(job.sleeping ?? (() => processesWith(job.marker).length > 0), timeoutMs))) {
    runner.kill('SIGKILL');
    throw new Error(`job ${midBuildName(job)}: the build did not start within ${timeoutMs} ms`);
  }
  const executor = processesWith(`run ${script} step_script`).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node');
  if (executor.length !== 1) throw new Error(`job ${midBuildName(job)}: expected one executor process running the step, found ${executor.length}`);
  process.kill(executor[0]!, 'SIGKILL');
  process.kill(runner.pid!, 'SIGKILL');
  await runner;
  return midBuildName(job);
}
