/**
 * A job's disk: when `limits.disk_mib` is set, everything the job writes (its writable layer, its
 * output, its build directory) lives on a filesystem of exactly that size, an ext4 in a sparse
 * image file in the workspace, loop-mounted on the host at WORKSPACE/disk. A write past the limit
 * fails with ENOSPC inside the build, and the host never gives the job more than the image.
 *
 * The disk is mounted in the host's mount namespace, because every executor command of the job
 * (and the host stages, as the host user) needs it; so unlike the overlay it must be taken down
 * explicitly, from where it is mounted (/proc/self/mountinfo), which also works after a kill -9.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, realpath, rm, statfs, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import './zod-messages.js';
import * as z from 'zod/mini';
import { describeEnd, runProcess, type ProcessResult } from './child-process.js';
import { SystemFailure } from './failure.js';
import { makeDir, removeTree } from './fs-layers.js';

export const jobDiskSchema = z.strictObject({
  image: z.string(),
  /** Where the disk is mounted; it holds layer/ (the backend's writable layer), output/ and build/. */
  mountPoint: z.string(),
  sizeMib: z.number(),
});
export type JobDisk = z.infer<typeof jobDiskSchema>;

/**
 * A disk with less than this left is full: ext4 refuses a write with up to about 1 MiB still free
 * (its reservations for allocations in flight), so "0 bytes free" is never seen.
 */
const FULL_MARGIN_BYTES = 2 * 1024 * 1024;

// No journal (the disk is thrown away with the job, and a crash loses it anyway), no blocks reserved
// for root (builds run as root), inode tables neither zeroed now nor later (a fresh sparse file reads as zeros).
const MKFS_ARGS = ['-q', '-F', '-O', '^has_journal', '-m', '0', '-E', 'lazy_itable_init=1,nodiscard'];
const MOUNT_OPTIONS = 'loop,nosuid,nodev,noatime,noinit_itable';

/** Where a workspace keeps its disk's image and mounts it. */
export function jobDiskPaths(workspace: string): { image: string; mountPoint: string } {
  return { image: join(workspace, 'disk.img'), mountPoint: join(workspace, 'disk') };
}

/** The job's build directory on its disk, bind-mounted at builds_dir/NAME so that the runner's path stays the same. */
function buildDirOn(disk: { mountPoint: string }): string {
  return join(disk.mountPoint, 'build');
}

/**
 * Makes and mounts a disk of `sizeMib` for the workspace and binds its build directory at `buildsDir`;
 * throws SystemFailure naming limits.disk_mib when the host cannot (no loop device, no mkfs.ext4).
 */
export async function createJobDisk(workspace: string, buildsDir: string, sizeMib: number): Promise<JobDisk> {
  const disk = { ...jobDiskPaths(workspace), sizeMib };
  try {
    await writeFile(disk.image, '', { mode: 0o600 });
    // Sparse: the host gives the job blocks only as it writes them, never more than sizeMib.
    await truncate(disk.image, sizeMib * 1024 * 1024);
    const mkfs = await runProcess('mkfs.ext4', [...MKFS_ARGS, disk.image], { capture: true });
    if (mkfs.exitCode !== 0) {
      const why = mkfs.startError ? `mkfs.ext4 ${describeEnd(mkfs)} (it comes with e2fsprogs)` : whyFailed(mkfs);
      throw new SystemFailure(`limits.disk_mib = ${sizeMib}: cannot make the job's filesystem in ${disk.image}: ${why}`);
    }
    await makeDir(disk.mountPoint, 0o700);
    const mount = await runProcess('mount', ['-t', 'ext4', '-o', MOUNT_OPTIONS, disk.image, disk.mountPoint], { capture: true });
    if (mount.exitCode !== 0) {
      throw new SystemFailure(
        `limits.disk_mib = ${sizeMib} gives each job a filesystem on a loop device, and mounting one failed: ${whyFailed(mount)}. ` +
          'Make loop devices available to the executor (modprobe loop; in a container, /dev/loop-control and /dev/loop*), or set limits.disk_mib = 0',
      );
    }
    // mkfs made the filesystem's root 0755; only the executor goes through it (the host stages use the bind below).
    await makeDir(disk.mountPoint, 0o700);
    await makeDir(buildDirOn(disk), 0o755);
    await makeDir(buildsDir, 0o755);
    const bind = await runProcess('mount', ['--bind', buildDirOn(disk), buildsDir], { capture: true });
    if (bind.exitCode !== 0) throw new SystemFailure(`cannot bind the job's build directory ${buildDirOn(disk)} at ${buildsDir}: ${whyFailed(bind)}`);
    return disk;
  } catch (error) {
    await removeJobDisk(workspace, buildsDir);
    throw error;
  }
}

/** What a failed tool said, or how it ended when it said nothing. */
function whyFailed(result: ProcessResult): string {
  return result.stderr.trim().replace(/\.$/, '') || describeEnd(result);
}

/**
 * Takes the workspace's disk down (the build directory's bind, the disk's own mount) and deletes its
 * image; the loop device goes with the last mount. Returns a note when something still holds the
 * filesystem (its loop device then goes when that ends); a no-op for a workspace without a disk.
 */
export async function removeJobDisk(workspace: string, buildsDir: string): Promise<string | null> {
  const { image, mountPoint } = jobDiskPaths(workspace);
  if (!existsSync(image)) return null;
  // sysfs shows the image's real path.
  const backing = await realpath(image).catch(() => image);
  const loops = await loopDevicesOf(backing);
  // Unmounting here is not enough: a mount namespace made while the disk was mounted (another job's
  // container) holds a copy of its mounts, which would keep the filesystem and its loop device until
  // that namespace ends. Deleting a mount point detaches the mounts on it in every namespace.
  await removeTree(buildsDir);
  await removeTree(mountPoint);
  await rm(image, { force: true });
  let left = loops;
  for (let i = 0; i < 20; i++) {
    left = await stillBacking(left, backing);
    if (left.length === 0) return null;
    // A container that is still dying holds the disk a moment longer.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return `the disk ${image} is still in use; ${left.map((loop) => `/dev/${loop}`).join(', ')} is released when its last user ends`;
}

/** The loop devices ("loop3") backed by `image`, from sysfs. */
async function loopDevicesOf(image: string): Promise<string[]> {
  const loops = (await readdir('/sys/block').catch(() => [] as string[])).filter((name) => name.startsWith('loop'));
  return stillBacking(loops, image);
}

/** Those of `loops` still backed by `image` (sysfs adds " (deleted)" once it is deleted). */
async function stillBacking(loops: readonly string[], image: string): Promise<string[]> {
  const backed: string[] = [];
  for (const loop of loops) {
    const backing = await readFile(`/sys/block/${loop}/loop/backing_file`, 'utf8').catch(() => null);
    if (backing !== null && [image, `${image} (deleted)`].includes(backing.replace(/\n$/, ''))) backed.push(loop);
  }
  return backed;
}

export interface DiskSpace {
  freeBytes: number;
  freeInodes: number;
}

/** The space left on a mounted disk. */
export async function diskSpace(mountPoint: string): Promise<DiskSpace> {
  const stats = await statfs(mountPoint);
  return { freeBytes: stats.bavail * stats.bsize, freeInodes: stats.ffree };
}

/** Whether a write on a disk with this much left may have failed for want of space or inodes. */
export function isFull(space: DiskSpace): boolean {
  return space.freeBytes < FULL_MARGIN_BYTES || space.freeInodes === 0;
}

/** The disk's free space when a stage started, and the least seen while it ran. */
export interface DiskWatch {
  atStart: DiskSpace;
  least: DiskSpace;
}

/**
 * Samples the disk's free space while a stage runs (statfs, every `intervalMs`); `stop` ends it. A
 * build that fails for want of space often deletes what it was writing (make's .DELETE_ON_ERROR, a
 * linker), so the disk is no longer full when the stage ends; one that does so between two samples
 * goes unnoticed here (its own "No space left on device" still says why).
 */
export async function watchJobDisk(disk: JobDisk, intervalMs = 100): Promise<{ stop: () => Promise<DiskWatch> }> {
  const atStart = await diskSpace(disk.mountPoint);
  let least = atStart;
  const sample = async (): Promise<void> => {
    const space = await diskSpace(disk.mountPoint).catch(() => null);
    if (space) least = { freeBytes: Math.min(least.freeBytes, space.freeBytes), freeInodes: Math.min(least.freeInodes, space.freeInodes) };
  };
  const timer = setInterval(() => void sample(), intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await sample();
      return { atStart, least };
    },
  };
}

/** What the job log says when a stage failed on a full disk. */
export function diskLimitReached(disk: JobDisk, space: DiskSpace): string {
  const what = space.freeInodes === 0 ? 'files (its inodes)' : 'space';
  return `the job's disk limit of ${disk.sizeMib} MiB (limits.disk_mib) was reached: the job ran out of ${what}, and writes failed with "No space left on device"`;
}
