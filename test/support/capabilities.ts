/** Whether this machine can run the container tests; a reason to print when it cannot. */
import { existsSync } from 'node:fs';
import { execaSync } from 'execa';
import { findGuestKernel } from '../../src/executor/backends/qemu/kernel.js';
import type { TestBackend } from './executor-fixture.js';
import { makeBaseSkipReason } from './make-base.js';

/** Null when overlayfs and systemd-nspawn can be used here, else why not. */
export function containerSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'container tests need root (overlayfs mounts, systemd-nspawn)';
  for (const tool of ['systemd-nspawn', 'unshare', 'setpriv']) {
    if (execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode !== 0) return `container tests need ${tool} (apt-get install systemd-container util-linux)`;
  }
  return null;
}

/** Skips a describe block with a printed reason when containers cannot run here. */
export function reportSkip(reason: string | null, suite: string): boolean {
  if (reason) process.stderr.write(`SKIPPED ${suite}: ${reason}\n`);
  return reason !== null;
}

/** Null when job disks (limits.disk_mib) can be made here: containers, loop devices, mkfs.ext4; else why not. */
export function loopSkipReason(): string | null {
  const containers = containerSkipReason();
  if (containers) return containers;
  if (!existsSync('/dev/loop-control')) return 'disk limit tests need loop devices (/dev/loop-control is missing: modprobe loop)';
  if (execaSync('sh', ['-c', 'command -v mkfs.ext4'], { reject: false }).exitCode !== 0) return 'disk limit tests need mkfs.ext4 (apt-get install e2fsprogs)';
  return null;
}

/** Null when the systemd-host VM can be made and booted here, else why not. */
export function systemdHostVmSkipReason(): string | null {
  const base = makeBaseSkipReason('the systemd-host VM');
  if (base) return base;
  for (const [tool, pkg] of [['qemu-system-x86_64', 'qemu-system-x86'], ['mkfs.ext4', 'e2fsprogs'], ['debugfs', 'e2fsprogs'], ['unshare', 'util-linux'], ['setpriv', 'util-linux']]) {
    if (execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode !== 0) return `the systemd-host VM needs ${tool} (apt-get install ${pkg}; scripts/install-deps installs it)`;
  }
  // Emulated (TCG) it still works, in minutes: only on request where there is no /dev/kvm at all.
  if (!existsSync('/dev/kvm') && process.env.QUARTERS_VM_ACCEL !== 'tcg') return 'the systemd-host VM needs /dev/kvm (QUARTERS_VM_ACCEL=tcg runs it emulated, slowly)';
  return null;
}

/** Null when the qemu backend's VMs can run here (under KVM or, slower, TCG), else why not. */
export function qemuSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'VM tests need root (9p passthrough shares, cgroups)';
  for (const [tool, pkg] of [['qemu-system-x86_64', 'qemu-system-x86'], ['qemu-img', 'qemu-utils'], ['mkfs.ext4', 'e2fsprogs'], ['setpriv', 'util-linux'], ['busybox', 'busybox-static']]) {
    if (execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode !== 0) return `VM tests need ${tool} (apt-get install ${pkg}; scripts/install-deps installs it)`;
  }
  try {
    findGuestKernel('auto');
  } catch (error) {
    return `VM tests need a kernel: ${(error as Error).message}`;
  }
  return null;
}

/** The backends the executor's runner-emulator suites run on; QUARTERS_TEST_BACKENDS=nspawn (or qemu) narrows them, and says so. */
export const TEST_BACKENDS: readonly TestBackend[] = (['nspawn', 'qemu'] as const).filter((backend) => {
  const only = process.env.QUARTERS_TEST_BACKENDS?.split(',').map((b) => b.trim());
  if (!only || only.includes(backend)) return true;
  process.stderr.write(`SKIPPED the ${backend} backend's suites: QUARTERS_TEST_BACKENDS=${process.env.QUARTERS_TEST_BACKENDS}\n`);
  return false;
});

/** Null when jobs can run on `backend` here, else why not. */
export function backendSkipReason(backend: TestBackend): string | null {
  return backend === 'qemu' ? (containerSkipReason() ?? qemuSkipReason()) : containerSkipReason();
}

/** Where the browser tests find Chromium (scripts/install-deps installs Debian's). */
export const CHROMIUM = '/usr/bin/chromium';

/** Null when headless Chromium can be driven here, else why not. */
export function chromiumSkipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `the browser tests need ${CHROMIUM} (apt-get install chromium; scripts/install-deps installs it)`;
  return null;
}
