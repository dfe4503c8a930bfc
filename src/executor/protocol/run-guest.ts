/** The guest stages of `quarters-executor run` (run.ts), and what a build stage does after: loaded only for them, with the backend. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskUsage } from '../disk-usage.js';
import { BuildFailure, SystemFailure } from '../failure.js';
import { credentialValues, maskCredentials } from '../guest-script.js';
import { writeNewFile } from '../no-follow.js';
import type { JobSession } from '../session.js';
import { formatBytes } from '../usage.js';
import type { ResourceUsage, WorkspaceState } from '../workspace.js';
import { uploadOutputs } from '../upload.js';
import { reportResourceUsage } from '../usage-report.js';
import { guestEnv, guestProjectDir, jobEnvironment, projectBindSource } from './guest.js';
import { stageProjectDir, unstageProjectDir } from '../project-bind.js';
import { isBuildStage } from './stages.js';

const GUEST_SCRIPT = '/run/quarters/stage-script';
// Runner scripts are bash; a base without bash still runs POSIX ones.
const RUN_SCRIPT = 'if command -v bash >/dev/null 2>&1; then exec bash "$1"; else exec sh "$1"; fi';

/** Runs a guest stage in the job's environment; `onPeak` gets the peak memory of each command it ran. */
export async function runInGuest(session: JobSession, state: WorkspaceState, script: string, stage: string, signal: AbortSignal, onPeak: (bytes: number | null) => void): Promise<void> {
  const copy = join(session.layout.workspaces, state.name, 'scripts', `${stage}.guest.sh`);
  await writeNewFile(copy, maskCredentials(await readFile(script, 'utf8'), credentialValues(session.env)), 0o600);
  const bindSource = projectBindSource(session, state);
  await stageProjectDir(state.buildsDir, guestProjectDir(session, state), state.hostUser, bindSource);
  try {
    await runStagedInGuest(session, state, copy, stage, signal, onPeak);
  } finally {
    await unstageProjectDir(bindSource);
  }
}

async function runStagedInGuest(session: JobSession, state: WorkspaceState, copy: string, stage: string, signal: AbortSignal, onPeak: (bytes: number | null) => void): Promise<void> {
  const environment = jobEnvironment(session, state);
  const env = guestEnv(session, state);
  const network = isBuildStage(stage) ? session.config.network.build : session.config.network.other_stages;
  const timeoutMinutes = session.config.limits.build_timeout_minutes;
  const stop = timeoutMinutes > 0 ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMinutes * 60_000)]) : signal;
  const fetch = session.config.network.fetch_command;
  if (isBuildStage(stage) && fetch.length > 0 && !(await alreadyFetched(session, state))) {
    session.log(`quarters: fetching sources with network: ${fetch.join(' ')}`);
    const fetched = await environment.exec({ command: fetch, cwd: guestProjectDir(session, state), env, network: true, signal: stop, stdout: 'inherit', stderr: 'inherit', log: session.log });
    onPeak(fetched.peakMemoryBytes);
    checkGuestResult(fetched, 'fetching sources', stop, timeoutMinutes);
    await writeFile(join(session.layout.workspaces, state.name, 'fetched'), '');
  }
  const result = await environment.exec({
    command: ['/bin/sh', '-c', RUN_SCRIPT, 'quarters-stage', GUEST_SCRIPT],
    cwd: guestProjectDir(session, state),
    env,
    network,
    binds: [{ host: copy, guest: GUEST_SCRIPT, readOnly: true }],
    signal: stop,
    stdout: 'inherit',
    stderr: 'inherit',
    log: session.log,
  });
  onPeak(result.peakMemoryBytes);
  checkGuestResult(result, `stage ${stage}`, stop, timeoutMinutes);
}

async function alreadyFetched(session: JobSession, state: WorkspaceState): Promise<boolean> {
  return (await readdir(join(session.layout.workspaces, state.name))).includes('fetched');
}

function checkGuestResult(result: { exitCode: number | null; detail: string }, what: string, stop: AbortSignal, timeoutMinutes: number): void {
  if (stop.aborted) {
    const reason = stop.reason instanceof DOMException && stop.reason.name === 'TimeoutError' ? `ran over the build timeout of ${timeoutMinutes} min` : 'was stopped';
    throw new BuildFailure(`${what} ${reason}`);
  }
  if (result.exitCode === null) throw new SystemFailure(`${what}: ${result.detail}`);
  if (result.exitCode !== 0) throw new BuildFailure(`${what} failed with exit code ${result.exitCode}`);
}

/** What the job's environment and output take on disk, after a build stage. */
export async function buildDiskBytes(session: JobSession, state: WorkspaceState): Promise<number> {
  return (await jobEnvironment(session, state).diskUsage()) + (await diskUsage(state.outputDir));
}

/** After a build stage: its resource usage to the job log and the server; on success, its outputs uploaded. */
export async function finishBuild(session: JobSession, state: WorkspaceState, usage: ResourceUsage, succeeded: boolean, signal: AbortSignal): Promise<void> {
  session.log(`quarters: resource usage: wall ${usage.wallSeconds.toFixed(1)} s, CPU ${usage.cpuSeconds.toFixed(1)} s, peak memory ${usage.peakMemoryBytes === null ? 'not measured' : formatBytes(usage.peakMemoryBytes)}, disk ${formatBytes(usage.diskBytes)}`);
  // Failed builds too, and now: the job token stops working when the job ends.
  await reportResourceUsage(session, usage);
  if (succeeded) await uploadOutputs(session, state, usage, signal);
}
