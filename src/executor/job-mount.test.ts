import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { containerSkipReason, loopSkipReason, reportSkip } from '../../test/support/capabilities.js';
import { createJobMount, jobMountOf, removeJobMount, type JobMount } from './job-mount.js';

/** What an unprivileged host user gets from running `probe -u` (a setuid-root copy of coreutils' id): 0 when the bit is honoured. */
async function uidOfSetuidProbe(probe: string): Promise<string> {
  return (await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', probe, '-u'])).stdout.trim();
}

/** Leaves a setuid-root `id` and a world-writable /dev/zero node in `dir`, as root in a guest could. */
async function plantIn(dir: string): Promise<{ probe: string; device: string }> {
  const probe = join(dir, 'probe');
  const device = join(dir, 'zero');
  await copyFile('/usr/bin/id', probe);
  await chmod(probe, 0o4755);
  await execa('mknod', ['-m', '666', device, 'c', '1', '5']);
  return { probe, device };
}

for (const { kind, diskMib, skip } of [
  { kind: 'a bind of a workspace directory (disk_mib = 0)', diskMib: 0, skip: containerSkipReason() },
  { kind: 'a job disk (disk_mib = 64)', diskMib: 64, skip: loopSkipReason() },
]) describe.skipIf(reportSkip(skip, `job mount on ${kind}`))(`a job mount on ${kind}`, () => {
  let dir: string;
  let workspace: string;
  let buildsDir: string;
  let shared: string;
  let mount: JobMount;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quarters-job-mount-'));
    workspace = join(dir, 'workspace');
    buildsDir = join(dir, 'builds', 'job');
    shared = join(dir, 'logs');
    await mkdir(workspace);
    await mkdir(join(dir, 'builds'));
    await mkdir(shared);
    mount = jobMountOf(workspace, diskMib, [shared]);
  });
  afterAll(async () => {
    await removeJobMount(workspace, buildsDir, [shared]);
    await rm(dir, { recursive: true, force: true });
  });

  const mountsOf = (path: string): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(path));

  it('mounts the job\'s directory, its build directory and the shared directories nosuid,nodev', async () => {
    await createJobMount(mount, buildsDir);
    for (const point of [mount.mountPoint, buildsDir, shared]) {
      const lines = mountsOf(` ${point} `);
      expect(lines, point).toHaveLength(1);
      expect(lines[0]).toMatch(/ rw,nosuid,nodev[, ]/);
    }
    expect(statSync(buildsDir).dev).toBe(statSync(mount.mountPoint).dev);
    expect(statSync(mount.mountPoint).mode & 0o777).toBe(0o700);
  });

  it('honours no setuid bit and no device node left there', async () => {
    // The unprotected tree next to it shows that the probe would work.
    const control = join(dir, 'control');
    await mkdir(control);
    expect(await uidOfSetuidProbe((await plantIn(control)).probe)).toBe('0');
    for (const where of [buildsDir, join(mount.mountPoint, 'output'), shared]) {
      await mkdir(where, { recursive: true });
      const { probe, device } = await plantIn(where);
      expect(await uidOfSetuidProbe(probe), where).toBe('65534');
      // nodev: nobody, not even root, opens a device node there.
      await expect(writeFile(device, 'x'), where).rejects.toThrow(/EACCES/);
    }
  });

  it('goes without a trace but what the guest wrote in the shared directories', async () => {
    expect(await removeJobMount(workspace, buildsDir, [shared])).toBeNull();
    expect(mountsOf(dir)).toEqual([]);
    expect(existsSync(mount.mountPoint)).toBe(false);
    expect(existsSync(join(workspace, 'disk.img'))).toBe(false);
    expect(existsSync(buildsDir)).toBe(false);
    expect(readdirSync(shared).sort()).toEqual(['probe', 'zero']);
    // Idempotent.
    expect(await removeJobMount(workspace, buildsDir, [shared])).toBeNull();
  });
});
