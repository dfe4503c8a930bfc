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

const SETTINGS: QemuSettings = { kernel: 'auto', accelerator: 'auto', boot_timeout_seconds: 300, default_memory_mib: 512 };

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

  async function environment(extra: Partial<EnvironmentSpec> = {}): Promise<{ env: Environment; spec: EnvironmentSpec }> {
    const name = `qvm-${process.pid}-${n++}`;
    const workspace = join(dir, name);
    await mkdir(workspace);
    const spec: EnvironmentSpec = { name, workspace, base: image, instance: null, binds: [], limits: { memoryMib: 0, cpus: 1 }, ...extra };
    const env = backend.environment(spec);
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
});
