/**
 * Booting a test VM with qemu-system-x86_64: direct kernel boot, no network, no display, the
 * serial console into a log file, a hard time limit after which qemu is killed (and qemu killed
 * with the test process).
 */
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { acceleratorArguments, chooseAccelerator as chooseExecutorAccelerator, type Accelerator } from '../../../src/executor/backends/qemu/accelerator.js';

export type { Accelerator } from '../../../src/executor/backends/qemu/accelerator.js';

/** The executor's choice (src/executor/backends/qemu/accelerator.ts); QUARTERS_VM_ACCEL=kvm|tcg decides instead. */
export function chooseAccelerator(): Accelerator {
  const forced = process.env.QUARTERS_VM_ACCEL;
  return forced === 'kvm' || forced === 'tcg' ? { name: forced, why: 'QUARTERS_VM_ACCEL' } : chooseExecutorAccelerator('auto');
}

export interface BootOptions {
  kernel: string;
  initrd: string;
  append: string;
  /** The first disk (/dev/vda), opened as a snapshot: the guest's writes never reach the file. */
  root: string;
  /** Further disks (/dev/vdb...), writable. */
  disks: readonly string[];
  memoryMib: number;
  cpus: number;
  accelerator: Accelerator;
  /** Where the serial console goes. */
  serialLog: string;
  /** qemu is killed when the VM has not powered off by then. */
  timeoutMs: number;
}

export interface BootResult {
  /** The VM powered off by itself (qemu exited 0). */
  poweredOff: boolean;
  timedOut: boolean;
  seconds: number;
  /** What qemu itself said on stderr (an unknown option, a missing file...). */
  qemuStderr: string;
}

/** Boots the VM and waits until it powers off, or kills it at the time limit. */
export async function bootVm(options: BootOptions): Promise<BootResult> {
  const accel = acceleratorArguments(options.accelerator);
  const args = [
    '-machine', 'pc', ...accel,
    '-m', String(options.memoryMib), '-smp', String(options.cpus),
    // No default devices: no network card, VGA, CD-ROM or parallel port, only what is asked for below.
    '-nodefaults', '-no-reboot', '-display', 'none', '-monitor', 'none',
    '-serial', `file:${options.serialLog}`,
    '-kernel', options.kernel, '-initrd', options.initrd, '-append', options.append,
    '-drive', `file=${options.root},if=virtio,format=raw,snapshot=on`,
    ...options.disks.flatMap((disk) => ['-drive', `file=${disk},if=virtio,format=raw`]),
  ];
  const started = Date.now();
  // pdeathsig: a test run killed outright takes its VM along, instead of leaving it to run out its time.
  const qemu = await execa('setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', ...args], { reject: false, stdin: 'ignore', timeout: options.timeoutMs, killSignal: 'SIGKILL' });
  return { poweredOff: qemu.exitCode === 0 && !qemu.timedOut, timedOut: qemu.timedOut, seconds: (Date.now() - started) / 1000, qemuStderr: qemu.stderr };
}

/** The last `lines` lines of the serial log, for a failure message. */
export async function serialTail(serialLog: string, lines = 60): Promise<string> {
  const text = await readFile(serialLog, 'utf8').catch(() => '(no serial log)');
  return text.split('\n').slice(-lines).join('\n');
}
