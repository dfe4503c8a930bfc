/** `quarters-executor run SCRIPT STAGE`: one stage of the job, on the host or in the guest, mapped to the protocol's exit codes. */
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describeEnd } from '../../common/child-process.js';
import { BuildFailure, SystemFailure } from '../failure.js';
import { credentialValues, maskCredentials } from '../guest-script.js';
import { runHostStage } from '../host-stage.js';
import { diskLimitReached, isFull, watchJobDisk } from '../job-disk.js';
import { openDirBelow, openOwnedFile, writeNewFileSync } from '../no-follow.js';
import { identify } from '../process-identity.js';
import { withBackend, type JobContext } from '../session.js';
import { childrenCpuSeconds } from '../usage.js';
import { readState, writeState, type ResourceUsage, type WorkspaceState } from '../workspace.js';
import { guestProjectDir } from './guest.js';
import { projectCacheView } from '../project-cache.js';
import { isBuildStage, stageLocation } from './stages.js';

// A host stage (half of a job's stages) loads neither the backend nor the guest's modules (run-guest.ts): each start is per-stage overhead.

/** Runs one stage; resolves on success, throws BuildFailure or SystemFailure otherwise. */
export async function runStage(session: JobContext, script: string, stage: string, signal: AbortSignal): Promise<void> {
  const state = await readState(session.layout, session.job.name);
  if (!state) throw new SystemFailure(`no prepared environment for job ${session.job.name} (prepare did not finish, or cleanup already ran)`);
  const guest = stageLocation(stage) === 'guest' ? { module: await import('./run-guest.js'), session: await withBackend(session) } : null;
  await writeState(session.layout, { ...state, active: identify(process.pid) });
  const started = Date.now();
  const cpuBefore = childrenCpuSeconds();
  let failure: unknown = null;
  const peaks: (number | null)[] = [state.usage.peakMemoryBytes];
  const disk = state.mount.disk;
  const diskWatch = disk ? await watchJobDisk(state.mount.mountPoint) : null;
  try {
    if (!guest) {
      await runOnHost(session, state, script, stage, signal);
      if (stage === 'get_sources') await scrubGitCredentials(session, state);
    }
    else await guest.module.runInGuest(guest.session, state, script, stage, signal, (peak) => peaks.push(peak));
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
  const build = guest && isBuildStage(stage) ? guest : null;
  if (build) usage.diskBytes = await build.module.buildDiskBytes(build.session, state);
  await writeState(session.layout, { ...state, active: null, usage });
  if (build) await build.module.finishBuild(build.session, state, usage, !failure, signal);
  if (failure) throw failure;
}

async function runOnHost(session: JobContext, state: WorkspaceState, script: string, stage: string, signal: AbortSignal): Promise<void> {
  // The runner wrote the script readable by root only; the host user gets its own copy.
  const copy = join(session.layout.workspaces, state.name, 'scripts', `${stage}.host.sh`);
  writeNewFileSync(copy, readFileSync(script), 0o400, state.hostUser);
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
async function scrubGitCredentials(session: JobContext, state: WorkspaceState): Promise<void> {
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
