/**
 * quarters-executor on a host where systemd IS PID 1, where nspawn registers with machined, limits
 * become unit properties, there is no PID namespace of ours, and terminateMachine reclaims a
 * killed job's container. This machine and CI have no systemd as PID 1, so the test boots a VM
 * that has (test/support/vm/), runs systemd-host/guest.ts there against this worktree's dist/,
 * and asserts here on each check the guest reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { reportSkip, systemdHostVmSkipReason } from '../support/capabilities.js';
import { bootVm, chooseAccelerator, serialTail, type BootResult } from '../support/vm/qemu.js';
import { systemdHostImage, WORK_MOUNT } from '../support/vm/systemd-host-image.js';
import { makeWorkDisk, readFromWorkDisk } from '../support/vm/work-disk.js';
import { CHECKS } from './systemd-host/checks.js';
import { guestReportSchema, type GuestReport } from './systemd-host/report.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const skip = reportSkip(systemdHostVmSkipReason(), 'quarters-executor where systemd is PID 1 (VM)');

describe.skipIf(skip)('quarters-executor where systemd is PID 1 (a VM)', () => {
  let dir: string;
  let boot: BootResult | null = null;
  let report: GuestReport | null = null;
  let guestExit: string | null = null;
  /** Everything known about the boot, for the message of a check that has no passing entry. */
  let story = '';

  beforeAll(async () => {
    const say = (line: string): void => void process.stderr.write(`systemd-host VM: ${line}\n`);
    const lap = (() => {
      let last = Date.now();
      return (what: string): void => {
        say(`${what} in ${((Date.now() - last) / 1000).toFixed(1)} s`);
        last = Date.now();
      };
    })();
    if (!existsSync(join(ROOT, 'dist', 'executor', 'main.js'))) throw new Error('dist/executor/main.js is missing: the VM runs the built executor (npm run build)');
    const image = await systemdHostImage(say);
    lap(`image ${image.root} ready`);
    dir = await mkdtemp(join(tmpdir(), 'quarters-systemd-host-'));
    // The guest runs JavaScript: node in the VM gets guest.ts and what it imports compiled, beside their sources.
    const compiled = join(dir, 'compiled');
    const tsc = await execa(process.execPath, [TSC, '-p', 'test/executor/systemd-host/tsconfig.json', '--noCheck', '--outDir', compiled], { cwd: ROOT, reject: false });
    if (tsc.exitCode !== 0) throw new Error(`compiling the guest program failed: ${tsc.stdout}${tsc.stderr}`);
    const disk = join(dir, 'work.img');
    await makeWorkDisk(disk, {
      project: ROOT,
      overlays: [compiled],
      node: process.execPath,
      run: `#!/bin/sh\ncd project && exec node test/executor/systemd-host/guest.js ${WORK_MOUNT}/results/report.json\n`,
    });
    lap('guest program compiled and work disk made');
    const accelerator = chooseAccelerator();
    say(`booting with ${accelerator.name} (${accelerator.why})`);
    const serialLog = join(dir, 'serial.log');
    boot = await bootVm({
      ...image,
      disks: [disk],
      memoryMib: 2048,
      cpus: 2,
      accelerator,
      serialLog,
      // Emulated, each executor command takes seconds and the whole run minutes.
      timeoutMs: (accelerator.name === 'kvm' ? 5 : 20) * 60_000,
    });
    lap(`VM ${boot.poweredOff ? 'ran and powered off' : boot.timedOut ? 'killed at the time limit' : 'failed'}`);
    const text = await readFromWorkDisk(disk, '/results/report.json');
    report = text === null ? null : guestReportSchema.parse(JSON.parse(text));
    guestExit = (await readFromWorkDisk(disk, '/results/exit-status'))?.trim() ?? null;
    const serial = await readFile(serialLog, 'utf8').catch(() => '');
    for (const line of serial.split(/\r?\n/)) {
      const progress = /guest: (.*(?:took|failed after|started) .*)$/.exec(line);
      if (progress) say(`  ${progress[1]}`);
    }
    story = [
      `the VM ${boot.poweredOff ? 'powered off' : boot.timedOut ? 'was killed at the time limit' : 'did not power off'} after ${boot.seconds.toFixed(0)} s; the guest program exited with ${guestExit ?? '(nothing recorded)'}`,
      boot.qemuStderr && `qemu said: ${boot.qemuStderr}`,
      `the serial console's last lines:\n${await serialTail(serialLog)}`,
    ].filter(Boolean).join('\n');
  }, 40 * 60_000);

  afterAll(async () => {
    if (!dir) return;
    const allPassed = boot?.poweredOff && guestExit === '0' && Object.values(CHECKS).every((title) => report?.checks.some((check) => check.title === title && check.passed));
    if (allPassed) {
      await rm(dir, { recursive: true, force: true });
    } else {
      // The serial console (the guest's progress, the job logs, boot errors) stays for a look.
      await rm(join(dir, 'work.img'), { force: true });
      process.stderr.write(`systemd-host VM: kept the serial console log: ${join(dir, 'serial.log')}\n`);
    }
  });

  it('boots, runs the guest program to its end and powers off', () => {
    expect(boot?.poweredOff, story).toBe(true);
    expect(guestExit, story).toBe('0');
  });

  it.each(Object.values(CHECKS))('%s', (title) => {
    const entry = report?.checks.find((check) => check.title === title);
    if (!entry) throw new Error(`the guest reported nothing for this check\n${story}`);
    if (!entry.passed) throw new Error(`in the VM: ${entry.error}`);
  });
});
