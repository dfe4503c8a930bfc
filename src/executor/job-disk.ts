/**
 * A job's disk: when `limits.disk_mib` is set, the job's mount (job-mount.ts), which holds everything
 * the job writes (its writable layer, its output, its build directory), is a filesystem of exactly
 * that size, an ext4 in a sparse image file in the workspace, loop-mounted. A write past the limit
 * fails with ENOSPC inside the build, and the host never gives the job more than the image.
 */
import { existsSync, statfsSync } from 'node:fs';
import { readdir, readFile, realpath, rm, truncate, writeFile } from 'node:fs/promises';
import { describeEnd, runProcess, whyFailed } from '../common/child-process.js';
import { SystemFailure } from './failure.js';

/**
 * A disk with less than this left is full: ext4 refuses a write with up to about 1 MiB still free
 * (its reservations for allocations in flight), so "0 bytes free" is never seen.
 */
const FULL_MARGIN_BYTES = 2 * 1024 * 1024;

// No journal (the disk is thrown away with the job, and a crash loses it anyway), no blocks reserved
// for root (builds run as root), inode tables neither zeroed now nor later (a fresh sparse file reads as zeros).
const MKFS_ARGS = ['-q', '-F', '-O', '^has_journal', '-m', '0', '-E', 'lazy_itable_init=1,nodiscard'];
// nosuid,nodev: see job-mount.ts.
const MOUNT_OPTIONS = 'loop,nosuid,nodev,noatime,noinit_itable';

/**
 * Makes the disk's image and mounts it at `mountPoint` (an existing directory); throws SystemFailure
 * naming limits.disk_mib when the host cannot (no loop device, no mkfs.ext4).
 */
export async function makeJobDisk(disk: { image: string; sizeMib: number }, mountPoint: string): Promise<void> {
  await writeFile(disk.image, '', { mode: 0o600 });
  // Sparse: the host gives the job blocks only as it writes them, never more than sizeMib.
  await truncate(disk.image, disk.sizeMib * 1024 * 1024);
  const mkfs = await runProcess('mkfs.ext4', [...MKFS_ARGS, disk.image], { capture: true });
  if (mkfs.exitCode !== 0) {
    const why = mkfs.startError ? `mkfs.ext4 ${describeEnd(mkfs)} (it comes with e2fsprogs)` : whyFailed(mkfs);
    throw new SystemFailure(`limits.disk_mib = ${disk.sizeMib}: cannot make the job's filesystem in ${disk.image}: ${why}`);
  }
  const mount = await runProcess('mount', ['-t', 'ext4', '-o', MOUNT_OPTIONS, disk.image, mountPoint], { capture: true });
  if (mount.exitCode !== 0) {
    throw new SystemFailure(
      `limits.disk_mib = ${disk.sizeMib} gives each job a filesystem on a loop device, and mounting one failed: ${whyFailed(mount)}. ` +
        'Make loop devices available to the executor (modprobe loop; in a container, /dev/loop-control and /dev/loop*), or set limits.disk_mib = 0',
    );
  }
}

/**
 * Deletes a disk's image whose mounts are gone and waits a moment for `loops` (its loop devices,
 * found before the unmount) to go. Returns a note when something still holds the filesystem (its
 * loop device then goes when that ends); null when there is no image.
 */
export async function removeDiskImage(image: string, loops: readonly string[]): Promise<string | null> {
  if (!existsSync(image)) return null;
  // sysfs shows the image's real path.
  const backing = await realpath(image).catch(() => image);
  await rm(image, { force: true });
  let left = [...loops];
  for (let i = 0; i < 20; i++) {
    left = await stillBacking(left, backing);
    if (left.length === 0) return null;
    // A container that is still dying holds the disk a moment longer.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return `the disk ${image} is still in use; ${left.map((loop) => `/dev/${loop}`).join(', ')} is released when its last user ends`;
}

/** The loop devices ("loop3") backed by `image`, from sysfs; none when there is no image. */
export async function loopDevicesOf(image: string): Promise<string[]> {
  if (!existsSync(image)) return [];
  const loops = (await readdir('/sys/block').catch(() => [] as string[])).filter((name) => name.startsWith('loop'));
  return stillBacking(loops, await realpath(image).catch(() => image));
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
  // One system call, made synchronously: every stage samples it, and a host stage's start loads no fs/promises (nor its thread pool).
  const stats = statfsSync(mountPoint);
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
export async function watchJobDisk(mountPoint: string, intervalMs = 100): Promise<{ stop: () => Promise<DiskWatch> }> {
  const atStart = await diskSpace(mountPoint);
  let least = atStart;
  const sample = async (): Promise<void> => {
    const space = await diskSpace(mountPoint).catch(() => null);
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

/** What the job log says when a stage failed on a full disk of `sizeMib`. */
export function diskLimitReached(sizeMib: number, space: DiskSpace): string {
  const what = space.freeInodes === 0 ? 'files (its inodes)' : 'space';
  return `the job's disk limit of ${sizeMib} MiB (limits.disk_mib) was reached: the job ran out of ${what}, and writes failed with "No space left on device"`;
}
