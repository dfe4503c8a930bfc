/** A job whose executor and runner die with SIGKILL mid-build, to show what the next prepare or `cleanup --stale` reclaims. */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stageScript } from '../runner-emulator/emulator.js';
import { EXECUTOR, type ExecutorFixture } from './executor-fixture.js';
import { processesWith } from './processes.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 100 ms until it holds or `timeoutMs` passed; its last answer. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(100);
  }
  return condition();
}

/**
 * Starts prepare + run of one job under a stand-in runner (sh), its build running `body` in the
 * build directory and then a sleep carrying `marker`; kills executor and runner with SIGKILL once
 * the sleep runs. Returns the job's name.
 */
export async function crashMidBuild(fx: ExecutorFixture, jobId: number, concurrentId: number, marker: string, body: string[] = []): Promise<string> {
  const name = `q-emulatr1-p6-c${concurrentId}-j${jobId}`;
  const scripts = join(fx.dir, `crash-${jobId}`);
  await mkdir(scripts, { recursive: true });
  const buildsDir = join(fx.workDir, 'builds', name);
  const script = join(scripts, 'script.');
  await writeFile(script, stageScript({ CI_PROJECT_DIR: buildsDir }, ['cd "$CI_PROJECT_DIR"', 'touch started', ...body, `sh -c 'sleep 600; : ${marker}'`]), { mode: 0o700 });
  const env = {
    ...fx.env,
    CUSTOM_ENV_CI_JOB_ID: String(jobId),
    CUSTOM_ENV_CI_PROJECT_ID: '6',
    CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: String(concurrentId),
    CUSTOM_ENV_CI_RUNNER_SHORT_TOKEN: 'emulatr1',
  };
  const runner = execa('sh', ['-c', `"$@" prepare && "$@" run ${script} step_script`, 'runner', ...EXECUTOR], { env, reject: false, detached: true, stdio: 'ignore' });
  if (!(await waitFor(() => processesWith(marker).length > 0, 60_000))) throw new Error(`the build of job ${jobId} never reached its sleep`);
  const executor = processesWith(`run ${script} step_script`).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node');
  if (executor.length !== 1) throw new Error(`expected one executor process for job ${jobId}, found ${executor.length}`);
  process.kill(executor[0]!, 'SIGKILL');
  process.kill(runner.pid!, 'SIGKILL');
  await runner;
  return name;
}
