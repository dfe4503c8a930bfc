/**
 * The project directory a guest stage sees. Its path is the host user's to change (a leftover host
 * process may put a link there), so each guest stage opens it level by level without following
 * links, checks the owner, and binds the directory it opened (by its file descriptor, not by name)
 * onto a mount point in the workspace, which is what the container binds.
 */
import { relative, sep } from 'node:path';
import { runProcess, whyFailed } from '../common/child-process.js';
import { SystemFailure } from './failure.js';
import { makeDir, removeTree, unmountBelow } from './fs-layers.js';
import { openDirBelow, type Owner } from './no-follow.js';

/** Binds `project` (below `buildsDir`, owned by `owner` at every level) onto `target`; a link or a stranger's directory on the way is a SystemFailure. */
export async function stageProjectDir(buildsDir: string, project: string, owner: Owner, target: string): Promise<void> {
  const parts = relative(buildsDir, project).split(sep).filter(Boolean);
  let dir;
  try {
    dir = await openDirBelow(buildsDir, parts, owner);
  } catch (error) {
    if (error instanceof SystemFailure) throw new SystemFailure(`the project directory cannot be given to the guest: ${error.message}`);
    throw new SystemFailure(`the project directory ${project} cannot be given to the guest: ${(error as Error).message}`);
  }
  try {
    await makeDir(target, 0o700);
    await unmountBelow(target);
    // --no-canonicalize: mount(2) itself resolves /proc/PID/fd/N to the open directory; mount(8) would resolve its path again.
    const result = await runProcess('mount', ['--no-canonicalize', '--bind', `/proc/${process.pid}/fd/${dir.fd}`, target], { capture: true });
    if (result.exitCode !== 0) throw new SystemFailure(`binding the project directory ${project}: ${whyFailed(result)}`);
  } finally {
    await dir.close();
  }
}

/** Takes the stage's bind down again; deleting the mount point detaches the copies other jobs' containers, started meanwhile, hold. */
export function unstageProjectDir(target: string): Promise<void> {
  return removeTree(target);
}
