/**
 * The qemu backend: throw-away virtual machines, for build code that must not share the host's
 * kernel. A job's environment is a qcow2 disk backed by the instance's (itself backed by the base
 * OS version's image, image.ts); every command boots the VM from that disk, runs, and ends
 * (machine.ts), so what a command leaves in the disk is there for the next one, and nothing else
 * lives on between commands. Directories are shared over 9p, files copied into the command's
 * initramfs; a command without network gets no network card.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describeEnd, runProcess } from '../../../common/child-process.js';
import { fsyncPath } from '../../../common/fsync.js';
import type { BaseOsStore, BaseVersion } from '../../baseos/store.js';
import type { Backend, BaseImage, Environment, EnvironmentSpec, ExecResult, GuestBind, GuestCommand } from '../../environment.js';
import { makeDir, removeTree } from '../../fs-layers.js';
import { killRecordedProcess } from '../../process-identity.js';
import { removeRunCgroups } from '../../run-cgroup.js';
import { chooseAccelerator, type Accelerator } from './accelerator.js';
import { cpioArchive } from './cpio.js';
import { GUEST_NETWORK, planArchive, type PlanFile, type PlanShare } from './guest-plan.js';
import { ensureVmImage, vmImageFiles } from './image.js';
import { runMachine, type MachineRun, type MachineShare } from './machine.js';
import { findVirtiofsd, stopVirtiofs } from './virtiofs.js';
import { OUTBOUND_NAMESERVER } from '../nspawn/outbound-network.js';

export interface QemuSettings {
  /** A kernel image (vmlinuz-RELEASE with /lib/modules/RELEASE), or "auto": the host's newest. */
  kernel: string;
  accelerator: 'auto' | 'kvm' | 'tcg';
  boot_timeout_seconds: number;
  /** Memory of a VM when limits.memory_mib is 0 (unlimited is no size for a VM). */
  default_memory_mib: number;
  /** How directories are shared: "auto" (virtiofs where virtiofsd is installed, else 9p), "virtiofs" or "9p". */
  shared_fs: 'auto' | 'virtiofs' | '9p';
}

/** Files bound into the guest are copied into its initramfs: this is as large as one may be. */
const MAX_BOUND_FILE = 64 * 1024 ** 2;

/** The job's runtime files (console log, pid, initramfs of the running command) and its disk. */
function vmPaths(workspace: string, layerDir = workspace): { runtime: string; pidFile: string; diskDir: string; disk: string } {
  const runtime = join(workspace, 'vm');
  const diskDir = join(layerDir, 'vm-disk');
  return { runtime, pidFile: join(runtime, 'qemu.pid'), diskDir, disk: join(diskDir, 'disk.qcow2') };
}

/** An instance version's layer: a qcow2 disk backed by the base image's. */
function instanceDisk(dir: string): string {
  return join(dir, 'disk.qcow2');
}

async function destroyMachine(name: string, workspace: string, layerDir?: string): Promise<void> {
  const paths = vmPaths(workspace, layerDir);
  // A VM whose executor was killed before it (pdeathsig normally takes it along).
  await killRecordedProcess(paths.pidFile);
  await stopVirtiofs(paths.runtime);
  await removeRunCgroups(name);
  await removeTree(paths.runtime);
  await removeTree(paths.diskDir);
}

class QemuEnvironment implements Environment {
  private readonly paths: ReturnType<typeof vmPaths>;

  constructor(
    private readonly spec: EnvironmentSpec,
    private readonly settings: QemuSettings,
    private readonly accelerator: Accelerator,
    private readonly sharedFs: MachineRun['sharedFs'],
  ) {
    this.paths = vmPaths(spec.workspace, spec.layerDir);
  }

  async setup(): Promise<void> {
    await makeDir(this.paths.runtime, 0o700);
    await makeDir(this.paths.diskDir, 0o700);
    const backing = this.spec.instance ? { file: instanceDisk(this.spec.instance.dir), format: 'qcow2' } : { file: vmImageFiles(this.spec.base.path).disk, format: 'raw' };
    const created = await runProcess('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', backing.format, '-b', backing.file, this.paths.disk], { capture: true });
    if (created.exitCode !== 0) throw new Error(`cannot create the VM's disk ${this.paths.disk} (qemu-img ${describeEnd(created)}): ${created.output.trim()}`);
  }

  async exec(command: GuestCommand): Promise<ExecResult> {
    const log = command.log ?? (() => {});
    const image = vmImageFiles(this.spec.base.path);
    let shares: MachineShare[];
    let plan: ReturnType<typeof planArchive>;
    const network = command.network ? (this.spec.outboundOnly ? 'outbound' : 'host') : null;
    try {
      const { machineShares, planShares, files } = await this.guestBinds([...this.spec.binds, ...(command.binds ?? [])]);
      shares = machineShares;
      plan = planArchive({
        command: command.command,
        cwd: command.cwd ?? '/',
        env: command.env ?? {},
        shares: planShares,
        files,
        // Outbound: the resolver of the namespace's slirp4netns, reached through qemu's NAT; the host's: qemu's own.
        network: network ? { nameserver: network === 'outbound' ? OUTBOUND_NAMESERVER : GUEST_NETWORK.dns } : null,
        tmpfsMib: this.spec.limits.tmpfsMib ?? 0,
        stdout: command.stdout !== 'ignore',
        stderr: command.stderr !== 'ignore',
        hostname: this.spec.name,
      });
    } catch (error) {
      return { exitCode: null, detail: `the VM cannot run this command: ${(error as Error).message}`, peakMemoryBytes: null };
    }
    const initrd = join(this.paths.runtime, 'initrd.img');
    await writeFile(initrd, Buffer.concat([await readFile(image.initrd), cpioArchive(plan)]), { mode: 0o600 });
    const result = await runMachine({
      name: this.spec.name,
      kernel: image.kernel,
      initrd,
      disk: this.paths.disk,
      memoryMib: this.spec.limits.memoryMib > 0 ? this.spec.limits.memoryMib : this.settings.default_memory_mib,
      cpus: Math.max(1, Math.ceil(this.spec.limits.cpus > 0 ? this.spec.limits.cpus : availableParallelism())),
      accelerator: this.accelerator,
      shares,
      sharedFs: this.sharedFs,
      runtime: this.paths.runtime,
      network,
      blockedDestinations: this.spec.blockedDestinations,
      // The VM's console for this command; a failure's message quotes its last lines.
      consoleLog: join(this.paths.runtime, 'console.log'),
      pidFile: this.paths.pidFile,
      bootTimeoutMs: this.settings.boot_timeout_seconds * 1000,
      stdout: command.stdout ?? 'inherit',
      stderr: command.stderr ?? 'inherit',
      signal: command.signal,
      log,
    });
    // An instance's disk outlives the job: on the disk before it is kept.
    if (this.spec.persistent) await fsyncPath(this.paths.disk);
    return { exitCode: result.exitCode, detail: result.detail, peakMemoryBytes: result.peakMemoryBytes };
  }

  /** Directories become shares (virtiofs or 9p); files (read-only only) are copied into the command's initramfs. */
  private async guestBinds(binds: readonly GuestBind[]): Promise<{ machineShares: MachineShare[]; planShares: PlanShare[]; files: PlanFile[] }> {
    const machineShares: MachineShare[] = [];
    const planShares: PlanShare[] = [];
    const files: PlanFile[] = [];
    for (const bind of binds) {
      const info = await stat(bind.host).catch(() => null);
      if (!info) throw new Error(`${bind.host}, to be offered at ${bind.guest}, does not exist`);
      if (info.isDirectory()) {
        const tag = `q${machineShares.length}`;
        machineShares.push({ tag, host: bind.host, readOnly: bind.readOnly ?? false });
        planShares.push({ tag, guest: bind.guest, readOnly: bind.readOnly ?? false, fs: this.sharedFs.kind });
      } else if (info.isFile()) {
        if (!bind.readOnly) throw new Error(`${bind.host} is a file offered writable at ${bind.guest}: a VM takes files read-only only`);
        if (info.size > MAX_BOUND_FILE) throw new Error(`${bind.host} (${info.size} bytes) is larger than the ${MAX_BOUND_FILE} bytes a VM takes as a file; offer its directory instead`);
        files.push({ guest: bind.guest, content: await readFile(bind.host), mode: info.mode });
      } else throw new Error(`${bind.host} is neither a directory nor a regular file`);
    }
    return { machineShares, planShares, files };
  }

  async destroy(): Promise<void> {
    await destroyMachine(this.spec.name, this.spec.workspace, this.spec.layerDir);
  }

  async diskUsage(): Promise<number> {
    if (!existsSync(this.paths.disk)) return 0;
    return (await stat(this.paths.disk)).blocks * 512;
  }

  async keepLayer(dir: string): Promise<void> {
    await rename(this.paths.disk, instanceDisk(dir));
  }
}

/** The qemu backend with these settings; `spareMib` is the room a VM's disk has for what jobs write. */
export function qemuBackend(settings: QemuSettings, spareMib: number): Backend {
  let accelerator: Accelerator | null = null;
  let sharedFs: MachineRun['sharedFs'] | null = null;
  const chooseSharedFs = (): MachineRun['sharedFs'] => {
    const virtiofsd = settings.shared_fs === '9p' ? null : findVirtiofsd();
    if (settings.shared_fs === 'virtiofs' && !virtiofsd) throw new Error('qemu.shared_fs is "virtiofs" but no virtiofsd is installed (apt-get install qemu-system-common)');
    return virtiofsd ? { kind: 'virtiofs', virtiofsd } : { kind: '9p' };
  };
  return {
    name: 'qemu',
    // The VM is the boundary: its ids are its own, the image keeps the tree's.
    idBase: null,
    prepareBase: async (_store: BaseOsStore, version: BaseVersion, log: (line: string) => void): Promise<BaseImage> => {
      const files = await ensureVmImage(version, { kernel: settings.kernel, spareMib }, log);
      return { version: version.version, path: files.dir };
    },
    environment: (spec) => new QemuEnvironment(spec, settings, (accelerator ??= chooseAccelerator(settings.accelerator)), (sharedFs ??= chooseSharedFs())),
    destroy: (name, workspace) => destroyMachine(name, workspace),
  };
}
