/**
 * One command in one boot of a job's VM: qemu-system-x86_64 with direct kernel boot (the image's
 * kernel, its initramfs followed by the command's plan), the job's copy-on-write disk as /dev/vda,
 * the shares over virtiofs (or 9p), no display, no default devices, no network card unless the command has the
 * network. Three virtio-serial ports carry the status (ready, exit N), stdout and stderr; each is one
 * end of a socket pair the executor holds, so nothing listens on a path. The command's exit status
 * is the one the guest reports after the command ended; a VM that ends without reporting one, or
 * never becomes ready within the boot timeout, is a system failure naming why and the console's
 * last lines.
 *
 * qemu dies with the executor (setpriv --pdeathsig); aborting the command kills it. Its pid is
 * recorded (with its start time) for `destroy` after an executor that was killed outright.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { openOutboundNetwork, type OutboundNetwork } from '../nspawn/outbound-network.js';
import { createRunCgroup, type RunCgroup } from '../../run-cgroup.js';
import { recordProcess } from '../../process-identity.js';
import { acceleratorArguments, type Accelerator } from './accelerator.js';
import { GUEST_NETWORK, PORTS } from './guest-plan.js';
import { startVirtiofs, type ServedShare, type VirtiofsServers } from './virtiofs.js';

export interface MachineShare {
  tag: string;
  host: string;
  readOnly: boolean;
}

export interface MachineRun {
  /** Names the run's cgroup; unique among running jobs. */
  name: string;
  kernel: string;
  /** The image's initramfs and the command's plan, one after the other. */
  initrd: string;
  /** The job's qcow2 disk (its backing chain ends in the image's raw disk). */
  disk: string;
  memoryMib: number;
  cpus: number;
  accelerator: Accelerator;
  shares: readonly MachineShare[];
  /** How the shares are served: virtiofs (with this virtiofsd) or 9p. */
  sharedFs: { kind: 'virtiofs'; virtiofsd: string } | { kind: '9p' };
  /** The job's runtime directory: virtiofsd's sockets, pid files and read-only views live there. */
  runtime: string;
  /** null: no network card; 'outbound': user-mode networking from a namespace that reaches only the outside; 'host': user-mode networking from the host's (the executor's own upgrades). */
  network: null | 'outbound' | 'host';
  blockedDestinations?: readonly string[];
  consoleLog: string;
  /** Where qemu's pid is recorded while it runs. */
  pidFile: string;
  bootTimeoutMs: number;
  stdout: Writable | 'inherit' | 'ignore';
  stderr: Writable | 'inherit' | 'ignore';
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface MachineResult {
  exitCode: number | null;
  detail: string;
  peakMemoryBytes: number | null;
  /** From qemu's start until the guest said it was ready; null when it never did. */
  bootSeconds: number | null;
}

/** qemu's -drive/-fsdev option values take "," as ",,". */
function optionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/** qemu's arguments (after the program name); the ports are fds 3, 4 and 5; `served`: the virtiofs shares' sockets. */
export function qemuArguments(run: MachineRun, served: readonly ServedShare[] = []): string[] {
  const args = [
    '-name', `quarters-${run.name}`,
    '-machine', 'pc', ...acceleratorArguments(run.accelerator),
    '-m', String(run.memoryMib), '-smp', String(run.cpus),
    // No default devices: no network card, VGA, CD-ROM or parallel port, only what is asked for below.
    '-nodefaults', '-no-user-config', '-no-reboot', '-display', 'none', '-monitor', 'none',
    '-serial', `file:${run.consoleLog}`,
    '-kernel', run.kernel, '-initrd', run.initrd,
    // No ACPI, keyboard controller probing or timer checks: seconds of an emulated boot. The guest ends
    // with a reboot, which -no-reboot turns into qemu's exit.
    '-append', 'console=ttyS0 quiet panic=-1 rdinit=/init acpi=off i8042.noaux i8042.nokbd i8042.nopnp tsc=reliable no_timer_check',
    // A full host disk shows in the guest as an I/O error instead of pausing the VM forever.
    '-drive', `file=${optionValue(run.disk)},if=virtio,format=qcow2,cache=unsafe,werror=report,rerror=report`,
    '-device', 'virtio-serial-pci',
  ];
  for (const [index, name] of [PORTS.status, PORTS.stdout, PORTS.stderr].entries()) {
    args.push('-chardev', `socket,id=port${index},fd=${index + 3}`, '-device', `virtserialport,chardev=port${index},name=${name}`);
  }
  if (run.sharedFs.kind === 'virtiofs' && run.shares.length > 0) {
    // vhost-user devices need the guest's memory shared with virtiofsd.
    args.push('-object', `memory-backend-memfd,id=mem,size=${run.memoryMib}M,share=on`, '-numa', 'node,memdev=mem');
    served.forEach((share, index) => args.push('-chardev', `socket,id=vfs${index},path=${optionValue(share.socket)}`, '-device', `vhost-user-fs-pci,chardev=vfs${index},tag=${share.tag}`));
  } else {
    run.shares.forEach((share, index) => {
      args.push(
        '-fsdev', `local,id=fs${index},path=${optionValue(share.host)},security_model=passthrough,multidevs=remap${share.readOnly ? ',readonly=on' : ''}`,
        '-device', `virtio-9p-pci,fsdev=fs${index},mount_tag=${share.tag}`,
      );
    });
  }
  if (run.network) args.push('-netdev', `user,id=net0,net=${GUEST_NETWORK.net},host=${GUEST_NETWORK.gateway},dns=${GUEST_NETWORK.dns},ipv6=off`, '-device', 'virtio-net-pci,netdev=net0');
  return args;
}

/** The last lines of the VM's console, for a failure's message. */
export async function consoleTail(consoleLog: string, lines = 15): Promise<string> {
  const text = await readFile(consoleLog, 'utf8').catch(() => '');
  const tail = text.split('\n').map((line) => line.trimEnd()).filter(Boolean).slice(-lines);
  return tail.length ? tail.join('\n') : '(the console is empty)';
}

/** Boots the VM, runs the plan's command, and resolves once qemu and its ports are done. */
export async function runMachine(run: MachineRun): Promise<MachineResult> {
  let network: OutboundNetwork | null = null;
  if (run.network === 'outbound') {
    try {
      network = await openOutboundNetwork(run.blockedDestinations);
    } catch (error) {
      return { exitCode: null, detail: `no outbound network for the VM: ${(error as Error).message}`, peakMemoryBytes: null, bootSeconds: null };
    }
  }
  let virtiofs: VirtiofsServers | null = null;
  if (run.sharedFs.kind === 'virtiofs' && run.shares.length > 0) {
    try {
      virtiofs = await startVirtiofs(run.sharedFs.virtiofsd, run.runtime, run.shares);
    } catch (error) {
      network?.close();
      return { exitCode: null, detail: `the VM's shares cannot be served: ${(error as Error).message}`, peakMemoryBytes: null, bootSeconds: null };
    }
  }
  const cgroup = await createRunCgroup(run.name, { memoryMib: 0, cpus: 0 }, run.log);
  try {
    return await boot(run, network, cgroup, virtiofs?.shares ?? []);
  } finally {
    network?.close();
    await virtiofs?.close();
    await cgroup?.remove();
  }
}

async function boot(run: MachineRun, network: OutboundNetwork | null, cgroup: RunCgroup | null, served: readonly ServedShare[]): Promise<MachineResult> {
  await rm(run.consoleLog, { force: true });
  const qemu = ['qemu-system-x86_64', ...qemuArguments(run, served)];
  // The first process joins the cgroup (peak memory is the VM's) and, for an outbound network, its namespace; then it becomes qemu.
  const enter = (cgroup?.procsFiles ?? []).map((file) => `echo $$ > '${file.replace(/'/g, "'\\''")}' || exit 124`);
  const argv = [...(network ? ['nsenter', `--net=${network.path}`, '--'] : []), ...qemu];
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', '--', '/bin/sh', '-c', [...enter, 'exec "$@"'].join('\n'), 'quarters-vm', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const started = Date.now();
  const qemuStderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    qemuStderr.push(chunk.toString('utf8'));
    if (qemuStderr.length > 20) qemuStderr.shift();
  });
  const [statusPort, stdoutPort, stderrPort] = [3, 4, 5].map((fd) => child.stdio[fd] as Socket);
  const drained = [forward(stdoutPort!, run.stdout, process.stdout), forward(stderrPort!, run.stderr, process.stderr)];
  let statusText = '';
  let bootSeconds: number | null = null;
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  statusPort!.on('data', (chunk: Buffer) => {
    statusText += chunk.toString('utf8');
    if (bootSeconds === null && /^ready$/m.test(statusText)) {
      bootSeconds = (Date.now() - started) / 1000;
      resolveReady();
    }
  });
  const statusEnded = new Promise<void>((resolve) => statusPort!.on('close', () => resolve()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
  });
  if (child.pid !== undefined) await recordProcess(run.pidFile, child.pid);
  let why: string | null = null;
  const kill = (reason: string): void => {
    why ??= reason;
    child.kill('SIGKILL');
  };
  const onAbort = (): void => kill('stopped');
  run.signal?.addEventListener('abort', onAbort, { once: true });
  if (run.signal?.aborted) onAbort();
  const timer = setTimeout(() => kill('boot timeout'), run.bootTimeoutMs);
  void ready.then(() => {
    clearTimeout(timer);
    run.log(`quarters: VM ready in ${bootSeconds!.toFixed(1)} s (${run.accelerator.name}: ${run.accelerator.why})`);
  });
  const end = await exited;
  clearTimeout(timer);
  run.signal?.removeEventListener('abort', onAbort);
  // qemu is gone: what it passed on is in the sockets; read them to their ends before judging.
  await Promise.all([...drained, statusEnded]);
  await rm(run.pidFile, { force: true });
  const peakMemoryBytes = cgroup ? await cgroup.peakMemoryBytes() : null;
  const exit = /^exit (\d{1,3})$/m.exec(statusText);
  if (exit && why === null) return { exitCode: Number(exit[1]), detail: '', peakMemoryBytes, bootSeconds };
  const system = /^system (.*)$/m.exec(statusText)?.[1];
  let detail: string;
  if (end.error) detail = `cannot start qemu: ${end.error.message}`;
  else if (why === 'boot timeout') detail = `the VM did not become ready within ${Math.round(run.bootTimeoutMs / 1000)} s (qemu.boot_timeout_seconds, ${run.accelerator.name}); its console's last lines:\n${await consoleTail(run.consoleLog)}`;
  else if (why === 'stopped') detail = 'the VM was stopped';
  else if (system) detail = `the VM could not run the command: ${system}; its console's last lines:\n${await consoleTail(run.consoleLog)}`;
  else {
    const how = end.signal ? `was killed by ${end.signal}` : `exited with ${end.code}`;
    const said = qemuStderr.join('').trim().split('\n').slice(-5).join('\n');
    detail = `the VM ended without reporting the command's exit status (qemu ${how}${said ? `: ${said}` : ''}); its console's last lines:\n${await consoleTail(run.consoleLog)}`;
  }
  return { exitCode: null, detail, peakMemoryBytes, bootSeconds };
}

/** Passes a port's bytes on, and resolves when the port has ended. */
function forward(port: Socket, target: Writable | 'inherit' | 'ignore', inherited: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    port.on('data', (chunk: Buffer) => {
      if (target === 'inherit') inherited.write(chunk);
      else if (target !== 'ignore') target.write(chunk);
    });
    port.on('close', () => resolve());
    port.on('error', () => resolve());
  });
}
