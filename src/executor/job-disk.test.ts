import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { loopSkipReason, reportSkip } from '../../test/support/capabilities.js';
import { diskLimitReached, isFull, watchJobDisk } from './job-disk.js';
import { createJobMount, jobMountOf, removeJobMount } from './job-mount.js';

const MiB = 1024 * 1024;

describe('when a job disk is full', () => {
  it('counts less than 2 MiB or no inode left as full, and says which ran out', () => {
    expect(isFull({ freeBytes: 900 * 1024, freeInodes: 100 })).toBe(true);
    expect(isFull({ freeBytes: 50 * MiB, freeInodes: 0 })).toBe(true);
    expect(isFull({ freeBytes: 50 * MiB, freeInodes: 100 })).toBe(false);
    expect(diskLimitReached(64, { freeBytes: 0, freeInodes: 10 })).toBe('the job\'s disk limit of 64 MiB (limits.disk_mib) was reached: the job ran out of space, and writes failed with "No space left on device"');
    expect(diskLimitReached(64, { freeBytes: 50 * MiB, freeInodes: 0 })).toContain('ran out of files (its inodes)');
  });
});

describe.skipIf(reportSkip(loopSkipReason(), 'job disks'))('a job disk (real loop device and ext4)', () => {
  let dir: string;
  let workspace: string;
  let buildsDir: string;
  const disk = (): ReturnType<typeof jobMountOf> => jobMountOf(workspace, 64);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quarters-job-disk-'));
    workspace = join(dir, 'workspace');
    buildsDir = join(dir, 'builds', 'job');
    await mkdir(workspace);
    await mkdir(join(dir, 'builds'));
  });
  afterAll(async () => {
    await removeJobMount(workspace, buildsDir);
    await rm(dir, { recursive: true, force: true });
  });

  it('is a sparse image of exactly the limit, an ext4 on a loop device', async () => {
    const started = performance.now();
    await createJobMount(disk(), buildsDir);
    const took = performance.now() - started;
    expect(took).toBeLessThan(5000);
    const image = disk().disk!.image;
    expect(statSync(image).size).toBe(64 * MiB);
    expect(statSync(image).blocks * 512).toBeLessThan(8 * MiB);
    const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(` ${disk().mountPoint} `));
    expect(mount).toHaveLength(1);
    expect(mount[0]).toMatch(/ rw,nosuid,nodev,noatime .* ext4 \/dev\/loop\d+ /);
  });

  it('notices a stage that filled the disk although the writer deleted its file before the stage ended', async () => {
    const watch = await watchJobDisk(disk().mountPoint);
    // As make does on failure (.DELETE_ON_ERROR): write until ENOSPC, then, a moment later, remove the partial file.
    const dd = await execa('sh', ['-c', `dd if=/dev/zero of="${buildsDir}/partial" bs=1M count=100; s=$?; sleep 0.3; rm -f "${buildsDir}/partial"; exit $s`], { reject: false });
    expect(dd.stderr).toContain('No space left on device');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const space = await watch.stop();
    expect(isFull(space.atStart)).toBe(false);
    expect(isFull(space.least)).toBe(true);
  });

  it('leaves no loop device behind', async () => {
    expect(await removeJobMount(workspace, buildsDir)).toBeNull();
    expect((await execa('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE'])).stdout).not.toContain(dir);
  });
});
