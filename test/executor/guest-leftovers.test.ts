/**
 * Root in the guest can leave a setuid-root executable or a device node in the directories it
 * shares read-write with the host (the project directory, /output); host users reach those, so the
 * host must honour neither (job-mount.ts), with or without a disk limit. Without a user namespace:
 * nosuid,nodev must hold on its own (in one, the guest can make no device node, and what it makes
 * outside the project directory is not host root's: user-namespace.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stageScript } from '../runner-emulator/emulator.js';
import { containerSkipReason, loopSkipReason, reportSkip } from '../support/capabilities.js';
import { createExecutorFixture, type ExecutorFixture } from '../support/executor-fixture.js';
import { crashMidBuild, midBuildEnv, midBuildName, type MidBuildJob } from '../support/mid-build.js';
import { mountsAnywhereMentioning, mountsMentioning, processesWith, waitFor } from '../support/processes.js';

/** The guest's doing: a setuid-root executable and a world-writable /dev/zero, in the project directory and in /output. */
const PLANT = [
  'cd "$CI_PROJECT_DIR"',
  // busybox drops privileges by itself when started setuid; a copy of it shows that the bit is set, not whether it is honoured.
  'cp /bin/busybox busybox && chmod 4755 busybox',
  // The probe: coreutils' id, which the host put in the checkout; made setuid root by the guest.
  'chown 0:0 id-probe && chmod 4755 id-probe && cp -p id-probe "$QUARTERS_OUTPUT_DIR/id-probe"',
  // nspawn leaves the guest CAP_MKNOD.
  'mknod -m 666 zero c 1 5 && mknod -m 666 "$QUARTERS_OUTPUT_DIR/zero" c 1 5',
];

/** The effective uid an unprivileged host user gets from running the setuid-root `probe`: "0" when the bit is honoured. */
async function uidFromProbe(probe: string): Promise<string> {
  return (await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', probe, '-u'])).stdout.trim();
}

for (const { diskMib, skip } of [
  { diskMib: 0, skip: containerSkipReason() },
  { diskMib: 64, skip: loopSkipReason() },
]) {
  describe.skipIf(reportSkip(skip, `guest leftovers with limits.disk_mib = ${diskMib}`))(`quarters-executor with limits.disk_mib = ${diskMib}: what the guest leaves in shared directories`, () => {
    let fx: ExecutorFixture;

    beforeAll(async () => {
      fx = await createExecutorFixture(`[limits]\ndisk_mib = ${diskMib}\n[isolation]\nuser_namespace = false`);
    });
    afterAll(async () => {
      await fx?.remove();
    });

    it('honours no setuid bit and no device node on the host while the job is prepared, and leaves nothing after cleanup', async () => {
      const jobId = 700 + diskMib;
      const env = { CUSTOM_ENV_CI_JOB_ID: String(jobId), CUSTOM_ENV_CI_PROJECT_ID: '70' };
      const prepared = await fx.cli(['prepare'], env);
      expect(prepared.exitCode, prepared.stderr).toBe(0);
      const name = readdirSync(join(fx.workDir, 'workspaces')).find((n) => n.endsWith(`-j${jobId}`))!;
      const state = JSON.parse(await readFile(join(fx.workDir, 'workspaces', name, 'state.json'), 'utf8')) as { buildsDir: string; outputDir: string };
      // As get_sources would check it out: an ordinary executable of the host user's.
      await copyFile('/usr/bin/id', join(state.buildsDir, 'id-probe'));
      await execa('chown', ['65534:65534', join(state.buildsDir, 'id-probe')]);
      const scripts = join(fx.dir, `scripts-${jobId}`);
      await mkdir(scripts);
      await writeFile(join(scripts, 'script'), stageScript({ CI_PROJECT_DIR: state.buildsDir }, PLANT), { mode: 0o700 });
      const ran = await fx.cli(['run', join(scripts, 'script'), 'step_script'], env);
      expect(ran.exitCode, ran.stderr).toBe(0);

      for (const dir of [state.buildsDir, state.outputDir]) {
        const probe = join(dir, 'id-probe');
        // The guest did set the bit, as root...
        expect(statSync(probe).mode & 0o7777, probe).toBe(0o4755);
        expect(statSync(probe).uid).toBe(0);
        // ...and the host does not honour it.
        expect(await uidFromProbe(probe), probe).toBe('65534');
        const device = join(dir, 'zero');
        expect(statSync(device).isCharacterDevice(), device).toBe(true);
        // nodev: nobody opens it, root included.
        await expect(writeFile(device, 'x'), device).rejects.toThrow(/EACCES/);
        await expect(readFile(device), device).rejects.toThrow(/EACCES/);
      }
      expect(statSync(join(state.buildsDir, 'busybox')).mode & 0o7777).toBe(0o4755);

      const cleaned = await fx.cli(['cleanup'], env);
      expect(cleaned.exitCode, cleaned.stderr).toBe(0);
      expect(mountsMentioning(fx.dir)).toEqual([]);
      expect(readdirSync(join(fx.workDir, 'workspaces'))).toEqual([]);
      expect(existsSync(state.buildsDir)).toBe(false);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(name);
    });

    it('a project bind left by an executor killed mid-stage reaches no other job, and cleanup, the slot\'s next prepare and cleanup --stale each take it down', { timeout: 240_000 }, async () => {
      const projectBind = (name: string): string => join(fx.workDir, 'workspaces', name, 'project');
      const crash = async (jobId: number): Promise<MidBuildJob> => {
        const job = { jobId, projectId: 77, concurrentId: diskMib, marker: `quarters-leftover-bind-${process.pid}-${jobId}` };
        const name = await crashMidBuild(fx, job);
        // kill -9 of the executor: its container went with it, its bind of the project directory stayed.
        expect(await waitFor(() => processesWith(job.marker).length === 0 && processesWith(name).length === 0, 10_000)).toBe(true);
        expect(mountsMentioning(projectBind(name)), name).toHaveLength(1);
        return job;
      };
      const gone = (job: MidBuildJob): void => {
        expect(mountsAnywhereMentioning(join(fx.dir, 'work', 'workspaces', midBuildName(job)))).toEqual([]);
        expect(mountsAnywhereMentioning(join(fx.dir, 'work', 'builds', midBuildName(job)))).toEqual([]);
        expect(existsSync(join(fx.workDir, 'workspaces', midBuildName(job)))).toBe(false);
      };

      // cleanup.
      const first = await crash(760 + diskMib);
      // Meanwhile another project's job runs: its guest sees nothing of the leftover (a container's mounts are its own).
      const otherEnv = { CUSTOM_ENV_CI_JOB_ID: String(770 + diskMib), CUSTOM_ENV_CI_PROJECT_ID: '78' };
      expect((await fx.cli(['prepare'], otherEnv)).exitCode).toBe(0);
      const scripts = join(fx.dir, `scripts-other-${diskMib}`);
      await mkdir(scripts, { recursive: true });
      const otherName = readdirSync(join(fx.workDir, 'workspaces')).find((n) => n.endsWith(`-j${770 + diskMib}`))!;
      const otherState = JSON.parse(await readFile(join(fx.workDir, 'workspaces', otherName, 'state.json'), 'utf8')) as { buildsDir: string };
      await writeFile(join(scripts, 'script'), stageScript({ CI_PROJECT_DIR: otherState.buildsDir }, [`cat /proc/self/mountinfo > "$CI_PROJECT_DIR/mountinfo"; ls -A / > "$CI_PROJECT_DIR/root"`]), { mode: 0o700 });
      const ran = await fx.cli(['run', join(scripts, 'script'), 'step_script'], otherEnv);
      expect(ran.exitCode, ran.stderr).toBe(0);
      expect(readFileSync(join(otherState.buildsDir, 'mountinfo'), 'utf8')).not.toContain(midBuildName(first));
      expect(readFileSync(join(otherState.buildsDir, 'mountinfo'), 'utf8')).toContain(otherName);
      expect((await fx.cli(['cleanup'], otherEnv)).exitCode).toBe(0);
      const cleaned = await fx.cli(['cleanup'], midBuildEnv(fx, first));
      expect(cleaned.exitCode, cleaned.stderr).toBe(0);
      gone(first);

      // The slot's next prepare.
      const second = await crash(762 + diskMib);
      const next = { ...second, jobId: second.jobId + 100 };
      const prepared = await fx.cli(['prepare'], midBuildEnv(fx, next));
      expect(prepared.exitCode, prepared.stderr).toBe(0);
      gone(second);
      expect((await fx.cli(['cleanup'], midBuildEnv(fx, next))).exitCode).toBe(0);

      // cleanup --stale: the job's executor and runner are dead.
      const third = await crash(764 + diskMib);
      const swept = await fx.cli(['cleanup', '--stale']);
      expect(swept.exitCode, swept.stderr).toBe(0);
      gone(third);
      expect(mountsAnywhereMentioning(fx.dir)).toEqual([]);
    });
  });
}
