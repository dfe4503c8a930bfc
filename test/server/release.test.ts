/**
 * Promotion of build sets into a distribution repository ([repositories.core]): refused while builds
 * are unbuilt (unless --partial leaves them out), a dry run's diff, the release itself (signed, installed
 * from with pacman at SigLevel = Required), versions going backwards refused unless forced, split
 * packages no longer made removed, every release recorded with who asked; through the API and the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { API_TOKEN, EXECUTOR_TOKEN, JANE, srcinfo, startRig, type Rig } from './server-harness.js';
import { pacmanPackage, upload } from './packages.js';
import { tempDir } from './http-harness.js';
import { makeSigningKey, privateApt, privatePacman, type TestKey } from '../support/signing-keys.js';
import { debPackage } from './packages.js';
import { tokenIdentity } from '../../src/server/http/token-check.js';
import type { DoubleProject } from '../gitlab-double/index.js';
import type { ReleaseOutcome } from '../../src/server/releases/releases.js';
import type { ReleaseRow } from '../../src/server/store/release-store.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const PACKAGER = 'Jane Packager <jane@example.org>';

/** zlib's recipe: zlib and its split package zlib-docs (unless `docs` is false). */
const zlibInfo = (version: string, docs = true) => [
  'pkgbase = zlib', `\tpkgver = ${version.split('-')[0]}`, `\tpkgrel = ${version.split('-')[1]}`, '\tarch = x86_64', '',
  'pkgname = zlib', '', ...(docs ? ['pkgname = zlib-docs', ''] : []),
].join('\n');

describe('releasing a build set into a distribution repository', () => {
  let rig: Rig;
  let key: TestKey;
  let dist: string;
  let projects: Record<'zlib' | 'libpng' | 'cairo', DoubleProject>;

  const release = (name: string, body: unknown, token = API_TOKEN) =>
    fetch(`${rig.url}/api/v1/namespaces/${name}/release`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
  const builds = () => rig.server.store.builds(rig.server.store.latestIteration(rig.server.store.namespaceByName('auto-zlib')!.id)!.id);
  /** Runs the pipeline of the build of `pkgbase` in the latest iteration: uploads its packages, succeeds. */
  const build = async (pkgbase: 'zlib' | 'libpng' | 'cairo', files: { name: string; version: string; depends?: string[] }[]) => {
    const b = builds().find((x) => x.pkgbase === pkgbase)!;
    expect(b.state, `${pkgbase} is to be built`).toBe('dispatched');
    const { token } = await rig.gitlab.state.startPipeline(b.pipeline_id!);
    for (const f of files) {
      const file = await pacmanPackage({ ...f, pkgbase, packager: PACKAGER });
      const res = await upload(rig.url, b.id, file, { executor: EXECUTOR_TOKEN, job: token });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    await rig.gitlab.state.finishPipeline(b.pipeline_id!, 'success');
    await rig.server.drain();
  };

  beforeAll(async () => {
    key = await makeSigningKey();
    dist = tempDir('quarters-dist-');
    rig = await startRig({ signing: { key_file: key.secretKeyFile, key_id: key.fingerprint }, repositories: { core: { directory: join(dist, 'core'), flavour: 'pacman' } } });
    projects = {
      zlib: rig.addPackage('zlib', zlibInfo('1.2-1')),
      libpng: rig.addPackage('libpng', srcinfo('libpng', { depends: ['zlib'] })),
      cairo: rig.addPackage('cairo', srcinfo('cairo', { depends: ['libpng'] })),
    };
    await rig.server.index.syncAll();
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(projects.zlib, { '.SRCINFO': zlibInfo('1.3-1') }), JANE));
    await build('zlib', [{ name: 'zlib', version: '1.3-1' }, { name: 'zlib-docs', version: '1.3-1' }]);
  });
  afterAll(async () => rig?.close());

  it('refuses a set with unbuilt builds, naming them; --partial leaves them out', async () => {
    expect((await release('auto-zlib', { to: 'core' }, '')).status).toBe(401);
    expect(await (await release('auto-zlib', { to: 'extra' })).json()).toMatchObject({ error: 'unknown_repository', detail: expect.stringContaining('configured: core') });
    const refused = await release('auto-zlib', { to: 'core' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: 'not_releasable', detail: expect.stringMatching(/libpng\/x86_64 is dispatched; cairo\/x86_64 is blocked.*--partial libpng cairo/) });
    const dry = await release('auto-zlib', { to: 'core', partial: ['libpng', 'cairo'], dry_run: true });
    expect(dry.status).toBe(200);
    const outcome = (await dry.json()) as ReleaseOutcome;
    expect(outcome).toMatchObject({ namespace: 'auto-zlib', iteration: 1, repository: 'core', dry_run: true, release: null });
    expect(outcome.diffs[0]!.added.map((c) => `${c.name} ${c.to}`)).toEqual(['zlib 1.3-1', 'zlib-docs 1.3-1']);
    expect(existsSync(join(dist, 'core')), 'a dry run changes nothing').toBe(false);
    expect(await (await release('auto-zlib', { to: 'core', partial: ['glibc'] })).json()).toMatchObject({ error: 'unknown_pkgbase' });
    const doc = (await (await fetch(`${rig.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/namespaces/{name}/release', '/releases', '/releases/{id}', '/repositories', '/signing-key']));
    expect(await (await fetch(`${rig.url}/api/v1/repositories`)).json()).toEqual({ repositories: [{ name: 'core', flavour: 'pacman', architectures: ['x86_64'], url: 'http://quarters.test/dist/core', install: expect.stringContaining('[core]\nSigLevel = Required\nServer = http://quarters.test/dist/core/$arch') }] });
  });

  it('releases the finished set (through the CLI), signed; pacman installs from it at SigLevel = Required', async () => {
    await build('libpng', [{ name: 'libpng', version: '1.0-1', depends: ['zlib'] }]);
    await build('cairo', [{ name: 'cairo', version: '1.0-1', depends: ['libpng'] }]);
    const env = { QUARTERS_SERVER: rig.url, QUARTERS_API_TOKEN: API_TOKEN };
    const dry = await execa('node', [CLI, 'ns', 'release', 'auto-zlib', '--to', 'core', '--dry-run'], { reject: false, env });
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toBe([
      'auto-zlib (iteration 1) into core', 'x86_64: 4 added, 0 upgraded, 0 downgraded, 0 removed',
      '  + cairo 1.0-1', '  + libpng 1.0-1', '  + zlib 1.3-1', '  + zlib-docs 1.3-1', 'dry run: nothing was changed',
    ].join('\n'));
    const done = await execa('node', [CLI, 'ns', 'release', 'auto-zlib', '--to', 'core'], { reject: false, env });
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stdout).toMatch(new RegExp(`released: release 1, by ${tokenIdentity(API_TOKEN)}, at \\d{4}-`));

    // The directory is a symlink to the release's generation, beside it.
    expect(lstatSync(join(dist, 'core')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dist, 'core'))).toMatch(/^\.core\.gen-\d+-[0-9a-f]+$/);
    const files = ((await (await fetch(`${rig.url}/dist/core/x86_64/`)).json()) as { files: { name: string }[] }).files.map((f) => f.name);
    expect(files).toEqual(expect.arrayContaining(['core.db', 'core.db.sig', 'core.files', 'zlib-1.3-1-x86_64.pkg.tar.zst', 'zlib-1.3-1-x86_64.pkg.tar.zst.sig', 'cairo-1.0-1-x86_64.pkg.tar.zst.sig']));
    const pacman = await privatePacman({ name: 'core', server: `${rig.url}/dist/core/$arch`, publicKey: key.publicKey, fingerprint: key.fingerprint });
    try {
      const result = await pacman.install('cairo');
      expect(result.exitCode, result.output).toBe(0);
      expect(readdirSync(join(pacman.root, 'usr/share/doc')).sort()).toEqual(['cairo', 'libpng', 'zlib']);
    } finally {
      await pacman.close();
    }

    const list = (await (await fetch(`${rig.url}/api/v1/releases?repository=core`)).json()) as { releases: ReleaseRow[] };
    expect(list.releases).toHaveLength(1);
    expect(list.releases[0]).toMatchObject({ id: 1, namespace: 'auto-zlib', iteration: 1, actor: tokenIdentity(API_TOKEN), forced: false, state: 'published', left_out: [] });
    const one = (await (await fetch(`${rig.url}/api/v1/releases/1`)).json()) as { packages: { name: string; build_id?: number; buildId?: number }[] };
    expect(one.packages.map((p) => p.name)).toEqual(['cairo', 'libpng', 'zlib', 'zlib-docs']);
    const shown = await execa('node', [CLI, 'ns', 'releases', '--to', 'core'], { reject: false, env: { QUARTERS_SERVER: rig.url } });
    expect(shown.stdout.split('\n')[1]).toMatch(new RegExp(`^1 +core +auto-zlib +1 +published +\\+4 ↑0 ↓0 -0 +${tokenIdentity(API_TOKEN)} `));
    // The same set again: nothing to do.
    expect(await (await release('auto-zlib', { to: 'core' })).json()).toMatchObject({ error: 'nothing_to_release' });
  });

  it('refuses a version going backwards unless forced, and removes the split package the set no longer makes', async () => {
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(projects.zlib, { '.SRCINFO': zlibInfo('1.2-5', false) }), JANE));
    await build('zlib', [{ name: 'zlib', version: '1.2-5' }]);
    await build('libpng', [{ name: 'libpng', version: '1.0-1', depends: ['zlib'] }]);
    await build('cairo', [{ name: 'cairo', version: '1.0-1', depends: ['libpng'] }]);
    const before = readlinkSync(join(dist, 'core'));
    const refused = await release('auto-zlib', { to: 'core' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: 'version_downgrade', detail: 'the release would take versions backwards: zlib/x86_64 1.3-1 → 1.2-5; give --force to release anyway' });
    expect(readlinkSync(join(dist, 'core'))).toBe(before);
    const forced = await release('auto-zlib', { to: 'core', force: true });
    expect(forced.status).toBe(201);
    const outcome = (await forced.json()) as ReleaseOutcome;
    const diff = outcome.diffs[0]!;
    expect({ down: diff.downgraded.map((c) => c.name), removed: diff.removed.map((c) => c.name), same: diff.unchanged.map((c) => c.name) }).toEqual({ down: ['zlib'], removed: ['zlib-docs'], same: ['cairo', 'libpng'] });
    expect(outcome.release).toMatchObject({ id: 2, iteration: 2, forced: true, state: 'published' });
    const files = ((await (await fetch(`${rig.url}/dist/core/x86_64/`)).json()) as { files: { name: string }[] }).files.map((f) => f.name);
    expect(files.filter((f) => f.startsWith('zlib'))).toEqual(['zlib-1.2-5-x86_64.pkg.tar.zst', 'zlib-1.2-5-x86_64.pkg.tar.zst.sig']);
    const db = await execa('tar', ['-tzf', join(dist, 'core/x86_64/core.db.tar.gz')]);
    expect(db.stdout.split('\n').filter((l) => /^[^/]+\/$/.test(l)).sort()).toEqual(['cairo-1.0-1/', 'libpng-1.0-1/', 'zlib-1.2-5/']);
  });

  it('settles at start-up a release the server stopped during: interrupted when the repository was not switched', async () => {
    const row = rig.server.releaseStore.start({ repository: 'core', namespace: 'auto-zlib', iteration: 2, actor: 'token:test', forced: false, left_out: [], changes: [] }, [
      { arch: 'x86_64', name: 'zlib', version: '9-1', filename: 'zlib-9-1-x86_64.pkg.tar.zst', sha256: 'a'.repeat(64), buildId: builds()[0]!.id },
    ]);
    const published = rig.server.releaseStore.start({ repository: 'core', namespace: 'auto-zlib', iteration: 2, actor: 'token:test', forced: false, left_out: [], changes: [] }, [
      { arch: 'x86_64', name: 'zlib', version: '1.2-5', filename: 'zlib-1.2-5-x86_64.pkg.tar.zst', sha256: 'a'.repeat(64), buildId: builds()[0]!.id },
    ]);
    await rig.restart();
    expect(rig.server.releaseStore.get(row.id)).toMatchObject({ state: 'interrupted', error: expect.stringContaining('left as it was') });
    expect(rig.server.releaseStore.get(published.id)).toMatchObject({ state: 'published' });
  });
});

const spec = (ver: string) => `VER=${ver}\nSRCS="tbl::https://example.org/src-$VER.tar.xz"\nCHKSUMS="sha256::${'0'.repeat(64)}"\nCHKUPDATE="anitya::id=1"\n`;
const defines = (name: string, deps: string[] = []) => `PKGNAME=${name}\nPKGSEC=libs\nPKGDEP="${deps.join(' ')}"\nPKGDES="${name} for tests"\n`;

describe('releasing into an apt distribution repository', () => {
  let rig: Rig;
  afterAll(async () => rig?.close());

  it('publishes a signed flat repository per architecture that apt-get accepts with signed-by', async () => {
    const key = await makeSigningKey();
    const dist = tempDir('quarters-dist-');
    rig = await startRig({ treeProject: 'aosc/abbs', build: { flavour: 'autobuild', architectures: ['amd64'] }, signing: { key_file: key.secretKeyFile, key_id: key.fingerprint }, repositories: { stable: { directory: join(dist, 'stable'), flavour: 'apt' } } });
    const tree = rig.gitlab.state.addProject({ path: 'aosc/abbs', files: { 'core-libs/zlib/spec': spec('1.3'), 'core-libs/zlib/autobuild/defines': defines('zlib') } });
    await rig.server.index.syncAll();
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(tree, { 'core-libs/zlib/spec': spec('1.3.1') }), JANE));
    const ns = rig.server.store.namespaceByName('auto-zlib')!;
    const b = rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id)[0]!;
    const { token } = await rig.gitlab.state.startPipeline(b.pipeline_id!);
    expect((await upload(rig.url, b.id, await debPackage({ name: 'zlib', version: '1.3.1', arch: 'amd64' }), { executor: EXECUTOR_TOKEN, job: token })).status).toBe(201);
    await rig.gitlab.state.finishPipeline(b.pipeline_id!, 'success');
    await rig.server.drain();

    const res = await fetch(`${rig.url}/api/v1/namespaces/auto-zlib/release`, { method: 'POST', body: JSON.stringify({ to: 'stable' }), headers: { Authorization: `Bearer ${API_TOKEN}` } });
    expect(res.status, await res.clone().text()).toBe(201);
    const files = ((await (await fetch(`${rig.url}/dist/stable/amd64/`)).json()) as { files: { name: string }[] }).files.map((f) => f.name);
    expect(files).toEqual(['InRelease', 'Packages', 'Release', 'Release.gpg', 'zlib_1.3.1_amd64.deb']);
    expect(await (await fetch(`${rig.url}/dist/stable/amd64/Release`)).text()).toMatch(/^Origin: stable$/m);
    expect((await fetch(`${rig.url}/dist/stable/arm64/`)).status).toBe(404);
    const [listed] = ((await (await fetch(`${rig.url}/api/v1/repositories`)).json()) as { repositories: { install: string }[] }).repositories;
    expect(listed!.install).toContain('deb [signed-by=/etc/apt/keyrings/quarters.asc] http://quarters.test/dist/stable/amd64/ ./');
    const apt = privateApt({ url: `${rig.url}/dist/stable/amd64/`, publicKey: key.publicKey });
    const updated = await apt.update();
    expect(updated.exitCode, updated.output).toBe(0);
    expect(await apt.policy('zlib')).toMatch(/Candidate: 1\.3\.1/);
  });
});
