/**
 * The one way a job's environment is opened and closed, for GitLab jobs (`prepare` / `cleanup`) and
 * for `quarters build` alike: the workspace recorded first (so that `cleanup --stale` finds
 * whatever a job whose process died left), the job mount (nosuid,nodev; the job's disk with
 * limits.disk_mib), the build and output directories owned by the host user, then the backend's
 * setup. Closing tears all of it down, whatever state it was left in.
 */
import { chown } from 'node:fs/promises';
import { join } from 'node:path';
import type { BaseImage, Environment, InstanceLayer } from './environment.js';
import { makeDir } from './fs-layers.js';
import type { HostUser } from './host-user.js';
import { createJobMount, jobMountOf } from './job-mount.js';
import { identify, type ProcessIdentity } from './process-identity.js';
import { reclaimWorkspace } from './reclaim.js';
import type { Session } from './session.js';
import { emptyUsage, workspaceDir, writeState, type WorkspaceState } from './workspace.js';

/** What a job's environment is opened from. */
export interface JobOpening {
  /** Unique among the jobs of this host: names the workspace, the build directory and the container. */
  name: string;
  /** At most one job runs in a slot at a time. */
  slot: string;
  jobId: string;
  base: BaseImage;
  instance: InstanceLayer;
  hostUser: HostUser;
  /** The process whose end means the job's end (GitLab Runner; `quarters build` itself). */
  runner: ProcessIdentity | null;
  /** Host directories outside the workspace the guest writes to: bound onto themselves nosuid,nodev while the job lives. */
  guestWritable?: readonly string[];
  /** Fills the workspace before anything is mounted (on the host: the build set's repository); returns that repository's directory, or null. */
  fill?: (workspace: string) => Promise<string | null>;
}

/** Opens a job's environment; on failure what was made stays recorded, for `closeJobEnvironment` (or `cleanup --stale`) to take down. */
export async function openJobEnvironment(session: Session, opening: JobOpening, environmentOf: (state: WorkspaceState) => Environment): Promise<WorkspaceState> {
  const { layout } = session;
  await makeDir(layout.workspaces, 0o711);
  await makeDir(layout.builds, 0o755);
  const workspace = workspaceDir(layout, opening.name);
  await makeDir(workspace, 0o711);
  const repository = (await opening.fill?.(workspace)) ?? null;
  const buildsDir = join(layout.builds, opening.name);
  const mount = jobMountOf(workspace, session.config.limits.disk_mib, opening.guestWritable ?? []);
  const now = new Date().toISOString();
  const state: WorkspaceState = {
    name: opening.name,
    slot: opening.slot,
    jobId: opening.jobId,
    created: now,
    backend: session.backend.name,
    base: { version: opening.base.version, path: opening.base.path },
    instance: { key: opening.instance.key, version: opening.instance.version, dir: opening.instance.dir },
    buildsDir,
    outputDir: join(mount.mountPoint, 'output'),
    repository,
    mount,
    hostUser: opening.hostUser,
    runner: opening.runner,
    active: identify(process.pid),
    updated: now,
    usage: emptyUsage(),
  };
  // Before mounting: a job whose process dies from here on is found, mounts and all, from its state.
  await writeState(layout, state);
  await createJobMount(mount, buildsDir);
  // The build directory is a bind mount of the job mount's build/: the modes and owners below apply there.
  for (const [dir, mode] of [[buildsDir, 0o755], [state.outputDir, 0o755], [join(workspace, 'home'), 0o700]] as const) {
    await makeDir(dir, mode);
    await chown(dir, opening.hostUser.uid, opening.hostUser.gid);
  }
  // Root's: the host user reads its stage scripts there, and can plant nothing for root to write through.
  await makeDir(join(workspace, 'scripts'), 0o711);
  await environmentOf(state).setup();
  return state;
}

/** Closes a job's environment: processes, mounts, the backend's layers and the workspace go; idempotent. */
export function closeJobEnvironment(session: Session, name: string): Promise<void> {
  return reclaimWorkspace(session, name);
}
