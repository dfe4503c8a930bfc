/**
 * Kill -9 during uploads and during dispatch. The built `quarters server`, as its own process, takes
 * uploads of real package files (sent slowly, in chunks) and creates pipelines in the GitLab double,
 * and is killed with SIGKILL at seeded moments: mid-body, while the upload is checked and indexed,
 * between the pipelines one build set dispatches (GitLab made the pipeline, its answer is on the
 * way), and while a new iteration cancels the pipelines it supersedes. After every restart: start-up left no partial file, no half-made generation; the served
 * repository is whole (repo-add's db readable, every package it names served with its checksum,
 * nothing else served). The client retries what got no answer, as the executor and an API user do: a
 * retried upload succeeds, a retried create finds the build set made, and every build ends with
 * exactly one pipeline, and a new iteration's repository holds what it carried over. CRASH_SEED replays a schedule; CRASH_UPLOADS and CRASH_ROUNDS make it longer.
 */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitLabDouble, type GitLabDouble } from '../gitlab-double/index.js';
import { seededRandom } from '../support/seeded-random.js';
import { BUILD_ID_VARIABLE } from '../../src/server/gitlab/client.js';
import { BuildStore } from '../../src/server/store/build-store.js';
import { openDatabase } from '../../src/server/store/database.js';
import { debPackage, pacmanPackage, sha256Of } from './packages.js';
import { leftovers, servedRepository } from './repository-checks.js';
import { API_TOKEN, EXECUTOR_TOKEN, JANE, srcinfo, WEBHOOK_SECRET } from './server-harness.js';
import { CLI, serverProcess, type ServerProcess } from './server-process.js';

const SEED = Number(process.env.CRASH_SEED ?? 20261203);
const UPLOADS = Number(process.env.CRASH_UPLOADS ?? 24);
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 6);
const PACKAGER = 'Jane Packager <jane@example.org>';
const UPLOADED = ['u0', 'u1', 'u2', 'u3'];
const DISPATCHED = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
/** A build set ca ← cb (cb depends on ca): ca built, then cb changes, and the new iteration carries ca over. */
const CARRIED = { ca: srcinfo('ca'), cb: srcinfo('cb', { depends: ['ca'] }) };
/** Bodies go out in this many chunks, a pause between them: a kill can land mid-body. */
const CHUNKS = 8;

interface BuildView {
  id: number;
  pkgbase: string;
  state: string;
  pipeline_id: number | null;
  artifacts: { filename: string; sha256: string }[];
}

/** Kills a server process with SIGKILL and starts it again; concurrent callers share one kill. */
class Killer {
  /** Resolves when the server is up again after the kill in progress; null while none is. */
  restarting: Promise<void> | null = null;
  /** What the kills left for start-up to remove, by kind. */
  readonly leftoverKinds = new Map<string, number>();
  /** The repository checked after every restart, once it exists. */
  repository: string | null = null;
  kills = 0;

  constructor(private readonly server: () => ServerProcess) {}

  /** Kills the server, starts it again and checks what start-up left and the repository as served. */
  readonly crash = (): Promise<void> => {
    this.restarting ??= (async () => {
      this.kills += 1;
      const server = this.server();
      await server.kill();
      for (const left of leftovers(server.dataDir)) {
        const kind = left.startsWith('tmp/') ? 'partial uploads' : left.includes('.incoming-') ? 'files beside the pool' : left.includes('.gen-') ? 'half-made generations' : 'other';
        this.leftoverKinds.set(kind, (this.leftoverKinds.get(kind) ?? 0) + 1);
      }
      await server.start();
      expect(leftovers(server.dataDir), `after kill ${this.kills} (seed ${SEED})`).toEqual([]);
      if (this.repository) await servedRepository(server.url, this.repository).catch((error: unknown) => {
        throw new Error(`after kill ${this.kills} (seed ${SEED}): ${(error as Error).message}`);
      });
    })().finally(() => {
      this.restarting = null;
    });
    return this.restarting;
  };
}

type Api = (path: string, init?: RequestInit) => Promise<Response>;

/** A build set of `packages` whose builds upload, again and again, while the server is killed (the repository flavour's own files from `make`). */
interface UploadCrash {
  gitlab: GitLabDouble;
  server: ServerProcess;
  killer: Killer;
  api: Api;
  namespace: (name: string) => Promise<{ builds: BuildView[] }>;
  /** The build set's name, and its architecture's repository. */
  name: string;
  repo: string;
  packages: string[];
  /** A package file of `name` (always the same file name): the dependencies make its contents differ. */
  make: (name: string, depends: string[]) => Promise<{ path: string; filename: string }>;
  filename: (name: string) => string;
}

/** Uploads under kill -9 (mid-body, or while checked and indexed), each retried until acknowledged; then the repository, the pool and the record must agree on the last file acknowledged. */
async function uploadsUnderKills(ctx: UploadCrash): Promise<void> {
  const { gitlab, server, api, namespace } = ctx;
  const kills = ctx.killer.kills;
  const counts = { midBody: 0, midProcessing: 0, uploads: 0, retries: 0 };
  const created = await api('/namespaces', { method: 'POST', body: JSON.stringify({ name: ctx.name, origin_changesets: ctx.packages.map((p) => `${p}@main`), packager: PACKAGER }) });
  expect(created.status, await created.clone().text()).toBe(201);
  const repository = `/repos/${ctx.name}/latest/${ctx.repo}`;
  ctx.killer.repository = repository;
  const builds = new Map<string, { id: number; jobToken: string }>();
  for (const build of (await namespace(ctx.name)).builds) {
    expect(build.pipeline_id).not.toBeNull();
    builds.set(build.pkgbase, { id: build.id, jobToken: (await gitlab.state.startPipeline(build.pipeline_id!)).token });
  }
  // Three different files of one name per package: a re-upload replaces what the repository had.
  const variants = new Map<string, { path: string; filename: string }[]>();
  for (const pkgbase of ctx.packages) {
    variants.set(pkgbase, await Promise.all([[], ['glibc'], ['zlib']].map((depends) => ctx.make(pkgbase, depends))));
  }
  /** The file of each package its last acknowledged upload sent. */
  const acknowledged = new Map<string, string>();

  /** One PUT, the body trickled in chunks; `killAt` kills the server after that chunk, or that long after the body. Null when no answer came. */
  const put = async (pkgbase: string, path: string, filename: string, killAt?: { chunk: number } | { afterMs: number }): Promise<number | null> => {
    const body = readFileSync(path);
    const size = Math.ceil(body.length / CHUNKS);
    let chunk = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (chunk === CHUNKS) {
          controller.close();
          if (killAt && 'afterMs' in killAt) setTimeout(() => void ctx.killer.crash(), killAt.afterMs);
          return;
        }
        controller.enqueue(body.subarray(chunk * size, (chunk + 1) * size));
        chunk += 1;
        if (killAt && 'chunk' in killAt && killAt.chunk === chunk) void ctx.killer.crash();
        await new Promise((resolve) => setTimeout(resolve, 8));
      },
    });
    const build = builds.get(pkgbase)!;
    try {
      const res = await fetch(`${server.url}/api/v1/builds/${build.id}/artifacts/${filename}`, {
        method: 'PUT', body: stream, duplex: 'half',
        headers: { Authorization: `Bearer ${EXECUTOR_TOKEN}`, 'X-Job-Token': build.jobToken, 'X-Checksum-Sha256': sha256Of(path), 'Content-Length': String(body.length) },
      } as RequestInit);
      const text = await res.text();
      expect(res.status, `${filename}: ${text}`).toBe(201);
      return res.status;
    } catch (error) {
      if ((error as Error).name === 'AssertionError') throw error;
      return null;
    }
  };

  let next = 0;
  const uploader = async (n: number) => {
    const random = seededRandom(SEED + n);
    const mine = ctx.packages.filter((_, i) => i % 2 === n);
    while (next < UPLOADS) {
      next += 1;
      await ctx.killer.restarting;
      const pkgbase = mine[Math.floor(random() * mine.length)]!;
      const file = variants.get(pkgbase)![Math.floor(random() * 3)]!;
      const roll = random();
      const killAt = roll < 0.17 ? { chunk: 1 + Math.floor(random() * (CHUNKS - 1)) } : roll < 0.34 ? { afterMs: Math.floor(random() * 150) } : undefined;
      if (killAt) counts['chunk' in killAt ? 'midBody' : 'midProcessing'] += 1;
      counts.uploads += 1;
      // As the executor: an upload that got no answer is sent again once the server is back.
      let plan = killAt;
      while ((await put(pkgbase, file.path, file.filename, plan)) === null) {
        plan = undefined;
        if (!ctx.killer.restarting) throw new Error(`${file.filename}: no answer, and the server was not killed`);
        await ctx.killer.restarting;
        counts.retries += 1;
      }
      acknowledged.set(pkgbase, file.path);
    }
  };
  await Promise.all([0, 1].map(uploader));
  await ctx.killer.restarting;

  const served = await servedRepository(server.url, repository);
  const view = await namespace(ctx.name);
  for (const pkgbase of ctx.packages) {
    const path = acknowledged.get(pkgbase);
    if (!path) continue;
    const filename = ctx.filename(pkgbase);
    // The repository, the pool and the record agree on the last file acknowledged.
    expect(served.get(filename), filename).toBe(sha256Of(path));
    expect(sha256Of(join(server.dataDir, 'pool', String(builds.get(pkgbase)!.id), filename))).toBe(sha256Of(path));
    expect(view.builds.find((b) => b.pkgbase === pkgbase)!.artifacts).toEqual([expect.objectContaining({ filename, sha256: sha256Of(path) })]);
  }
  console.log(`crash uploads, ${ctx.repo} (seed ${SEED}): ${counts.uploads} uploads, ${ctx.killer.kills} kills (${counts.midBody} planned mid-body, ${counts.midProcessing} while checked and indexed), ${counts.retries} uploads retried after a kill; left by the kills and removed by start-up: ${JSON.stringify(Object.fromEntries(ctx.killer.leftoverKinds))}; ${served.size} packages served`);
  expect(ctx.killer.kills - kills).toBeGreaterThan(0);
}

/** A server process over the double's projects, their recipes indexed (`quarters index sync`) before it starts. */
async function indexedServer(gitlab: GitLabDouble, options: Parameters<typeof serverProcess>[1]): Promise<ServerProcess> {
  const server = await serverProcess(gitlab, options);
  const index = await execa('node', [CLI, 'index', 'sync', '--config', server.config], { reject: false });
  expect(index.exitCode, index.stderr).toBe(0);
  await server.start();
  return server;
}

describe('kill -9 during uploads and during dispatch', () => {
  let gitlab: GitLabDouble;
  let server: ServerProcess;
  const killer = new Killer(() => server);
  const counts = { midDispatch: 0, timed: 0, creates: 0, createRetries: 0 };
  const crash = killer.crash;

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}/api/v1${path}`, { ...init, headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json', ...init.headers } });
  const namespace = async (name: string) => (await (await api(`/namespaces/${name}`)).json()) as { iteration: { number: number } | null; builds: BuildView[] };

  beforeAll(async () => {
    gitlab = await startGitLabDouble();
    for (const pkgbase of [...UPLOADED, ...DISPATCHED]) {
      gitlab.state.addProject({ path: `packages/${pkgbase}`, files: { PKGBUILD: `pkgname=${pkgbase}\n`, '.SRCINFO': srcinfo(pkgbase) } });
    }
    for (const [pkgbase, info] of Object.entries(CARRIED)) gitlab.state.addProject({ path: `packages/${pkgbase}`, files: { PKGBUILD: `pkgname=${pkgbase}\n`, '.SRCINFO': info } });
    server = await indexedServer(gitlab, { maxInFlight: 8 });
  });
  afterAll(async () => {
    await server?.kill();
    await gitlab?.close();
  });

  it(`keeps every repository whole and every retried upload good (seed ${SEED}, ${UPLOADS} uploads)`, async () => {
    await uploadsUnderKills({ gitlab, server, killer, api, namespace, name: 'uploads', repo: 'x86_64', packages: UPLOADED, make: (name, depends) => pacmanPackage({ name, version: '1.0-1', packager: PACKAGER, depends, filler: 192 * 1024 }), filename: (name) => `${name}-1.0-1-x86_64.pkg.tar.zst` });
  }, 120_000);

  it(`makes exactly one pipeline per build however its dispatch is interrupted (seed ${SEED}, ${ROUNDS} build sets)`, async () => {
    const random = seededRandom(SEED + 100);
    const projects = DISPATCHED.map((p) => gitlab.state.project(`packages/${p}`));
    // GitLab makes the pipeline at once and its answer takes a while: a kill then loses the answer.
    gitlab.faults.inject({ route: 'POST /projects/:id/pipeline', delayMs: 150, phase: 'after', times: Infinity });
    const seen = new Set<number>();
    let killAfter = 0;
    gitlab.state.listeners.push(async (event) => {
      if (event.kind !== 'pipeline' || seen.has(event.pipeline.id)) return;
      seen.add(event.pipeline.id);
      if (--killAfter === 0) {
        counts.midDispatch += 1;
        void crash();
      }
    });
    const kills = killer.kills;
    for (let round = 0; round < ROUNDS; round++) {
      const name = `dispatch-${round}`;
      // Most rounds: a kill right after the k-th of the six pipelines was made; the rest: a kill at a random moment.
      const roll = random();
      killAfter = roll < 0.6 ? 1 + Math.floor(random() * DISPATCHED.length) : 0;
      let timed: Promise<void> = Promise.resolve();
      if (!killAfter) {
        counts.timed += 1;
        const ms = Math.floor(random() * 800);
        timed = new Promise((resolve) => setTimeout(() => resolve(crash()), ms));
      }
      const request = { method: 'POST', body: JSON.stringify({ name, origin_changesets: DISPATCHED.map((p) => `${p}@main`), packager: PACKAGER }) };
      counts.creates += 1;
      for (;;) {
        await killer.restarting;
        const answer = await api('/namespaces', request).then((r) => r.status, () => null);
        if (answer !== null) {
          // A create retried after a kill finds the build set it made.
          expect([201, 409], `${name} (seed ${SEED})`).toContain(answer);
          break;
        }
        if (!killer.restarting) throw new Error(`${name}: no answer, and the server was not killed`);
        counts.createRetries += 1;
      }
      await timed;
      await killer.restarting;
      // Every build gets its pipeline: the restarted server finishes what the killed one began.
      let builds: BuildView[] = [];
      for (let i = 0; i < 100; i++) {
        const view = await namespace(name);
        builds = view.builds;
        if (view.iteration && builds.length === DISPATCHED.length && builds.every((b) => b.pipeline_id !== null)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(builds.map((b) => [b.pkgbase, b.state, b.pipeline_id !== null]), `${name} (seed ${SEED})`).toEqual(DISPATCHED.map((p) => [p, 'dispatched', true]));
      await gitlab.state.settled();
      for (const build of builds) {
        const pipelines = projects.flatMap((p) => gitlab.state.pipelinesOf(p)).filter((p) => p.variables.some((v) => v.key === BUILD_ID_VARIABLE && v.value === String(build.id)));
        expect(pipelines.map((p) => p.id), `pipelines of build ${build.id}, ${name} (seed ${SEED})`).toEqual([build.pipeline_id]);
      }
    }
    gitlab.faults.clear();
    console.log(`crash dispatch (seed ${SEED}): ${counts.creates} build sets of ${DISPATCHED.length} builds, ${killer.kills - kills} kills (${counts.midDispatch} right after a pipeline was made, ${counts.timed} at a random moment), ${counts.createRetries} creates retried`);
    expect(killer.kills - kills).toBeGreaterThan(0);
  }, 120_000);

  it('makes again a build set whose create was killed before its first iteration was recorded', async () => {
    // A create records the build set, then plans it (with every recipe of the index, which takes a while
    // in a large distribution): a kill in between leaves this row, as the real store writes it.
    await killer.restarting;
    await server.kill();
    const db = openDatabase(server.dataDir);
    new BuildStore(db).createNamespace({ name: 'half-made', origin: ['d0@main', 'd1@main'], kind: 'api', packager: PACKAGER, target_branch: 'main', mr_project_id: null, mr_iid: null });
    db.close();
    await server.start();
    // The create sent again (its answer was lost) makes it, and it is dispatched.
    const again = await api('/namespaces', { method: 'POST', body: JSON.stringify({ name: 'half-made', origin_changesets: ['d0@main', 'd1@main'], packager: PACKAGER }) });
    expect(again.status, await again.text()).toBe(201);
    const view = await namespace('half-made');
    expect(view.iteration?.number).toBe(1);
    expect(view.builds.map((b) => [b.pkgbase, b.state, b.pipeline_id !== null])).toEqual([['d0', 'dispatched', true], ['d1', 'dispatched', true]]);
  });

  it('keeps the packages a new iteration carries over when it is killed while cancelling the old pipelines', async () => {
    gitlab.setPipelineHook({ url: `${server.url}/webhooks/gitlab`, secret: WEBHOOK_SECRET, jobEvents: true });
    let n = 0;
    /** Sends a Push Hook as GitLab does: again, while it gets no 2xx. */
    const push = async (pkgbase: keyof typeof CARRIED, info: string) => {
      const body = JSON.stringify(gitlab.pushHookBody(gitlab.state.pushFiles(gitlab.state.project(`packages/${pkgbase}`), { '.SRCINFO': info }), JANE));
      const key = `crash-push-${++n}`;
      for (;;) {
        await killer.restarting;
        const headers = { 'Content-Type': 'application/json', 'X-Gitlab-Token': WEBHOOK_SECRET, 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': key, 'Idempotency-Key': key };
        if (await fetch(`${server.url}/webhooks/gitlab`, { method: 'POST', body, headers }).then((r) => r.ok, () => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const until = async (what: string, done: (builds: BuildView[]) => boolean): Promise<BuildView[]> => {
      let builds: BuildView[] | undefined;
      for (let i = 0; i < 150; i++) {
        await killer.restarting;
        builds = await api('/namespaces/auto-ca').then(async (r) => (r.ok ? ((await r.json()) as { builds: BuildView[] }).builds : undefined), () => undefined);
        if (builds && done(builds)) return builds;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`auto-ca: ${what} did not happen: ${JSON.stringify(builds?.map((b) => [b.id, b.pkgbase, b.state, b.pipeline_id]))}`);
    };
    const state = (builds: BuildView[]) => Object.fromEntries(builds.map((b) => [b.pkgbase, b.state]));

    await push('ca', srcinfo('ca', { version: '1.1-1' }));
    const [ca] = await until('ca dispatched', (b) => b[0]?.pipeline_id != null);
    const token = (await gitlab.state.startPipeline(ca!.pipeline_id!)).token;
    const file = await pacmanPackage({ name: 'ca', version: '1.1-1', packager: PACKAGER });
    const stored = await fetch(`${server.url}/api/v1/builds/${ca!.id}/artifacts/${file.filename}`, {
      method: 'PUT', body: readFileSync(file.path), headers: { Authorization: `Bearer ${EXECUTOR_TOKEN}`, 'X-Job-Token': token, 'X-Checksum-Sha256': sha256Of(file.path) },
    });
    expect(stored.status, await stored.text()).toBe(201);
    await gitlab.state.finishPipeline(ca!.pipeline_id!, 'success');
    const [, cb] = await until('ca built and cb dispatched', (b) => state(b).ca === 'built' && b[1]?.pipeline_id != null);

    // cb changes: the next iteration carries ca over and cancels cb's pipeline; the kill comes while GitLab's answer to the cancel is on its way.
    gitlab.faults.inject({ route: 'POST /projects/:id/pipelines/:pipeline_id/cancel', delayMs: 300, phase: 'after' });
    const killed = new Promise<void>((resolve) => {
      gitlab.state.listeners.push(async (event) => {
        if (event.kind === 'pipeline' && event.pipeline.id === cb!.pipeline_id && event.pipeline.status === 'canceled') resolve(crash());
      });
    });
    await push('cb', srcinfo('cb', { version: '2-1', depends: ['ca'] }));
    await killed;
    const builds = await until('the new iteration dispatched', (b) => b.length === 2 && b[1]!.id !== cb!.id && b[1]!.pipeline_id != null);
    expect(state(builds)).toEqual({ ca: 'built', cb: 'dispatched' });
    // The new iteration's repository holds what it carried over: cb's build is fetching ca from it.
    expect(await servedRepository(server.url, '/repos/auto-ca/latest/x86_64')).toEqual(new Map([[file.filename, sha256Of(file.path)]]));
    gitlab.setPipelineHook(undefined);
    gitlab.faults.clear();
  }, 60_000);
});

describe('kill -9 during uploads to an apt repository (Debian)', () => {
  let gitlab: GitLabDouble;
  let server: ServerProcess;
  const killer = new Killer(() => server);
  const PACKAGES = ['a0', 'a1', 'a2', 'a3'];
  const control = (name: string) => `Source: ${name}\nMaintainer: ${PACKAGER}\n\nPackage: ${name}\nArchitecture: any\nDescription: ${name} for tests\n`;
  const changelog = (name: string) => `${name} (1.0-1) unstable; urgency=medium\n\n  * For tests.\n\n -- ${PACKAGER}  Mon, 01 Jan 2024 00:00:00 +0000\n`;
  const api: Api = (path, init = {}) =>
    fetch(`${server.url}/api/v1${path}`, { ...init, headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json', ...init.headers } });

  beforeAll(async () => {
    gitlab = await startGitLabDouble();
    for (const name of PACKAGES) gitlab.state.addProject({ path: `packages/${name}`, files: { 'debian/control': control(name), 'debian/changelog': changelog(name) } });
    server = await indexedServer(gitlab, { maxInFlight: 8, build: { flavour: 'debian', architectures: ['amd64'] } });
  });
  afterAll(async () => {
    await server?.kill();
    await gitlab?.close();
  });

  it(`keeps the Packages index whole and every retried .deb upload good (seed ${SEED}, ${UPLOADS} uploads)`, async () => {
    await uploadsUnderKills({
      gitlab, server, killer, api, name: 'debs', repo: 'amd64', packages: PACKAGES,
      namespace: async (name) => (await (await api(`/namespaces/${name}`)).json()) as { builds: BuildView[] },
      make: (name, depends) => debPackage({ name, version: '1.0-1', arch: 'amd64', depends, filler: 192 * 1024 }),
      filename: (name) => `${name}_1.0-1_amd64.deb`,
    });
  }, 120_000);
});
