/**
 * The whole system as a deployment joins it, one per test file: the GitLab double; a quarters
 * server talking to it through the real client, listening on a real port that is also its
 * public_url (what builds get as QUARTERS_SERVER_URL); an executor installation with the
 * Arch-on-Debian base OS (or, for flavour debian, the Debian build base) loaded once; and a GitLab Runner (gitlab-runner.ts) that runs every job
 * of every pipeline the server creates through the real quarters-executor bundle, with the CI
 * template's script. Nothing is shared between the parts but HTTP, git and the executor's config.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { BuildState } from '../../src/core/build-state.js';
import { serverConfigSchema } from '../../src/core/server-config.js';
import { createServer, type QuartersServer } from '../../src/server/server.js';
import { startGitLabDouble, type DoubleProject, type DoubleUser, type GitLabDouble, type PushResult } from '../gitlab-double/index.js';
import { archBaseSkipReason, archBaseTarball } from './arch-base.js';
import { debianBaseSkipReason, debianBaseTarball } from './debian-base.js';
import { archBundleFiles, type ArchRecipe } from './arch-recipe.js';
import { containerSkipReason } from './capabilities.js';
import { createExecutorFixture, EXECUTOR, TEST_HOST_USER, type ExecutorFixture } from './executor-fixture.js';
import { startGitLabRunner, type GitLabRunner, type RunnerJobRecord } from './gitlab-runner.js';

const DRIVER = fileURLToPath(new URL('../../vm/quarters-build', import.meta.url));
export const WEBHOOK_SECRET = 'system-rig-webhook-secret-0123';
export const API_TOKEN = 'system-rig-api-token-0123456789';
export const EXECUTOR_TOKEN = 'system-rig-executor-token-01234';
/** The group whose projects are one pkgbase each (`packages_group`). */
export const PACKAGES_GROUP = 'packages';
/** The job the CI template defines; the rig's projects get it as their one CI job. */
export const BUILD_JOB = 'quarters-build';
/** Whom the rig's pushes come from (QUARTERS_PACKAGER). */
export const PACKAGER: DoubleUser = { id: 7, username: 'jane', name: 'Jane Doe', email: 'jane.doe@example.org' };

/** One build as GET /api/v1/namespaces/NAME shows it. */
export interface BuildView {
  id: number;
  pkgbase: string;
  arch: string;
  /** 1, or 2 for a dependency cycle's second pass. */
  pass: number;
  version: string;
  state: BuildState;
  reason: string | null;
  pipeline_id: number | null;
  artifacts: { filename: string; sha256: string; size: number }[];
  resource_usage: { wall_seconds: number; cpu_seconds: number; peak_memory_bytes: number | null; disk_bytes: number | null } | null;
}

/** States a build does not leave by itself. */
const SETTLED: ReadonlySet<string> = new Set<BuildState>(['built', 'failed', 'dependency-failed', 'cancelled', 'superseded']);

export interface SystemRig {
  gitlab: GitLabDouble;
  server: QuartersServer;
  /** The server's URL: where it listens, and its public_url. */
  url: string;
  executor: ExecutorFixture;
  runner: GitLabRunner;
  /** Adds Arch package projects (PKGBUILD + .SRCINFO) to the packages group and syncs the server's source index, as `quarters index sync` does. */
  addArchPackages(...recipes: ArchRecipe[]): Promise<DoubleProject[]>;
  /** Pushes a new version of a package to its default branch and delivers the Push Hook, as GitLab does. */
  pushVersion(project: DoubleProject, recipe: ArchRecipe): Promise<PushResult>;
  /** Adds package projects of any flavour (a bundle's files, path → text) to the packages group and syncs the server's source index. */
  addPackages(...bundles: { pkgbase: string; files: Record<string, string> }[]): Promise<DoubleProject[]>;
  /** Pushes changed files of a package to its default branch and delivers the Push Hook. */
  pushFiles(project: DoubleProject, files: Record<string, string>, message: string): Promise<PushResult>;
  /** Delivers a webhook body as GitLab does (headers added to the defaults); resolves to the server's answer status. */
  deliver(kind: string, body: unknown, headers?: Record<string, string>): Promise<number>;
  /** Which jobs the runner host "goes down" under from now on (see GitLabRunnerOptions.interruptWhen). */
  interruptWhen: (job: RunnerJobRecord) => RegExp | null;
  /** GET /api/v1/namespaces/NAME's builds. */
  builds(namespace: string): Promise<BuildView[]>;
  /** Waits until every build of the namespace's latest iteration has settled; throws, with the failure report, on timeout. */
  waitForSettled(namespace: string, timeoutMs: number): Promise<BuildView[]>;
  /** The traces of failed jobs and the server's log tail: for assertion messages. */
  report(): string;
  /** Stops the runner (aborting its jobs), the server, the double; removes the executor's work dir and the repositories. */
  close(): Promise<void>;
}

/** Null when the whole system can run here, else why not. */
export function systemRigSkipReason(flavour: 'pkgbuild' | 'debian' = 'pkgbuild'): string | null {
  if (!existsSync(EXECUTOR[1])) return `the executor is not built (${EXECUTOR[1]}); run npm test, which builds first`;
  return containerSkipReason() ?? (flavour === 'debian' ? debianBaseSkipReason() : archBaseSkipReason());
}

/** Starts the whole system; on any failure, tears down what it started. */
export async function startSystemRig(options: {
  concurrent?: number;
  /** The server's flavour: pkgbuild (the Arch-on-Debian base) or debian (the Debian build base). */
  flavour?: 'pkgbuild' | 'debian';
  build?: { cycle_rebuild?: 'none' | 'once'; deb_build_options?: string; deb_build_profiles?: string[] };
} = {}): Promise<SystemRig> {
  const flavour = options.flavour ?? 'pkgbuild';
  const teardown: (() => Promise<void>)[] = [];
  const close = async () => {
    const errors: unknown[] = [];
    for (const step of teardown.splice(0).reverse()) await step().catch((error: unknown) => errors.push(error));
    if (errors.length) throw new AggregateError(errors, `system rig: ${errors.length} teardown step(s) failed`);
  };
  try {
    const gitlab = await startGitLabDouble();
    teardown.push(() => gitlab.close());

    // The server's log, kept for failure reports (QUARTERS_TEST_LOG=1 prints it, and every job's trace, as well).
    const serverLog: string[] = [];
    const log = pino({ level: 'info' }, new Writable({
      write(chunk: Buffer, _encoding, done) {
        serverLog.push(chunk.toString());
        if (serverLog.length > 400) serverLog.shift();
        if (process.env.QUARTERS_TEST_LOG) process.stderr.write(chunk);
        done();
      },
    }));
    const dataDir = await mkdtemp(join(tmpdir(), 'quarters-system-server-'));
    teardown.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = serverConfigSchema.parse({
      listen: `127.0.0.1:${port}`,
      public_url: url,
      data_dir: dataDir,
      gitlab: { url: gitlab.url, token: gitlab.token, webhook_secret: WEBHOOK_SECRET, packages_group: PACKAGES_GROUP },
      build: { flavour, architectures: ['x86_64'], auto_rebuild: true, ...options.build },
      api: { tokens: [API_TOKEN] },
      executor: { tokens: [EXECUTOR_TOKEN] },
    });
    const server = createServer(config, { log, reconcileIntervalMs: 3_600_000 });
    const listening = await server.start();
    teardown.push(() => server.close());
    if (listening !== url) throw new Error(`system rig: the server listens at ${listening}, not at its public_url ${url}`);
    gitlab.setPipelineHook({ url: `${url}/webhooks/gitlab`, secret: WEBHOOK_SECRET, jobEvents: true });

    const executor = await createExecutorFixture('', { loadBase: false });
    teardown.push(() => executor.remove());
    const tokenFile = join(executor.dir, 'executor.token');
    await writeFile(tokenFile, `${EXECUTOR_TOKEN}\n`, { mode: 0o600 });
    // Builds target the packages' default branch (QUARTERS_TARGET_BRANCH): it needs a source list, empty on the offline base.
    await writeFile(join(executor.sourceLists, 'main.list'), '# the test bases are offline: no package sources\n');
    await executor.writeConfig([
      `build_driver = "${DRIVER}"`,
      '[server]', `url = "${url}"`, `token_file = "${tokenFile}"`,
      '[instance]', 'package_manager = "none"',
      '[network]', 'fetch_command = ["quarters-build", "fetch"]',
    ].join('\n'));
    const loaded = await executor.cli(['baseos', 'load', '--tarball', await (flavour === 'debian' ? debianBaseTarball() : archBaseTarball())]);
    if (loaded.exitCode !== 0) throw new Error(`system rig: baseos load failed: ${loaded.stderr}`);

    // In the executor fixture's directory, which host stages are shown (host_stages.paths): GitLab's side, as the runner clones from it.
    const repositories = join(executor.dir, 'git');
    await mkdir(repositories, { mode: 0o755 });
    await chmod(repositories, 0o755);
    const runner = startGitLabRunner({
      gitlab,
      executor: EXECUTOR,
      env: executor.env,
      dir: repositories,
      gitOwner: TEST_HOST_USER,
      concurrent: options.concurrent ?? 2,
      // In a deployment this is a CI/CD variable of the packages group: the test base has Debian's
      // makepkg but no Arch repositories, so dependencies pacman cannot install are left to --nodeps.
      variables: { QUARTERS_ALLOW_UNVERIFIED_DEPS: '1' },
      interruptWhen: (job) => rig.interruptWhen(job),
      ...(process.env.QUARTERS_TEST_LOG ? { onJobFinished: (job) => process.stderr.write(`--- job ${job.jobId} (${job.projectPath}, slot ${job.concurrentId}/${job.concurrentProjectId}): ${job.status}\n${job.trace}`) } : {}),
    });
    teardown.push(() => runner.stop());

    const get = async <T>(path: string): Promise<T> => {
      const response = await fetch(`${url}${path}`);
      if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}: ${await response.text()}`);
      return (await response.json()) as T;
    };
    const rig: SystemRig = {
      gitlab, server, url, executor, runner,
      async addArchPackages(...recipes) {
        const projects = recipes.map((recipe) => gitlab.state.addProject({
          path: `${PACKAGES_GROUP}/${recipe.pkgbase}`,
          files: archBundleFiles(recipe),
          ciJobs: [{ name: BUILD_JOB, stage: 'build' }],
        }));
        await server.index.syncAll();
        return projects;
      },
      async addPackages(...bundles) {
        const projects = bundles.map((bundle) => gitlab.state.addProject({ path: `${PACKAGES_GROUP}/${bundle.pkgbase}`, files: bundle.files, ciJobs: [{ name: BUILD_JOB, stage: 'build' }] }));
        await server.index.syncAll();
        return projects;
      },
      pushVersion: (project, recipe) => rig.pushFiles(project, archBundleFiles(recipe), `${recipe.pkgbase} ${recipe.version ?? '1.0-1'}`),
      async pushFiles(project, files, message) {
        const push = gitlab.state.pushFiles(project, files, { message, author: { name: PACKAGER.name, email: PACKAGER.email } });
        const response = await fetch(`${url}/webhooks/gitlab`, {
          method: 'POST',
          body: JSON.stringify(gitlab.pushHookBody(push, PACKAGER)),
          headers: { 'Content-Type': 'application/json', 'X-Gitlab-Token': WEBHOOK_SECRET, 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': `push-${push.after}` },
        });
        if (!response.ok) throw new Error(`system rig: the server refused the Push Hook: HTTP ${response.status}: ${await response.text()}`);
        return push;
      },
      async deliver(kind, body, headers = {}) {
        const response = await fetch(`${url}/webhooks/gitlab`, {
          method: 'POST',
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'Content-Type': 'application/json', 'X-Gitlab-Token': WEBHOOK_SECRET, 'X-Gitlab-Event': kind, ...headers },
        });
        await response.body?.cancel();
        return response.status;
      },
      interruptWhen: () => null,
      builds: async (namespace) => (await get<{ builds: BuildView[] }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}`)).builds,
      async waitForSettled(namespace, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        let last: BuildView[] | string = 'no answer yet';
        while (Date.now() < deadline) {
          try {
            const builds = await rig.builds(namespace);
            last = builds;
            if (builds.length > 0 && builds.every((b) => SETTLED.has(b.state))) return builds;
          } catch (error) {
            last = (error as Error).message;
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        throw new Error(`system rig: the builds of ${namespace} did not settle within ${timeoutMs} ms: ${JSON.stringify(last)}\n${rig.report()}`);
      },
      report: () => `job traces of failed jobs:\n${runner.failureReport()}\nserver log (tail):\n${serverLog.slice(-40).join('')}`,
      close,
    };
    return rig;
  } catch (error) {
    await close().catch((teardownError: unknown) => process.stderr.write(`system rig: teardown after a failed start failed too: ${String(teardownError)}\n`));
    throw error;
  }
}
