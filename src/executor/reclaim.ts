/** Tearing a job's environment down from what its workspace records: for cleanup, prepare and cleanup --stale alike. */
import { join } from 'node:path';
import { removeRunCgroups } from './run-cgroup.js';
import { killIdentified } from './process-identity.js';
import { removeTree } from './fs-layers.js';
import { unstageProjectDir } from './project-bind.js';
import { removeJobMount } from './job-mount.js';
import type { Session } from './session.js';
import { readState, workspaceDir } from './workspace.js';

/**
 * Stops whatever still works on the workspace (an executor command the runner gave up on: killing it
 * takes its container along), then removes the backend's layer, the job's mount, the build directory and the workspace.
 * Idempotent: a workspace that is already gone is fine.
 */
export async function reclaimWorkspace(session: Session, name: string): Promise<void> {
  const state = await readState(session.layout, name);
  if (state?.active && state.active.pid !== process.pid) await killIdentified(state.active);
  const workspace = workspaceDir(session.layout, name);
  await session.backend.destroy(name, workspace);
  // A guest stage's bind of the project directory (project-bind.ts) holds the job mount: it goes first, mount point and all.
  await unstageProjectDir(join(workspace, 'project'));
  // A host stage's cgroup, left by an executor killed during it (host-stage.ts).
  await removeRunCgroups(`${name}-host`);
  const buildsDir = state?.buildsDir ?? join(session.layout.builds, name);
  // removeJobMount takes the build directory too: it is one of the job mount's binds.
  const busy = await removeJobMount(workspace, buildsDir, state?.mount.sharedDirs);
  if (busy) session.log(`quarters: ${busy}`);
  await removeTree(workspace);
}
