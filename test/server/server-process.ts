/**
 * The built `quarters server` as its own process, on a config file and a data directory that outlive
 * it: started, killed with SIGKILL at any moment, and started again, as a crash and a restart would.
 * The crash tests (storm.test.ts, crash.test.ts) drive it; `npm run build` makes dist/ first.
 */
import { execa, type ResultPromise } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/free-port.js';
import type { GitLabDouble } from '../gitlab-double/index.js';
import { tempDir } from './http-harness.js';
import { API_TOKEN, EXECUTOR_TOKEN, WEBHOOK_SECRET } from './server-harness.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface ServerProcess {
  url: string;
  config: string;
  dataDir: string;
  /** The running process's pid, or null between a kill and the next start. */
  readonly pid: number | null;
  /** Starts the server and resolves once /healthz answers. */
  start(): Promise<void>;
  /** Starts the server process and returns at once (to kill it while it starts up). */
  spawn(): void;
  /** SIGKILL, and waits for the process to be gone (nothing of it runs any more). */
  kill(): Promise<void>;
}

/** A server process for `gitlab` (packages group; pkgbuild on x86_64 unless `build` says otherwise), not yet started; `dataDir` defaults to a new directory. */
export async function serverProcess(gitlab: GitLabDouble, options: { dataDir?: string; maxInFlight?: number; build?: { flavour: string; architectures: string[] }; extraConfig?: string[] } = {}): Promise<ServerProcess> {
  const build = options.build ?? { flavour: 'pkgbuild', architectures: ['x86_64'] };
  const dir = tempDir('quarters-process-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = options.dataDir ?? join(dir, 'data');
  const config = join(dir, 'quarters.toml');
  writeFileSync(config, [
    `listen = "127.0.0.1:${port}"`, `public_url = "${url}"`, `data_dir = "${dataDir}"`,
    '[gitlab]', `url = "${gitlab.url}"`, `token = "${gitlab.token}"`, `webhook_secret = "${WEBHOOK_SECRET}"`, 'packages_group = "packages"',
    '[build]', `flavour = "${build.flavour}"`, `architectures = ${JSON.stringify(build.architectures)}`, `max_in_flight = ${options.maxInFlight ?? 4}`,
    '[api]', `tokens = ["${API_TOKEN}"]`,
    '[executor]', `tokens = ["${EXECUTOR_TOKEN}"]`, ...(options.extraConfig ?? []), '',
  ].join('\n'));
  let child: ResultPromise | null = null;
  const spawn = () => {
    child = execa('node', [CLI, 'server', '--config', config], { reject: false, env: { QUARTERS_LOG_LEVEL: 'warn' }, buffer: false, stdio: 'ignore' });
  };
  return {
    url, config, dataDir, spawn,
    get pid() {
      return child?.pid ?? null;
    },
    async start() {
      spawn();
      for (let i = 0; i < 200; i++) {
        if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the server did not come up');
    },
    async kill() {
      const running = child;
      child = null;
      running?.kill('SIGKILL');
      await running;
    },
  };
}
