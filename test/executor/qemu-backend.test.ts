/**
 * The qemu backend on its own, through the Environment interface only: real VMs (KVM where the
 * host has hardware virtualization, TCG otherwise; the output says which) booted from the image of a
 * busybox base OS version. Exit statuses exactly as the command ended, stdout and stderr apart,
 * shares read-write and read-only, files bound read-only, the disk kept between commands and as an
 * instance layer, no network card without network, a boot timeout that names itself and the
 * console, a stop that kills the VM, and nothing left after destroy, even after kill -9 of the process that ran the VM.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBusybox } from '../../src/executor/baseos/load.js';
import { BaseOsStore, type BaseVersion } from '../../src/executor/baseos/store.js';
import { chooseAccelerator } from '../../src/executor/backends/qemu/accelerator.js';
import { qemuBackend, type QemuSettings } from '../../src/executor/backends/qemu/index.js';
import type { Backend, BaseImage, Environment, EnvironmentSpec, GuestCommand } from '../../src/executor/environment.js';
import { layoutOf } from '../../src/executor/layout.js';
import { executorConfigSchema } from '../../src/executor/config.js';
import { qemuSkipReason, reportSkip } from '../support/capabilities.js';

const skip = qemuSkipReason();
reportSkip(skip, 'qemu backend');

const SETTINGS: QemuSettings = { kernel: 'auto', accelerator: 'auto', boot_timeout_seconds: 300, default_memory_mib: 512, shared_fs: 'auto' };

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return { stream: new Writable({ write: (chunk: Buffer, _e, done) => { chunks.push(chunk); done(); } }), text: () => Buffer.concat(chunks).toString('utf8') };
}

describe.skipIf(skip)('the qemu backend', () => {
  let dir: string;
  let store: BaseOsStore;
  let version: BaseVersion;
  let backend: Backend;
  let image: BaseImage;
  let n = 0;
  const environments: Environment[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quarters-qemu-'));
    const config = executorConfigSchema.parse({ work_dir: join(dir, 'work') });
    store = new BaseOsStore(layoutOf(config));
    version = await loadBusybox(store);
    backend = qemuBackend(SETTINGS, 64);
    const accelerator = chooseAccelerator('auto');
    process.stdout.write(`qemu backend tests run under ${accelerator.name} (${accelerator.why})\n`);
    image = await backend.prepareBase(store, version, () => {});
  }, 300_000);

  afterAll(async () => {
    for (const environment of environments) await environment.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function environment(extra: Partial<EnvironmentSpec> = {}, on: Backend = backend): Promise<{ env: Environment; spec: EnvironmentSpec }> {
    const name = `qvm-${process.pid}-${n++}`;
    const workspace = join(dir, name);
    await mkdir(workspace);
    const spec: EnvironmentSpec = { name, workspace, base: image, instance: null, binds: [], limits: { memoryMib: 0, cpus: 1 }, ...extra };
    const env = on.environment(spec);
    environments.push(env);
    await env.setup();
    return { env, spec };
  }

  async function run(env: Environment, script: string, options: Partial<GuestCommand> = {}): Promise<{ exitCode: number | null; stdout: string; stderr: string; detail: string }> {
    const out = sink();
    const err = sink();
    const result = await env.exec({ command: ['/bin/sh', '-c', script], network: false, stdout: out.stream, stderr: err.stream, ...options });
    return { exitCode: result.exitCode, stdout: out.text(), stderr: err.text(), detail: result.detail };
  }

  it('runs a command and reports its exit status, stdout and stderr exactly; what it writes stays for the next command', async () => {
    const { env } = await environment();
    const first = await run(env, 'echo to-stdout; echo to-stderr >&2; echo kept > /kept; exit 7');
    expect(first).toEqual({ exitCode: 7, stdout: 'to-stdout\n', stderr: 'to-stderr\n', detail: '' });
    const second = await run(env, 'cat /kept; kill -9 $$');
    expect(second.stdout).toBe('kept\n');
    expect(second.exitCode).toBe(137);
    expect((await run(env, 'exit 0')).exitCode).toBe(0);
    expect(await env.diskUsage()).toBeGreaterThan(0);
  }, 600_000);

  it.each(['virtiofs', '9p'] as const)('shares directories read-write and read-only over %s and binds files read-only; the host sees what the guest wrote', async (sharedFs) => {
    const host = join(dir, `shares-${n}`);
    for (const sub of ['rw', 'ro']) await mkdir(join(host, sub), { recursive: true });
    await writeFile(join(host, 'ro', 'given'), 'from the host\n');
    await writeFile(join(host, 'script'), '#!/bin/sh\necho bound file\n', { mode: 0o755 });
    const { env } = await environment({ binds: [{ host: join(host, 'rw'), guest: '/work/rw' }, { host: join(host, 'ro'), guest: '/work/ro', readOnly: true }] }, qemuBackend({ ...SETTINGS, shared_fs: sharedFs }, 64));
    const result = await run(env, 'grep -c " /work/r[ow] $FS " /proc/mounts; echo written > /work/rw/out && cat /work/ro/given && /etc/quarters-script && if echo x > /work/ro/given; then echo WROTE; fi; if mount -o remount,rw /work/ro 2>/dev/null && echo y > /work/ro/given; then echo REMOUNTED; fi; exit 0', { binds: [{ host: join(host, 'script'), guest: '/etc/quarters-script', readOnly: true }], env: { FS: sharedFs } });
    expect(result.exitCode, result.detail).toBe(0);
    expect(result.stdout).toBe('2\nfrom the host\nbound file\n');
    expect(await readFile(join(host, 'rw', 'out'), 'utf8')).toBe('written\n');
    expect(await readFile(join(host, 'ro', 'given'), 'utf8')).toBe('from the host\n');
    // A writable file bind cannot be honoured by a VM: refused, naming it, not silently copied.
    const refused = await run(env, 'true', { binds: [{ host: join(host, 'script'), guest: '/etc/x' }] });
    expect(refused.exitCode).toBeNull();
    expect(refused.detail).toMatch(/file offered writable at \/etc\/x/);
  }, 600_000);

  it('gives a command without network no network card, passes its environment and working directory, and lets it make namespaces', async () => {
    const { env } = await environment();
    // The root disk is "/", not a chroot: the build driver's offline network is a user and network namespace of its own.
    const result = await run(env, 'ls /sys/class/net; pwd; echo "$GREETING"; unshare -U -n true && echo namespaces', { cwd: '/tmp', env: { GREETING: "it's \"quoted\" $HOME" } });
    expect(result.exitCode, result.detail).toBe(0);
    expect(result.stdout).toBe("lo\n/tmp\nit's \"quoted\" $HOME\nnamespaces\n");
  }, 600_000);

  it('keeps a disk as an instance layer that new environments start from', async () => {
    const { env: refresh } = await environment({ persistent: true });
    expect((await run(refresh, 'echo upgraded > /etc/instance-mark')).exitCode).toBe(0);
    const instanceDir = join(dir, `instance-${n}`);
    await mkdir(instanceDir);
    await refresh.keepLayer(instanceDir);
    await refresh.destroy();
    const { env } = await environment({ instance: { key: 'stable-x86_64', version: 'v1', dir: instanceDir } });
    const result = await run(env, 'cat /etc/instance-mark');
    expect(result).toMatchObject({ exitCode: 0, stdout: 'upgraded\n' });
  }, 600_000);

  it('fails a VM that does not become ready in time as a system failure naming the timeout and the console', async () => {
    const impatient = qemuBackend({ ...SETTINGS, boot_timeout_seconds: 0.5 }, 64);
    const name = `qvm-${process.pid}-${n++}`;
    const workspace = join(dir, name);
    await mkdir(workspace);
    const env = impatient.environment({ name, workspace, base: image, instance: null, binds: [], limits: { memoryMib: 0, cpus: 1 } });
    environments.push(env);
    await env.setup();
    const result = await run(env, 'true');
    expect(result.exitCode).toBeNull();
    expect(result.detail).toMatch(/did not become ready within 1 s \(qemu.boot_timeout_seconds, (kvm|tcg)\); its console's last lines:/);
    expect(await qemuProcesses(name)).toEqual([]);
  }, 600_000);

  it('stops the VM when the command is aborted, and destroy leaves nothing', async () => {
    const { env, spec } = await environment();
    const controller = new AbortController();
    const pending = run(env, 'echo started; sleep 600', { signal: controller.signal, log: (line) => { if (line.includes('VM ready')) setTimeout(() => controller.abort(), 500); } });
    const result = await pending;
    expect(result.exitCode).toBeNull();
    expect(result.detail).toBe('the VM was stopped');
    expect(await qemuProcesses(spec.name)).toEqual([]);
    await env.destroy();
    expect(await readdir(spec.workspace)).toEqual([]);
  }, 600_000);

  it('takes the VM down with a process killed outright, and destroy by name alone cleans up after it', async () => {
    const { spec } = await environment();
    // A process of its own runs the command, as an executor stage does; it is killed with SIGKILL once the VM runs.
    const script = `
      import { qemuBackend } from ${JSON.stringify(join(import.meta.dirname, '../../dist/executor/backends/qemu/index.js'))};
      const spec = JSON.parse(process.argv[1]);
      await qemuBackend(${JSON.stringify(SETTINGS)}, 64).environment(spec).exec({ command: ['/bin/sh', '-c', 'sleep 600'], network: false, stdout: 'ignore', stderr: 'ignore', log: (line) => console.log(line) });
    `;
    const child = execa('node', ['--input-type=module', '--eval', script, JSON.stringify(spec)], { reject: false });
    await new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('VM ready')) resolve(); }));
    expect(await qemuProcesses(spec.name)).toHaveLength(1);
    child.kill('SIGKILL');
    await child;
    for (let i = 0; i < 50 && (await qemuProcesses(spec.name)).length; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await qemuProcesses(spec.name)).toEqual([]);
    await backend.destroy(spec.name, spec.workspace);
    expect(existsSync(join(spec.workspace, 'vm'))).toBe(false);
    expect(existsSync(join(spec.workspace, 'vm-disk'))).toBe(false);
  }, 600_000);
});

/** The qemu processes of a job's VM. */
async function qemuProcesses(name: string): Promise<string[]> {
  const result = await execa('pgrep', ['-f', `quarters-${name} `], { reject: false });
  return result.stdout.split('\n').filter(Boolean);
}
