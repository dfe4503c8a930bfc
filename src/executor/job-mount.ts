/**
 * A job's mount: everything a job's guest writes that the host shares (its writable layer, its
 * output, its build directory) lives below WORKSPACE/mount, mounted `nosuid,nodev` on the host.
 * Root in the guest can leave a setuid-root executable or a device node there, in directories that
 * host users reach (builds_dir is world-traversable, and the host stages run as the host user in
 * it); on a nosuid,nodev mount the kernel honours neither, whatever the guest did.
 *
 * Two kinds, one layout: with `limits.disk_mib` the mount is the job's disk (job-disk.ts), a
 * loop-mounted filesystem of that size; without, it is a workspace directory bound onto itself. The
 * job's build directory, builds_dir/NAME, is a bind mount of the mount's build/ (so the runner's
 * paths do not change, and it inherits nosuid,nodev), and host directories that outlive the job but
 * that the guest writes to (a local build's driver logs) are bound onto themselves nosuid,nodev.
 *
 * The mounts are in the host's mount namespace, because every executor command of the job (and the
 * host stages) needs them; so unlike the overlay they must be taken down explicitly, from where they
 * are mounted (/proc/self/mountinfo), which also works after a kill -9.
 */
import { dirname, join } from 'node:path';
import type { JobMount } from './workspace-schema.js';
import { runProcess, whyFailed } from '../common/child-process.js';
import { SystemFailure } from './failure.js';
import { makeDir, removeTree, unmountBelow } from './fs-layers.js';
import { loopDevicesOf, makeJobDisk, removeDiskImage } from './job-disk.js';

export type { JobMount } from './workspace-schema.js';

/** Where a workspace keeps its mount and its disk's image. */
function jobMountPaths(workspace: string): { mountPoint: string; image: string } {
  return { mountPoint: join(workspace, 'mount'), image: join(workspace, 'disk.img') };
}

/** The mount of a job with a disk of `diskMib` (0: none) and these shared directories (existing ones); nothing is mounted yet. */
export function jobMountOf(workspace: string, diskMib: number, sharedDirs: readonly string[] = []): JobMount {
  const { mountPoint, image } = jobMountPaths(workspace);
  return { mountPoint, ...(diskMib > 0 ? { disk: { image, sizeMib: diskMib } } : {}), sharedDirs: [...sharedDirs] };
}

/** The job's build directory on its mount, bind-mounted at builds_dir/NAME. */
function buildDirOn(mount: JobMount): string {
  return join(mount.mountPoint, 'build');
}

/**
 * Mounts the job's mount, binds its build directory at `buildsDir` and binds the shared directories
 * onto themselves; throws SystemFailure naming what failed (a disk that cannot be made names limits.disk_mib).
 */
export async function createJobMount(mount: JobMount, buildsDir: string): Promise<void> {
  try {
    await makeDir(mount.mountPoint, 0o700);
    if (mount.disk) await makeJobDisk(mount.disk, mount.mountPoint);
    else await bind(mount.mountPoint, mount.mountPoint, true, `cannot bind the job's directory ${mount.mountPoint} onto itself nosuid,nodev`);
    // A new filesystem's root is 0755; only the executor goes through it (the host stages use the bind below).
    await makeDir(mount.mountPoint, 0o700);
    await makeDir(buildDirOn(mount), 0o755);
    await makeDir(buildsDir, 0o755);
    // The bind inherits nosuid,nodev from its source's mount.
    await bind(buildDirOn(mount), buildsDir, false, `cannot bind the job's build directory ${buildDirOn(mount)} at ${buildsDir}`);
    for (const dir of mount.sharedDirs) await bind(dir, dir, true, `cannot bind ${dir}, which the guest writes to, onto itself nosuid,nodev`);
  } catch (error) {
    await removeJobMount(dirname(mount.mountPoint), buildsDir, mount.sharedDirs);
    throw error;
  }
}

/**
 * `mount --bind`; with `nosuid`, util-linux's mount adds the remount that applies nosuid,nodev (the
 * kernel ignores them on the bind itself) in the same process. `what` starts the error message.
 */
async function bind(source: string, target: string, nosuid: boolean, what: string): Promise<void> {
  const result = await runProcess('mount', ['--bind', ...(nosuid ? ['-o', 'bind,nosuid,nodev'] : []), source, target], { capture: true });
  if (result.exitCode !== 0) throw new SystemFailure(`${what}: ${whyFailed(result)}`);
}

/**
 * Takes the workspace's mount down (the build directory's bind, the shared directories' binds, the
 * mount itself) and deletes what the job wrote there, and the disk's image; the disk's loop device
 * goes with the last mount. Returns a note when something still holds the disk (its loop device then
 * goes when that ends). Idempotent: a workspace without a mount is fine.
 */
export async function removeJobMount(workspace: string, buildsDir: string, sharedDirs: readonly string[] = []): Promise<string | null> {
  const { mountPoint, image } = jobMountPaths(workspace);
  const loops = await loopDevicesOf(image);
  // What the guest wrote in a shared directory stays; only the bind goes.
  await unmountBelow(buildsDir, mountPoint, ...sharedDirs);
  // Unmounting here is not enough: a mount namespace made while the job was mounted (another job's
  // container) holds a copy of its mounts, which would keep a disk and its loop device until that
  // namespace ends. Deleting a mount point detaches the mounts on it in every namespace.
  await removeTree(buildsDir);
  await removeTree(mountPoint);
  return removeDiskImage(image, loops);
}
