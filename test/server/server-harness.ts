/** An end-to-end rig: the GitLab double, and a quarters server talking to it through the real client over HTTP. */
import type { Logger } from '../../src/common/log.js';
import { serverConfigSchema, type ServerConfig } from '../../src/core/server-config.js';
import { createServer, type QuartersServer, type ServerOptions } from '../../src/server/server.js';
import type { RetryPolicy } from '../../src/server/gitlab/client.js';
import { startGitLabDouble, type DoubleProject, type GitLabDouble } from '../gitlab-double/index.js';
import { quietLogger, tempDir } from './http-harness.js';

export const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123';
export const API_TOKEN = 'api-token-for-tests-0123456789';
export const EXECUTOR_TOKEN = 'executor-token-for-tests-01234';

/** A .SRCINFO for a one-binary package. */
export function srcinfo(pkgbase: string, options: { version?: string; depends?: string[]; makedepends?: string[]; arch?: string } = {}): string {
  const [pkgver, pkgrel] = (options.version ?? '1.0-1').split('-');
  return [
    `pkgbase = ${pkgbase}`,
    `\tpkgdesc = ${pkgbase} for tests`,
    `\tpkgver = ${pkgver}`,
    `\tpkgrel = ${pkgrel}`,
    `\tarch = ${options.arch ?? 'x86_64'}`,
    ...(options.makedepends ?? []).map((d) => `\tmakedepends = ${d}`),
    '',
    `pkgname = ${pkgbase}`,
    ...(options.depends ?? []).map((d) => `\tdepends = ${d}`),
    '',
  ].join('\n');
}

export interface Rig {
  gitlab: GitLabDouble;
  server: QuartersServer;
  url: string;
  config: ServerConfig;
  /** POSTs a webhook body as GitLab would, then waits until the server has processed it. */
  deliver(kind: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Adds a package project to the group with its .SRCINFO. */
  addPackage(pkgbase: string, info: string): DoubleProject;
  /** Stops the server (as a crash or a restart would) and starts a new one on the same data directory (with `change` made to its config). */
  restart(change?: (config: ServerConfig) => ServerConfig): Promise<void>;
  close(): Promise<void>;
}

/** Starts the double and a server (pkgbuild, group layout, x86_64 unless overridden). */
export async function startRig(overrides: { build?: Partial<ServerConfig['build']>; treeProject?: string; log?: Logger; gitlabRetry?: Partial<RetryPolicy>; dataDir?: string; progress?: ServerOptions['progress']; signing?: ServerConfig['signing']; repositories?: Record<string, unknown>; retention?: Record<string, unknown>; gcBeforeRemoving?: ServerOptions['gcBeforeRemoving']; gcClock?: ServerOptions['gcClock'] } = {}): Promise<Rig> {
  const gitlab = await startGitLabDouble();
  let config = serverConfigSchema.parse({
    listen: '127.0.0.1:0',
    public_url: 'http://quarters.test',
    data_dir: overrides.dataDir ?? tempDir('quarters-server-'),
    gitlab: { url: gitlab.url, token: gitlab.token, webhook_secret: WEBHOOK_SECRET, ...(overrides.treeProject ? { tree_project: overrides.treeProject } : { packages_group: 'packages' }) },
    build: { flavour: 'pkgbuild', architectures: ['x86_64'], auto_rebuild: true, max_in_flight: 4, ...overrides.build },
    api: { tokens: [API_TOKEN] },
    executor: { tokens: [EXECUTOR_TOKEN] },
    ...(overrides.signing ? { signing: overrides.signing } : {}),
    ...(overrides.repositories ? { repositories: overrides.repositories } : {}),
    ...(overrides.retention ? { retention: overrides.retention } : {}),
  });
  const boot = async () => {
    const server = createServer(config, { log: overrides.log ?? quietLogger(), reconcileIntervalMs: 3_600_000, gitlabRetry: { baseDelayMs: 5, maxDelayMs: 20, attemptTimeoutMs: 2_000, ...overrides.gitlabRetry }, ...(overrides.progress ? { progress: overrides.progress } : {}), ...(overrides.gcBeforeRemoving ? { gcBeforeRemoving: overrides.gcBeforeRemoving } : {}), ...(overrides.gcClock ? { gcClock: overrides.gcClock } : {}) });
    const url = await server.start(0);
    // Pipeline and Job Hooks, as docs/administrator.md's GitLab setup asks.
    gitlab.setPipelineHook({ url: `${url}/webhooks/gitlab`, secret: WEBHOOK_SECRET, jobEvents: true });
    return { server, url };
  };
  let { server, url } = await boot();
  let n = 0;
  const rig: Rig = {
    gitlab, server, url, config,
    async deliver(kind, body, headers = {}) {
      const res = await fetch(`${rig.url}/webhooks/gitlab`, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', 'X-Gitlab-Token': WEBHOOK_SECRET, 'X-Gitlab-Event': kind, 'X-Gitlab-Event-UUID': `test-${++n}`, ...headers },
      });
      await rig.server.drain();
      return res;
    },
    addPackage: (pkgbase, info) => gitlab.state.addProject({ path: `packages/${pkgbase}`, files: { PKGBUILD: `pkgname=${pkgbase}\n`, '.SRCINFO': info } }),
    async restart(change) {
      await rig.server.close();
      if (change) rig.config = config = change(config);
      ({ server, url } = await boot());
      rig.server = server;
      rig.url = url;
    },
    async close() {
      await rig.server.close();
      await gitlab.close();
    },
  };
  return rig;
}

/** The pusher of the tests' pushes. */
export const JANE = { id: 7, username: 'jane', name: 'Jane Packager', email: 'jane@example.org' };

/** Three packages, cairo → libpng → zlib, indexed. */
export async function chain(rig: Rig): Promise<Record<'zlib' | 'libpng' | 'cairo', DoubleProject>> {
  const projects = {
    zlib: rig.addPackage('zlib', srcinfo('zlib')),
    libpng: rig.addPackage('libpng', srcinfo('libpng', { depends: ['zlib'] })),
    cairo: rig.addPackage('cairo', srcinfo('cairo', { depends: ['libpng'] })),
  };
  await rig.server.index.syncAll();
  return projects;
}

/** The latest iteration's builds of a build set, pkgbase → state. */
export function statesOf(rig: Rig, name: string): Record<string, string> {
  const ns = rig.server.store.namespaceByName(name)!;
  return Object.fromEntries(rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id).map((b) => [b.pkgbase, b.state]));
}

/**
 * Two dispatched builds, auto-zlib's and auto-other's, each with its pipeline's job running: what an
 * executor's requests are checked against (the build, its job token, and another build's job token).
 */
export async function runningBuilds(rig: Rig): Promise<{ buildId: number; pipelineId: number; jobToken: string; otherJobToken: string }> {
  const zlib = rig.addPackage('zlib', srcinfo('zlib'));
  const other = rig.addPackage('other', srcinfo('other'));
  await rig.server.index.syncAll();
  await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }), JANE));
  await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(other, { '.SRCINFO': srcinfo('other', { version: '2-1' }) }), JANE));
  const ns = rig.server.store.namespaceByName('auto-zlib')!;
  const build = rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id)[0]!;
  const jobToken = (await rig.gitlab.state.startPipeline(build.pipeline_id!)).token;
  const otherJobToken = (await rig.gitlab.state.startPipeline(rig.gitlab.state.pipelinesOf(other)[0]!.id)).token;
  await rig.server.drain();
  return { buildId: build.id, pipelineId: build.pipeline_id!, jobToken, otherJobToken };
}
