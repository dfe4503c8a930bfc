/** Whether this machine can run the container tests; a reason to print when it cannot. */
import { existsSync } from 'node:fs';
import { execaSync } from 'execa';

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
