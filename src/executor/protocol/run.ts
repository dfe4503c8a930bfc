/** `quarters-executor run SCRIPT STAGE`: one stage of the job, on the host or in the guest, mapped to the protocol's exit codes. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describeEnd } from '../../common/child-process.js';
import { diskUsage } from '../disk-usage.js';
import { BuildFailure, SystemFailure } from '../failure.js';
import { credentialValues, maskCredentials } from '../guest-script.js';
import { runHostStage } from '../host-stage.js';
import { diskLimitReached, isFull, watchJobDisk } from '../job-disk.js';
import { openDirBelow, openOwnedFile, writeNewFile } from '../no-follow.js';
import { identify } from '../process-identity.js';
import type { JobSession } from '../session.js';
import { childrenCpuSeconds, formatBytes } from '../usage.js';
import { readState, writeState, type ResourceUsage, type WorkspaceState } from '../workspace.js';
import { uploadOutputs } from '../upload.js';
import { reportResourceUsage } from '../usage-report.js';
import { guestEnv, guestProjectDir, jobEnvironment, projectBindSource } from './guest.js';
import { stageProjectDir, unstageProjectDir } from '../project-bind.js';
import { projectCacheView } from '../project-cache.js';
import { isBuildStage, stageLocation } from './stages.js';

const GUEST_SCRIPT = '/run/quarters/stage-script';
// Runner scripts are bash; a base without bash still runs POSIX ones.
const RUN_SCRIPT = 'if command -v bash >/dev/null 2>&1; then exec bash "$1"; else exec sh "$1"; fi';

/** Runs one stage; resolves on success, throws BuildFailure or SystemFailure otherwise. */
export async function runStage(session: JobSession, script: string, stage: string, signal: AbortSignal): Promise<void> {
  const state = await readState(session.layout, session.job.name);
  if (!state) throw new SystemFailure(`no prepared environment for job ${session.job.name} (prepare did not finish, or cleanup already ran)`);
  await writeState(session.layout, { ...state, active: identify(process.pid) });
  const started = Date.now();
  const cpuBefore = childrenCpuSeconds();
  let failure: unknown = null;
  const peaks: (number | null)[] = [state.usage.peakMemoryBytes];
  const disk = state.mount.disk;
  const diskWatch = disk ? await watchJobDisk(state.mount.mountPoint) : null;
  try {
    if (stageLocation(stage) === 'host') {
      await runOnHost(session, state, script, stage, signal);
      if (stage === 'get_sources') await scrubGitCredentials(session, state);
    }
    else await runInGuest(session, state, script, stage, signal, (peak) => peaks.push(peak));
  } catch (error) {
    failure = error;
  }
  const space = await diskWatch?.stop();
  if (disk && space && isFull(space.least)) {
    // Whatever failed on a full disk most likely failed for want of space: the job's doing, said plainly.
    if (failure) failure = new BuildFailure(`${failure instanceof Error ? failure.message : String(failure)}; ${diskLimitReached(disk.sizeMib, space.least)}`);
    else if (!isFull(space.atStart)) session.log(`quarters: warning: stage ${stage} succeeded, but it filled the job's disk (limits.disk_mib = ${disk.sizeMib}): a write may have failed unnoticed`);
  }
  const known = peaks.filter((p): p is number => p !== null);
  const usage: ResourceUsage = {
    ...state.usage,
    peakMemoryBytes: known.length ? Math.max(...known) : null,
    wallSeconds: state.usage.wallSeconds + (Date.now() - started) / 1000,
    cpuSeconds: state.usage.cpuSeconds + (childrenCpuSeconds() - cpuBefore),
  };
  if (stageLocation(stage) === 'guest' && isBuildStage(stage)) {
    usage.diskBytes = (await jobEnvironment(session, state).diskUsage()) + (await diskUsage(state.outputDir));
  }
  await writeState(session.layout, { ...state, active: null, usage });
  if (isBuildStage(stage)) {
    session.log(`quarters: resource usage: wall ${usage.wallSeconds.toFixed(1)} s, CPU ${usage.cpuSeconds.toFixed(1)} s, peak memory ${usage.peakMemoryBytes === null ? 'not measured' : formatBytes(usage.peakMemoryBytes)}, disk ${formatBytes(usage.diskBytes)}`);
    // Failed builds too, and now: the job token stops working when the job ends.
    await reportResourceUsage(session, usage);
  }
  if (failure) throw failure;
  if (isBuildStage(stage)) await uploadOutputs(session, state, usage, signal);
}

async function runOnHost(session: JobSession, state: WorkspaceState, script: string, stage: string, signal: AbortSignal): Promise<void> {
  // The runner wrote the script readable by root only; the host user gets its own copy.
  const copy = join(session.layout.workspaces, state.name, 'scripts', `${stage}.host.sh`);
  await writeNewFile(copy, await readFile(script), 0o400, state.hostUser);
  const home = join(session.layout.workspaces, state.name, 'home');
  const { layout, config } = session;
  const result = await runHostStage({
    name: `${state.name}-host`,
    user: state.hostUser,
    // Of cache_dir, only the project's own caches, where the runner looks for them.
    view: { visible: [state.buildsDir, ...projectCacheView(layout.cache, session.job.projectId, session.job.projectSlug), home, ...config.host_stages.paths], hidden: [layout.workDir, layout.builds, layout.cache], scratchMib: config.limits.tmpfs_mib },
    script: copy,
    sandboxDir: layout.stageSandbox,
    cwd: state.buildsDir,
    env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' },
    limits: { memoryMib: config.limits.memory_mib, cpus: config.limits.cpus, pids: config.limits.pids },
    signal,
    log: session.log,
  });
  if (result.canceled) throw new BuildFailure(`stage ${stage} was stopped`);
  if (result.startError) throw new SystemFailure(`cannot run stage ${stage} on the host: ${describeEnd(result)}`);
  if (result.exitCode !== 0) throw new BuildFailure(result.exitCode === null ? `stage ${stage} failed: bash ${describeEnd(result)}` : `stage ${stage} failed with exit code ${result.exitCode}`);
}

/** The runner leaves the job token in the clone's remote URL; the guest shares the clone, so it goes. Root opens nothing there through a link. */
async function scrubGitCredentials(session: JobSession, state: WorkspaceState): Promise<void> {
  const project = guestProjectDir(session, state);
  const parts = [...relative(state.buildsDir, project).split(sep).filter(Boolean), '.git'];
  const shownAs = join(project, '.git', 'config');
  let dir;
  try {
    dir = await openDirBelow(state.buildsDir, parts, state.hostUser);
  } catch (error) {
    // No clone (a job without sources) has nothing to scrub.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const config = await openOwnedFile(dir, 'config', state.hostUser, shownAs);
    if (!config) return;
    try {
      const text = await config.readFile('utf8');
      const scrubbed = maskCredentials(text, credentialValues(session.env));
      if (scrubbed === text) return;
      await config.truncate(0);
      await config.write(scrubbed, 0, 'utf8');
    } finally {
      await config.close();
    }
  } finally {
    await dir.close();
  }
}

async function runInGuest(session: JobSession, state: WorkspaceState, script: string, stage: string, signal: AbortSignal, onPeak: (bytes: number | null) => void): Promise<void> {
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
