/**
 * Retention ([retention], `quarters gc`): a real server (SQLite, uploads of real pacman packages, repo-add's
 * format) with a build set of three iterations, the first released into a distribution repository, and a
 * retired build set. Past the policy, the superseded iteration and the retired set expire; the released
 * one is kept while the distribution repository has its packages; a dry run lists exactly what the real
 * run removes; the repositories that remain are whole and pacman installs from them; a run that fails
 * midway (a throw injected before a directory goes) leaves no repository half-removed, and the next run
 * finishes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { API_TOKEN, EXECUTOR_TOKEN, JANE, srcinfo, startRig, type Rig } from './server-harness.js';
import { debPackage, pacmanDbFiles, pacmanPackage, upload } from './packages.js';
import { quietLogger, tempDir } from './http-harness.js';
import { leftovers, servedRepository } from './repository-checks.js';
import { makeSigningKey, privateApt, privatePacman } from '../support/signing-keys.js';
import { buildLogPath } from '../../src/core/build-set/log-path.js';
import { GarbageCollector, type GcReport } from '../../src/server/retention/garbage-collector.js';
import { iterationImagesDir } from '../../src/server/images/builder.js';
import { RetentionStore } from '../../src/server/store/retention-store.js';
import type { DoubleProject } from '../gitlab-double/index.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const DAY = 86_400_000;
const POLICY = { keep_iterations: 1, superseded_after: '1d', retired_after: '1d' };

/** A rig with build sets to collect: auto-zlib (iterations 1, released; 2; 3) and auto-other (retired). */
async function collectableRig(extra: Parameters<typeof startRig>[0] = {}) {
  const dist = tempDir('quarters-dist-');
  const rig = await startRig({ repositories: { core: { directory: join(dist, 'core'), flavour: 'pacman' } }, retention: POLICY, ...extra });
  const projects: Record<'zlib' | 'other', DoubleProject> = { zlib: rig.addPackage('zlib', srcinfo('zlib')), other: rig.addPackage('other', srcinfo('other')) };
  await rig.server.index.syncAll();
  const latestBuild = (set: string, pkgbase: string) => {
    const store = rig.server.store;
    return store.builds(store.latestIteration(store.namespaceByName(set)!.id)!.id).find((b) => b.pkgbase === pkgbase)!;
  };
  /** Pushes a version of `pkgbase`, runs its pipeline: its package uploaded, the pipeline succeeds. */
  const pushAndBuild = async (pkgbase: 'zlib' | 'other', version: string) => {
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(projects[pkgbase], { '.SRCINFO': srcinfo(pkgbase, { version }) }), JANE));
    const b = latestBuild(`auto-${pkgbase}`, pkgbase);
    expect(b.state).toBe('dispatched');
    const { token } = await rig.gitlab.state.startPipeline(b.pipeline_id!);
    const file = await pacmanPackage({ name: pkgbase, version, packager: 'Jane Packager <jane@example.org>' });
    const res = await upload(rig.url, b.id, file, { executor: EXECUTOR_TOKEN, job: token });
    expect(res.status, await res.clone().text()).toBe(201);
    await rig.gitlab.state.finishPipeline(b.pipeline_id!, 'success');
    await rig.server.drain();
    expect(latestBuild(`auto-${pkgbase}`, pkgbase).state).toBe('built');
    return b.id;
  };
  const ids = { zlib1: await pushAndBuild('zlib', '1.1-1') };
  const released = await fetch(`${rig.url}/api/v1/namespaces/auto-zlib/release`, { method: 'POST', body: JSON.stringify({ to: 'core' }), headers: { Authorization: `Bearer ${API_TOKEN}` } });
  expect(released.status, await released.clone().text()).toBe(201);
  const zlib2 = await pushAndBuild('zlib', '1.2-1');
  const zlib3 = await pushAndBuild('zlib', '1.3-1');
  const other = await pushAndBuild('other', '2.0-1');
  await rig.server.control.cancel(rig.server.store.namespaceByName('auto-other')!.id, 'retired');
  // Logs as local builds keep them, for the iterations that go and one that stays.
  for (const [set, iteration, pkgbase] of [['auto-zlib', 2, 'zlib'], ['auto-zlib', 3, 'zlib'], ['auto-other', 1, 'other']] as const) {
    const path = join(rig.config.data_dir, buildLogPath(set, iteration, 'x86_64', pkgbase));
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `the log of ${pkgbase} in ${set}/${iteration}\n`);
  }
  return { rig, dist, ids: { ...ids, zlib2, zlib3, other } };
}

const without = (report: GcReport) => ({ iterations: report.iterations, logs: report.logs, files: report.files, total_bytes: report.total_bytes });

/** How far ahead of the real clock retention is applied. */
let ahead = 0;
const gcClock = () => Date.now() + ahead;

describe('retention: quarters gc', () => {
  let rig: Rig;
  let ids: { zlib1: number; zlib2: number; zlib3: number; other: number };
  let dataDir: string;

  beforeAll(async () => {
    ({ rig, ids } = await collectableRig({ gcClock }));
    dataDir = rig.config.data_dir;
  });
  afterAll(async () => rig?.close());

  it('keeps everything within the policy; past it, a dry run lists the superseded iteration and the retired set, never the released one', async () => {
    // Disk images where the image builder keeps them, for the expiring and the latest iteration.
    for (const n of [2, 3]) {
      const dir = join(iterationImagesDir(dataDir, 'auto-zlib', n), 'x86_64', 'disk');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'disk.raw'), `image of iteration ${n}`);
    }
    const now = await rig.server.collector.collect({ dryRun: true });
    expect(now).toMatchObject({ dry_run: true, iterations: [], logs: [], files: [], total_bytes: 0 });
    const dry = await rig.server.collector.collect({ dryRun: true, now: Date.now() + 2 * DAY });
    expect(dry.iterations.map((i) => `${i.namespace}/${i.iteration}`)).toEqual(['auto-zlib/2', 'auto-other/1']);
    expect(dry.iterations[0]!.why).toMatch(/^superseded at .*, more than 1d ago, and 1 newer iteration$/);
    expect(dry.iterations[1]!.why).toMatch(/^build set retired at .*, more than 1d ago$/);
    const paths = dry.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining([
      `pool/${ids.zlib2}/zlib-1.2-1-x86_64.pkg.tar.zst`, `pool/${ids.other}/other-2.0-1-x86_64.pkg.tar.zst`,
      'logs/auto-zlib/2/x86_64/zlib.log', 'logs/auto-other/1/x86_64/other.log',
    ]));
    expect(dry.files.filter((f) => f.kind === 'image')).toEqual([{ path: 'images/auto-zlib/2/x86_64/disk/disk.raw', kind: 'image', bytes: 'image of iteration 2'.length }]);
    expect(paths.some((p) => /^repos\/auto-zlib\/2\/\.x86_64\.gen-[^/]+\/zlib-1\.2-1-x86_64\.pkg\.tar\.zst$/.test(p)), 'the repository\'s package file').toBe(true);
    expect(paths.some((p) => /^repos\/auto-zlib\/2\/\.x86_64\.gen-[^/]+\/quarters\.db\.tar\.gz$/.test(p)), 'and its index').toBe(true);
    expect(paths.filter((p) => p.startsWith('repos/auto-zlib/1/') || p.startsWith('repos/auto-zlib/3/') || p.startsWith(`pool/${ids.zlib1}/`) || p.startsWith(`pool/${ids.zlib3}/`) || p.includes('/3/')), 'the released and the latest iteration').toEqual([]);
    for (const f of dry.files) expect(f.bytes, f.path).toBeGreaterThan(0);
    // The package files are hard links in the pool and the repository: each is freed once.
    const packages = dry.files.filter((f) => f.kind === 'package').reduce((sum, f) => sum + f.bytes, 0);
    expect(dry.total_bytes).toBeGreaterThan(packages);
    expect(dry.total_bytes).toBeLessThan(dry.files.reduce((sum, f) => sum + f.bytes, 0));
    expect(existsSync(join(dataDir, 'repos/auto-zlib/2')), 'a dry run removes nothing').toBe(true);
  });

  it('through the CLI: --dry-run says what would go; the run removes exactly that; the repositories that remain are whole', async () => {
    ahead = 2 * DAY;
    const env = { QUARTERS_SERVER: rig.url, QUARTERS_API_TOKEN: API_TOKEN };
    expect((await fetch(`${rig.url}/api/v1/gc`, { method: 'POST' })).status, 'an API token is needed').toBe(401);
    expect((await fetch(`${rig.url}/api/v1/gc`, { method: 'POST', body: '{"dry_run": "yes"}', headers: { Authorization: `Bearer ${API_TOKEN}` } })).status).toBe(400);

    const text = await execa('node', [CLI, 'gc', '--dry-run'], { reject: false, env });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^policy: keep_iterations 1, superseded_after 1d, retired_after 1d, logs_after with the iteration\niteration auto-zlib\/2: expires \(superseded at /);
    expect(text.stdout).toMatch(new RegExp(`\\n  package +pool/${ids.zlib2}/zlib-1\\.2-1-x86_64\\.pkg\\.tar\\.zst +\\d+ bytes\\n`));
    expect(text.stdout).toMatch(/\n\d+ files, \d+ bytes freed\ndry run: nothing was removed$/);
    const dry = JSON.parse((await execa('node', [CLI, 'gc', '--dry-run', '--json'], { env })).stdout) as GcReport;
    expect(dry.iterations.map((i) => `${i.namespace}/${i.iteration}`)).toEqual(['auto-zlib/2', 'auto-other/1']);

    const run = JSON.parse((await execa('node', [CLI, 'gc', '--json'], { env })).stdout) as GcReport;
    expect(run.dry_run).toBe(false);
    expect(without(run)).toEqual(without(dry));
    for (const f of run.files) expect(existsSync(join(dataDir, f.path)), f.path).toBe(false);
    for (const gone of ['repos/auto-zlib/2', 'repos/auto-other/1', `pool/${ids.zlib2}`, `pool/${ids.other}`, 'logs/auto-zlib/2', 'logs/auto-other/1']) expect(existsSync(join(dataDir, gone)), gone).toBe(false);
    expect(leftovers(dataDir)).toEqual([]);
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);

    // Expired: answered 410, recorded, shown.
    const expired = await fetch(`${rig.url}/repos/auto-zlib/2/x86_64/quarters.db`);
    expect(expired.status).toBe(410);
    expect(await expired.json()).toMatchObject({ error: 'expired', detail: expect.stringContaining('iteration 2 of build set "auto-zlib" expired at') });
    expect((await fetch(`${rig.url}/repos/auto-other/latest/x86_64/`)).status).toBe(410);
    const release = await fetch(`${rig.url}/api/v1/namespaces/auto-other/release`, { method: 'POST', body: JSON.stringify({ to: 'core' }), headers: { Authorization: `Bearer ${API_TOKEN}` } });
    expect(release.status).toBe(409);
    expect(await release.json()).toMatchObject({ error: 'not_releasable', detail: expect.stringContaining('iteration 1 of build set "auto-other" expired at') });
    const iterations = (await (await fetch(`${rig.url}/api/v1/namespaces/auto-zlib/iterations`)).json()) as { iterations: { number: number; expired_at: string | null }[] };
    expect(iterations.iterations.map((i) => [i.number, i.expired_at !== null])).toEqual([[1, false], [2, true], [3, false]]);

    // What remains is whole, and pacman reads it.
    expect([...(await servedRepository(rig.url, '/repos/auto-zlib/1/x86_64')).keys()]).toEqual(['zlib-1.1-1-x86_64.pkg.tar.zst']);
    expect([...(await servedRepository(rig.url, '/repos/auto-zlib/3/x86_64')).keys()]).toEqual(['zlib-1.3-1-x86_64.pkg.tar.zst']);
    expect(existsSync(join(dataDir, `pool/${ids.zlib1}/zlib-1.1-1-x86_64.pkg.tar.zst`)), 'the released package file').toBe(true);
    expect(existsSync(join(dataDir, 'logs/auto-zlib/3/x86_64/zlib.log')), 'the latest iteration\'s log').toBe(true);
    expect(existsSync(join(dataDir, 'images/auto-zlib/2')), 'the expired iteration\'s images').toBe(false);
    expect(existsSync(join(dataDir, 'images/auto-zlib/3/x86_64/disk/disk.raw')), 'the latest iteration\'s image').toBe(true);
    for (const [name, server] of [['quarters', `${rig.url}/repos/auto-zlib/3/$arch`], ['core', `${rig.url}/dist/core/$arch`]] as const) {
      const pacman = await privatePacman({ name, server, publicKey: null, fingerprint: null, sigLevel: 'Never' });
      try {
        const result = await pacman.install('zlib');
        expect(result.exitCode, result.output).toBe(0);
      } finally {
        await pacman.close();
      }
    }

    // Nothing more goes: the run is done.
    expect(without(await rig.server.collector.collect({ dryRun: false }))).toEqual({ iterations: [], logs: [], files: [], total_bytes: 0 });
  });

  it('keeps a released iteration only while the distribution repository has its packages', async () => {
    ahead = 0;
    const released = await fetch(`${rig.url}/api/v1/namespaces/auto-zlib/release`, { method: 'POST', body: JSON.stringify({ to: 'core' }), headers: { Authorization: `Bearer ${API_TOKEN}` } });
    expect(released.status, await released.clone().text()).toBe(201);
    const run = await rig.server.collector.collect({ dryRun: false, now: Date.now() + 2 * DAY });
    expect(run.iterations.map((i) => `${i.namespace}/${i.iteration}`), 'core has zlib 1.3-1 now, not 1.1-1').toEqual(['auto-zlib/1']);
    expect(run.files.map((f) => f.path)).toContain(`pool/${ids.zlib1}/zlib-1.1-1-x86_64.pkg.tar.zst`);
    expect(existsSync(join(dataDir, `pool/${ids.zlib3}/zlib-1.3-1-x86_64.pkg.tar.zst`)), 'what the release published').toBe(true);
    const pacman = await privatePacman({ name: 'core', server: `${rig.url}/dist/core/$arch`, publicKey: null, fingerprint: null, sigLevel: 'Never' });
    try {
      const result = await pacman.install('zlib');
      expect(result.exitCode, result.output).toBe(0);
      expect(result.output).toContain('zlib-1.3-1');
    } finally {
      await pacman.close();
    }
  });
});

describe('retention: a run that fails midway', () => {
  let rig: Rig;
  let ids: { zlib1: number; zlib2: number; zlib3: number; other: number };
  let failOn: RegExp | null = /\/repos\/auto-zlib\/2$/;

  beforeAll(async () => {
    ahead = 0;
    ({ rig, ids } = await collectableRig({ gcClock, gcBeforeRemoving: (dir) => {
      if (failOn?.test(dir)) throw new Error(`injected crash before removing ${dir}`);
    } }));
  });
  afterAll(async () => rig?.close());

  it('leaves no index naming a missing file; the expiry is recorded and the next run (or a start-up) finishes it', async () => {
    const dataDir = rig.config.data_dir;
    const later = Date.now() + 2 * DAY;
    const dry = await rig.server.collector.collect({ dryRun: true, now: later });
    await expect(rig.server.collector.collect({ dryRun: false, now: later })).rejects.toThrow(/injected crash before removing .*\/repos\/auto-zlib\/2$/);
    // The package files went first; the repository, not yet removed, still has every file its index names (its own links).
    expect(dry.files.filter((f) => f.kind === 'package' && f.path.startsWith('pool/') && existsSync(join(dataDir, f.path))).map((f) => f.path)).toEqual([`pool/${ids.other}/other-2.0-1-x86_64.pkg.tar.zst`]);
    const generation = join(dataDir, 'repos/auto-zlib/2', readlinkSync(join(dataDir, 'repos/auto-zlib/2/x86_64')));
    const indexed = (await pacmanDbFiles(readFileSync(join(generation, 'quarters.db.tar.gz')))).map((e) => e.filename);
    expect(indexed).toEqual(['zlib-1.2-1-x86_64.pkg.tar.zst']);
    expect(readdirSync(generation).filter((f) => f.endsWith('.pkg.tar.zst'))).toEqual(indexed);
    expect(leftovers(dataDir)).toEqual([]);
    expect((await fetch(`${rig.url}/repos/auto-zlib/2/x86_64/`)).status, 'recorded expired before anything went').toBe(410);
    await servedRepository(rig.url, '/repos/auto-zlib/3/x86_64');

    // A restart: the run at start-up finishes what is left, and what else expired meanwhile.
    failOn = null;
    ahead = 2 * DAY;
    await rig.restart();
    await expect.poll(() => dry.files.filter((f) => existsSync(join(dataDir, f.path))), { timeout: 10_000 }).toEqual([]);
    const again = await rig.server.collector.collect({ dryRun: true, now: later });
    expect(without(again)).toEqual({ iterations: [], logs: [], files: [], total_bytes: 0 });
    expect([...(await servedRepository(rig.url, '/repos/auto-zlib/3/x86_64')).keys()]).toEqual(['zlib-1.3-1-x86_64.pkg.tar.zst']);
    expect(leftovers(dataDir)).toEqual([]);
  });
});

describe('retention: a build on its way', () => {
  let rig: Rig;
  afterAll(async () => rig?.close());

  it('expires the superseded iteration but keeps where the build carried over from it uploads, and what it uploads is indexed whole', async () => {
    rig = await startRig({ retention: POLICY });
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    const libpng = rig.addPackage('libpng', srcinfo('libpng', { depends: ['zlib'] }));
    await rig.server.index.syncAll();
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }), JANE));
    const store = rig.server.store;
    const set = store.namespaceByName('auto-zlib')!;
    const first = store.builds(store.latestIteration(set.id)!.id).find((b) => b.pkgbase === 'zlib')!;
    const { token } = await rig.gitlab.state.startPipeline(first.pipeline_id!);
    await rig.server.drain();
    // libpng changes while zlib builds: the new iteration carries the running zlib build over.
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(libpng, { '.SRCINFO': srcinfo('libpng', { version: '1.1-1', depends: ['zlib'] }) }), JANE));
    const carried = store.builds(store.latestIteration(set.id)!.id).find((b) => b.pkgbase === 'zlib')!;
    expect(store.latestIteration(set.id)!.number).toBe(2);
    expect(carried.reused_from).toBe(first.id);

    const run = await rig.server.collector.collect({ dryRun: false, now: Date.now() + 2 * DAY });
    expect(run.iterations.map((i) => `${i.namespace}/${i.iteration}`)).toEqual(['auto-zlib/1']);
    const res = await upload(rig.url, carried.id, await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: 'Jane Packager <jane@example.org>' }), { executor: EXECUTOR_TOKEN, job: token });
    expect(res.status, await res.clone().text()).toBe(201);
    await rig.gitlab.state.finishPipeline(first.pipeline_id!, 'success');
    await rig.server.drain();
    expect(store.build(carried.id)!.state).toBe('built');
    expect([...(await servedRepository(rig.url, '/repos/auto-zlib/2/x86_64')).keys()]).toEqual(['zlib-1.1-1-x86_64.pkg.tar.zst']);
    const again = await rig.server.collector.collect({ dryRun: true, now: Date.now() + 2 * DAY });
    expect(again.files.map((f) => f.path), 'the files of the build carried over are kept').toEqual([]);
  });
});

const spec = (ver: string) => `VER=${ver}\nSRCS="tbl::https://example.org/src-$VER.tar.xz"\nCHKSUMS="sha256::${'0'.repeat(64)}"\nCHKUPDATE="anitya::id=1"\n`;
const defines = (name: string) => `PKGNAME=${name}\nPKGSEC=libs\nPKGDEP=""\nPKGDES="${name} for tests"\n`;

describe('retention: apt repositories (autobuild, signed)', () => {
  let rig: Rig;
  afterAll(async () => rig?.close());

  it('expires the superseded iteration; the released and the latest stay whole, and apt-get accepts them', async () => {
    const key = await makeSigningKey();
    const dist = tempDir('quarters-dist-');
    rig = await startRig({ treeProject: 'aosc/abbs', build: { flavour: 'autobuild', architectures: ['amd64'] }, signing: { key_file: key.secretKeyFile, key_id: key.fingerprint }, repositories: { stable: { directory: join(dist, 'stable'), flavour: 'apt' } }, retention: POLICY });
    const tree = rig.gitlab.state.addProject({ path: 'aosc/abbs', files: { 'core-libs/zlib/spec': spec('1.3'), 'core-libs/zlib/autobuild/defines': defines('zlib') } });
    await rig.server.index.syncAll();
    const ids: number[] = [];
    for (const version of ['1.3.1', '1.3.2', '1.3.3']) {
      await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(tree, { 'core-libs/zlib/spec': spec(version) }), JANE));
      const ns = rig.server.store.namespaceByName('auto-zlib')!;
      const b = rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id)[0]!;
      const { token } = await rig.gitlab.state.startPipeline(b.pipeline_id!);
      expect((await upload(rig.url, b.id, await debPackage({ name: 'zlib', version, arch: 'amd64' }), { executor: EXECUTOR_TOKEN, job: token })).status).toBe(201);
      await rig.gitlab.state.finishPipeline(b.pipeline_id!, 'success');
      await rig.server.drain();
      ids.push(b.id);
      if (version === '1.3.1') {
        const res = await fetch(`${rig.url}/api/v1/namespaces/auto-zlib/release`, { method: 'POST', body: JSON.stringify({ to: 'stable' }), headers: { Authorization: `Bearer ${API_TOKEN}` } });
        expect(res.status, await res.clone().text()).toBe(201);
      }
    }
    const later = Date.now() + 2 * DAY;
    const dry = await rig.server.collector.collect({ dryRun: true, now: later });
    const run = await rig.server.collector.collect({ dryRun: false, now: later });
    expect(run.iterations.map((i) => `${i.namespace}/${i.iteration}`)).toEqual(['auto-zlib/2']);
    expect(without(run)).toEqual(without(dry));
    expect(run.files.map((f) => f.path)).toContain(`pool/${ids[1]}/zlib_1.3.2_amd64.deb`);
    expect(run.files.some((f) => /^repos\/auto-zlib\/2\/\.amd64\.gen-[^/]+\/InRelease$/.test(f.path))).toBe(true);
    expect(leftovers(rig.config.data_dir)).toEqual([]);
    expect((await fetch(`${rig.url}/repos/auto-zlib/2/amd64/Packages`)).status).toBe(410);
    for (const [repo, version] of [['/repos/auto-zlib/1/amd64', '1.3.1'], ['/repos/auto-zlib/3/amd64', '1.3.3'], ['/dist/stable/amd64', '1.3.1']] as const) {
      if (repo.startsWith('/repos/')) expect([...(await servedRepository(rig.url, repo)).keys()]).toEqual([`zlib_${version}_amd64.deb`]);
      const apt = privateApt({ url: `${rig.url}${repo}/`, publicKey: key.publicKey });
      const updated = await apt.update();
      expect(updated.exitCode, `${repo}: ${updated.output}`).toBe(0);
      expect(await apt.policy('zlib')).toMatch(new RegExp(`Candidate: ${version.replace(/\./g, '\\.')}`));
    }

    // logs_after: the kept, ended iteration's logs go; the iteration stays, and so do the latest one's logs.
    const dataDir = rig.config.data_dir;
    for (const iteration of [1, 3]) {
      const path = join(dataDir, buildLogPath('auto-zlib', iteration, 'amd64', 'zlib'));
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, 'a log\n');
    }
    const logs = new GarbageCollector({ dataDir, retention: new RetentionStore(rig.server.db), engine: rig.server.engine, distribution: rig.server.distribution, log: quietLogger(), policy: { keepIterations: 3, supersededAfterMs: 30 * DAY, retiredAfterMs: 30 * DAY, logsAfterMs: DAY } });
    const dropped = await logs.collect({ dryRun: false, now: later });
    expect(dropped.iterations).toEqual([]);
    expect(dropped.logs.map((l) => `${l.namespace}/${l.iteration}`)).toEqual(['auto-zlib/1']);
    expect(dropped.files).toEqual([{ path: 'logs/auto-zlib/1/amd64/zlib.log', kind: 'log', bytes: 6 }]);
    expect(existsSync(join(dataDir, 'logs/auto-zlib/1'))).toBe(false);
    expect(existsSync(join(dataDir, 'logs/auto-zlib/3/amd64/zlib.log'))).toBe(true);
    await servedRepository(rig.url, '/repos/auto-zlib/1/amd64');
  });
});
