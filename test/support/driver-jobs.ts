/**
 * The build driver (`vm/quarters-build`) run in systemd-nspawn over a base OS, as the driver tests of
 * each flavour use it: a fresh overlay per job, the bundle at /build, the output at /output, optionally
 * a repository at /repo. Call `driverJobs` inside a describe block: it makes and removes the jobs.
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { nspawnBackend } from '../../src/executor/backends/nspawn/index.js';
import type { Environment } from '../../src/executor/environment.js';

const DRIVER = fileURLToPath(new URL('../../vm/quarters-build', import.meta.url));

export interface DriverRunOptions {
  env?: Record<string, string>;
  network?: boolean;
}

export interface DriverJob {
  bundle: string;
  output: string;
  logs: string;
  /** Runs a command in the guest, in /build; output is stdout and stderr interleaved. */
  exec(command: string[], options?: DriverRunOptions): Promise<{ exitCode: number | null; output: string }>;
  /** Runs quarters-build with these arguments. */
  run(args: string[], options?: DriverRunOptions): Promise<{ exitCode: number | null; output: string }>;
}

/** What a job is made of: `writeBundle` fills the bundle directory; `repo` is bound read-only at /repo. */
export interface DriverJobInput {
  writeBundle: (dir: string) => Promise<void>;
  repo?: string;
  extraBinds?: { host: string; guest: string; readOnly?: boolean }[];
}

/** Registers the set-up and clean-up of driver jobs over the base OS `baseTree` gives; returns the maker of a job and the jobs' scratch directory (removed with them). */
export function driverJobs(prefix: string, baseTree: () => Promise<string>): { job: (input: DriverJobInput) => Promise<DriverJob>; scratchDir: () => string } {
  let dir: string;
  let base: string;
  let n = 0;
  const environments: Environment[] = [];
  beforeAll(async () => {
    base = await baseTree();
    dir = await mkdtemp(join(tmpdir(), `quarters-${prefix}-`));
  }, 900_000); // a cold cache means debootstrap: minutes
  afterAll(async () => {
    for (const environment of environments) await environment.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const job = async ({ writeBundle, repo, extraBinds = [] }: DriverJobInput): Promise<DriverJob> => {
    const name = `${prefix}-${process.pid}-${n++}`;
    const root = join(dir, name);
    const bundle = join(root, 'bundle');
    await mkdir(bundle, { recursive: true });
    await writeBundle(bundle);
    const output = join(root, 'output');
    await mkdir(output, { recursive: true });
    await mkdir(join(root, 'workspace'));
    const environment = nspawnBackend(null).environment({
      name,
      workspace: join(root, 'workspace'),
      base: { version: 'test', path: base },
      instance: null,
      binds: [
        { host: DRIVER, guest: '/usr/local/bin/quarters-build', readOnly: true },
        { host: bundle, guest: '/build' },
        { host: output, guest: '/output' },
        ...(repo ? [{ host: repo, guest: '/repo', readOnly: true }] : []),
        ...extraBinds,
      ],
      limits: { memoryMib: 0, cpus: 0 },
    });
    environments.push(environment);
    await environment.setup();
    const exec: DriverJob['exec'] = async (command, options = {}) => {
      const chunks: Buffer[] = [];
      const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => { chunks.push(chunk); done(); } });
      const result = await environment.exec({ command, cwd: '/build', env: options.env ?? {}, network: options.network ?? false, stdout: sink, stderr: sink });
      return { exitCode: result.exitCode, output: Buffer.concat(chunks).toString('utf8') + result.detail };
    };
    return { bundle, output, logs: join(bundle, 'quarters-logs'), exec, run: (args, options) => exec(['quarters-build', ...args], options) };
  };
  return { job, scratchDir: () => dir };
}
