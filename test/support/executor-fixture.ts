/** A throw-away executor installation for tests: work_dir, source lists, config, a busybox base loaded through the CLI. */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { EMULATOR_ARTIFACTS_ROOT } from '../runner-emulator/emulator.js';

export const EXECUTOR = ['node', resolve(import.meta.dirname, '../../dist/executor/quarters-executor.cjs')] as const;

/** The unprivileged host user of the tests: nobody exists on every Debian host. */
export const TEST_HOST_USER = '65534:65534';

export interface ExecutorFixture {
  dir: string;
  workDir: string;
  configFile: string;
  sourceLists: string;
  env: Record<string, string>;
  /** Runs a quarters-executor command with the fixture's config. */
  cli(args: string[], env?: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  writeConfig(extra: string): Promise<void>;
  remove(): Promise<void>;
}

/** The backends the executor's suites run on: containers everywhere, VMs where qemu can run (under KVM or TCG). */
export type TestBackend = 'nspawn' | 'qemu';

/** Config for the backend: `backend = ...` (a top-level key) and, for VMs, their settings (a table: it goes last). */
function backendToml(backend: TestBackend): { top: string; tables: string } {
  if (backend === 'nspawn') return { top: '', tables: '' };
  // Small VMs: the tests run several at once on small hosts; a slow emulated boot is not a failure.
  return { top: 'backend = "qemu"', tables: '[qemu]\nboot_timeout_seconds = 600\n[limits]\nmemory_mib = 1024' };
}

/** Creates the fixture; `extraToml` is appended to the config (e.g. "[network]\nbuild = true"). */
export async function createExecutorFixture(extraToml = '', options: { loadBase?: boolean; backend?: TestBackend } = {}): Promise<ExecutorFixture> {
  const backend = backendToml(options.backend ?? 'nspawn');
  const dir = await mkdtemp(join(tmpdir(), 'quarters-executor-test-'));
  // The host user must reach the build directories below it.
  await chmod(dir, 0o755);
  const workDir = join(dir, 'work');
  const sourceLists = join(dir, 'sources');
  await mkdir(sourceLists);
  await writeFile(join(sourceLists, 'stable.list'), '# the busybox test base has no package manager\n');
  const configFile = join(dir, 'executor.toml');
  const env = { QUARTERS_EXECUTOR_CONFIG: configFile, QUARTERS_LOG_LEVEL: 'warn' };
  const fixture: ExecutorFixture = {
    dir,
    workDir,
    configFile,
    sourceLists,
    env,
    async cli(args, extraEnv = {}) {
      const result = await execa(EXECUTOR[0], [...EXECUTOR.slice(1), ...args], { env: { ...env, ...extraEnv }, reject: false });
      return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
    },
    async writeConfig(extra) {
      // Host stages see the fixture (the repositories the emulator clones from) and its artifact storage: GitLab's side of the network.
      const hostStages = `host_stages = { paths = ${JSON.stringify([dir, EMULATOR_ARTIFACTS_ROOT])} }`;
      await writeFile(configFile, `work_dir = "${workDir}"\nsource_lists = "${sourceLists}"\nhost_user = "${TEST_HOST_USER}"\n${backend.top}\n${hostStages}\n${extra}\n${backend.tables}\n`);
    },
    async remove() {
      await rm(dir, { recursive: true, force: true });
    },
  };
  await fixture.writeConfig(extraToml);
  if (options.loadBase !== false) {
    const loaded = await fixture.cli(['baseos', 'load', '--busybox']);
    if (loaded.exitCode !== 0) throw new Error(`loading the busybox base failed: ${loaded.stderr}`);
  }
  return fixture;
}
