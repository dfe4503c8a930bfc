/**
 * kill -9 during retention. A data directory is made by a real server: a build set of seven iterations
 * (libpng changed six times; zlib built once and carried over into every later iteration, so the latest
 * iteration's zlib is the first one's files). Each round copies it and starts the built `quarters
 * server` on the copy with [retention] (keep_iterations = 1, superseded_after = "0s"), whose start-up run
 * expires six iterations, and kills it with SIGKILL at a seeded moment. After every kill: every
 * repository on disk is whole (its database names exactly the package files beside it); every iteration
 * not recorded expired still has its repository; every package file a kept build names is in the pool
 * with its checksum. A start after the kill finishes the run: nothing of an expired iteration left,
 * nothing a kept build names gone, no leftovers. RETENTION_CRASH_SEED replays a schedule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../support/seeded-random.js';
import { BuildStore } from '../../src/server/store/build-store.js';
import { openDatabase } from '../../src/server/store/database.js';
import { tempDir } from './http-harness.js';
import { pacmanPackage, sha256Of, upload } from './packages.js';
import { leftovers } from './repository-checks.js';
import { EXECUTOR_TOKEN, JANE, srcinfo, startRig, type Rig } from './server-harness.js';
import { serverProcess, type ServerProcess } from './server-process.js';

const SEED = Number(process.env.RETENTION_CRASH_SEED ?? 20261203);
const ROUNDS = Number(process.env.RETENTION_CRASH_ROUNDS ?? 6);
const PACKAGER = 'Jane Packager <jane@example.org>';
const RETENTION = ['[retention]', 'keep_iterations = 1', 'superseded_after = "0s"', 'retired_after = "0s"'];

/**
 * What is on disk of a data directory, checked whole; returns how many expired iterations still have
 * files, and how many iterations the policy expires (every one but each build set's latest) are not yet recorded expired.
 */
async function checkDataDir(dataDir: string): Promise<{ unfinished: number; pending: number }> {
  const db = openDatabase(dataDir);
  try {
    const store = new BuildStore(db);
    let unfinished = 0;
    let pending = 0;
    for (const ns of store.listNamespaces()) {
      const iterations = store.iterations(ns.id);
      pending += iterations.slice(0, -1).filter((it) => it.expired_at === null).length;
      for (const it of iterations) {
        const dir = join(dataDir, 'repos', ns.name, String(it.number));
        if (it.expired_at !== null) {
          if (existsSync(dir) || existsSync(join(dataDir, 'logs', ns.name, String(it.number)))) unfinished += 1;
        } else if (store.builds(it.id).some((b) => b.state === 'built')) {
          expect(existsSync(join(dir, 'x86_64')), `${ns.name}/${it.number} is kept: its repository is there`).toBe(true);
        }
        if (existsSync(join(dir, 'x86_64'))) await wholeRepository(join(dir, readlinkSync(join(dir, 'x86_64'))), `${ns.name}/${it.number}`);
        if (it.expired_at !== null) continue;
        for (const b of store.builds(it.id)) {
          for (const a of store.artifacts(b.id)) {
            const path = join(dataDir, 'pool', String(b.reused_from ?? b.id), a.filename);
            expect(existsSync(path), `${a.filename} of kept build ${b.id} (${ns.name}/${it.number})`).toBe(true);
            expect(await sha256Of(path)).toBe(a.sha256);
          }
        }
      }
    }
    return { unfinished, pending };
  } finally {
    db.close();
  }
}

/** A generation's database names exactly the package files beside it. */
async function wholeRepository(generation: string, what: string): Promise<void> {
  const { stdout } = await execa('tar', ['-tzf', join(generation, 'quarters.db.tar.gz')]);
  const entries = stdout.split('\n').filter((l) => /^[^/]+\/$/.test(l)).map((l) => l.slice(0, -1)).sort();
  const files = readdirSync(generation).filter((f) => f.endsWith('.pkg.tar.zst')).map((f) => f.replace(/-x86_64\.pkg\.tar\.zst$/, '')).sort();
  expect(files, `${what}: the package files against the database`).toEqual(entries);
}

describe('kill -9 during retention', () => {
  let rig: Rig;
  let prepared: string;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    prepared = tempDir('quarters-retention-prepared-');
    rig = await startRig({ dataDir: prepared });
    const projects = { zlib: rig.addPackage('zlib', srcinfo('zlib')), libpng: rig.addPackage('libpng', srcinfo('libpng', { depends: ['zlib'] })) };
    await rig.server.index.syncAll();
    const versions: Record<string, string> = { zlib: '1.1-1', libpng: '1.0-1' };
    /** Builds whatever is dispatched in any build set, until nothing is. */
    const buildDispatched = async () => {
      for (;;) {
        const store = rig.server.store;
        const dispatched = store.listNamespaces().flatMap((ns) => store.builds(store.latestIteration(ns.id)!.id)).filter((b) => b.state === 'dispatched');
        if (dispatched.length === 0) return;
        for (const b of dispatched) {
          const { token } = await rig.gitlab.state.startPipeline(b.pipeline_id!);
          const file = await pacmanPackage({ name: b.pkgbase, version: versions[b.pkgbase]!, packager: PACKAGER });
          const res = await upload(rig.url, b.id, file, { executor: EXECUTOR_TOKEN, job: token });
          expect(res.status, await res.clone().text()).toBe(201);
          await rig.gitlab.state.finishPipeline(b.pipeline_id!, 'success');
          await rig.server.drain();
        }
      }
    };
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(projects.zlib, { '.SRCINFO': srcinfo('zlib', { version: versions.zlib }) }), JANE));
    await buildDispatched();
    for (let i = 1; i <= 6; i++) {
      versions.libpng = `1.${i}-1`;
      await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(projects.libpng, { '.SRCINFO': srcinfo('libpng', { version: versions.libpng, depends: ['zlib'] }) }), JANE));
      await buildDispatched();
    }
    await rig.server.close();
  }, 120_000);
  afterAll(async () => {
    for (const s of servers) await s.kill();
    await rig?.gitlab.close();
  });

  it(`leaves every repository whole and every kept build's files, and a start finishes the run (seed ${SEED})`, async () => {
    const db = openDatabase(prepared);
    const store = new BuildStore(db);
    const zlibSet = store.namespaceByName('auto-zlib')!;
    const iterations = store.iterations(zlibSet.id);
    const latest = iterations.at(-1)!;
    const carried = store.builds(latest.id).find((b) => b.pkgbase === 'zlib')!;
    const first = store.builds(iterations[0]!.id).find((b) => b.pkgbase === 'zlib')!;
    db.close();
    expect(iterations).toHaveLength(7);
    expect(carried.reused_from, 'the latest iteration\'s zlib is the first one\'s files').toBe(first.id);

    const random = seededRandom(SEED);
    const fresh = async () => {
      const dataDir = join(tempDir('quarters-retention-crash-'), 'data');
      await execa('cp', ['-a', prepared, dataDir]);
      const server = await serverProcess(rig.gitlab, { dataDir, extraConfig: RETENTION });
      servers.push(server);
      return { dataDir, server };
    };
    /** Done: nothing of an expired iteration is left, and what the run moved aside is deleted too. */
    // Asked while the server runs: a directory may go while it is read (false then; the checks after a kill are strict).
    const done = async (dataDir: string) => {
      const { unfinished, pending } = await checkDataDir(dataDir).catch(() => ({ unfinished: 1, pending: 1 }));
      return unfinished === 0 && pending === 0 && leftovers(dataDir).length === 0;
    };
    const expirable = (await checkDataDir(prepared)).pending;
    // How long the start-up run takes once it recorded its first expiry: the kills land within that.
    const calibration = await fresh();
    const expiredCount = (dataDir: string) => {
      const db = openDatabase(dataDir);
      try {
        return (db.prepare('SELECT count(*) AS n FROM iterations WHERE expired_at IS NOT NULL').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const spawned = Date.now();
    calibration.server.spawn();
    while (expiredCount(calibration.dataDir) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    const begins = Date.now() - spawned;
    while (!(await done(calibration.dataDir))) await new Promise((resolve) => setTimeout(resolve, 2));
    const ends = Date.now() - spawned;
    await calibration.server.kill();

    let midRun = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { dataDir, server } = await fresh();
      server.spawn();
      while (expiredCount(dataDir) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      await new Promise((resolve) => setTimeout(resolve, Math.floor((ends - begins) * random())));
      await server.kill();
      const killed = await checkDataDir(dataDir);
      // Mid-run: some expired and some not yet, or an expired one not yet removed.
      if (killed.unfinished > 0 || (killed.pending > 0 && killed.pending < expirable)) midRun += 1;

      await server.start();
      await expect.poll(() => done(dataDir), { timeout: 20_000, interval: 100 }).toBe(true);
      await server.kill();
      expect(await checkDataDir(dataDir)).toEqual({ unfinished: 0, pending: 0 });
      expect(leftovers(dataDir)).toEqual([]);
      expect(readdirSync(join(dataDir, 'repos', 'auto-zlib'))).toEqual([String(latest.number)]);
      expect(existsSync(join(dataDir, 'pool', String(carried.reused_from))), 'the carried-over zlib\'s files').toBe(true);
    }
    process.stderr.write(`retention crash: start-up run ${ends - begins} ms after its first expiry; ${ROUNDS} kills, ${midRun} left a run unfinished (seed ${SEED})\n`);
  }, 300_000);
});
