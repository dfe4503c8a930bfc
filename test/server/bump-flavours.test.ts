/**
 * `ns bump` in the other layouts and flavours: an AOSC tree (one repository holding every package, so one
 * merge request bumping several specs in one commit) and Debian package projects (a changelog entry).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API_TOKEN, startRig, type Rig } from './server-harness.js';

const REASON = 'rebuild against zlib 2';

async function bump(rig: Rig, name: string, body: Record<string, unknown>) {
  const res = await fetch(`${rig.url}/api/v1/namespaces/${name}/bump`, { method: 'POST', headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(202);
  await rig.server.bumper.idle();
  return (await (await fetch(`${rig.url}/api/v1/namespaces/${name}/bump`)).json()) as { counts: Record<string, number>; repositories: { project: string; state: string; error: string | null; packages: { pkgbase: string; dir: string; from: string; to: string }[] }[] };
}

async function create(rig: Rig, name: string, origin: string) {
  const res = await fetch(`${rig.url}/api/v1/namespaces`, { method: 'POST', headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name, origin_changesets: [origin], packager: 'Jane Packager <jane@example.org>' }) });
  expect(res.status, await res.clone().text()).toBe(201);
}

function latest(rig: Rig, name: string) {
  const ns = rig.server.store.namespaceByName(name)!;
  return new Map(rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id).map((b) => [b.pkgbase, b]));
}

describe('ns bump in other layouts and flavours', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('AOSC tree: one merge request bumps every rebuilt package\'s REL in one commit', async () => {
    rig = await startRig({ treeProject: 'aosc/abbs', build: { flavour: 'autobuild', architectures: ['amd64'] } });
    const spec = (ver: string, rel?: string) => `VER=${ver}\n${rel ? `REL=${rel}\n` : ''}SRCS="tbl::https://example.org/src-$VER.tar.xz"\nCHKSUMS="sha256::${'0'.repeat(64)}"\nCHKUPDATE="anitya::id=1"\n`;
    const defines = (name: string, deps: string[] = []) => `PKGNAME=${name}\nPKGSEC=libs\nPKGDEP="${deps.join(' ')}"\nPKGDES="${name} for tests"\n`;
    const tree = rig.gitlab.state.addProject({
      path: 'aosc/abbs',
      files: {
        'core-libs/zlib/spec': spec('2.0'), 'core-libs/zlib/autobuild/defines': defines('zlib'),
        'libs/libpng/spec': spec('1.6.40'), 'libs/libpng/autobuild/defines': defines('libpng', ['zlib']),
        'libs/cairo/spec': spec('1.18', '2'), 'libs/cairo/autobuild/defines': defines('cairo', ['libpng']),
      },
    });
    await rig.server.index.syncAll();
    await create(rig, 'zlib-2', 'zlib@main');

    const view = await bump(rig, 'zlib-2', { reason: REASON });
    expect(view.counts).toMatchObject({ opened: 1, failed: 0 });
    expect(view.repositories).toEqual([expect.objectContaining({
      project: 'aosc/abbs', state: 'opened',
      packages: [{ pkgbase: 'cairo', dir: 'libs/cairo', from: '2', to: '3' }, { pkgbase: 'libpng', dir: 'libs/libpng', from: '0', to: '1' }],
    })]);
    const branch = 'quarters/bump/zlib-2/1';
    const [mr] = [...tree.mergeRequests.values()];
    expect(mr).toMatchObject({ sourceBranch: branch, targetBranch: 'main', title: `Rebuild cairo, libpng: ${REASON}` });
    const head = tree.repository.commitAt(branch)!;
    expect(head.parentIds).toEqual([tree.repository.branches.get('main')]);
    expect(head.files.get('libs/libpng/spec')).toBe(spec('1.6.40').replace('VER=1.6.40\n', 'VER=1.6.40\nREL=1\n'));
    expect(head.files.get('libs/cairo/spec')).toBe(spec('1.18', '3'));
    expect(head.files.get('core-libs/zlib/spec')).toBe(spec('2.0'));

    const builds = latest(rig, 'zlib-2');
    expect(builds.get('zlib')).toMatchObject({ ref: 'main', version: '2.0' });
    expect(builds.get('libpng')).toMatchObject({ ref: branch, sha: head.id, version: '1.6.40-1' });
    expect(builds.get('cairo')).toMatchObject({ ref: branch, sha: head.id, version: '1.18-3' });
  }, 60_000);

  it('Debian: a changelog entry with the next revision, signed by the maintainer given', async () => {
    rig = await startRig({ build: { flavour: 'debian', architectures: ['amd64'] } });
    const control = (name: string, depends = '') => `Source: ${name}\nMaintainer: Jane Packager <jane@example.org>\n\nPackage: ${name}\nArchitecture: any\n${depends ? `Depends: ${depends}\n` : ''}Description: ${name} for tests\n`;
    const changelog = (name: string, version: string) => `${name} (${version}) bookworm; urgency=low\n\n  * For tests.\n\n -- Jane Packager <jane@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n`;
    rig.gitlab.state.addProject({ path: 'packages/zlib', files: { 'debian/control': control('zlib'), 'debian/changelog': changelog('zlib', '2.0-1') } });
    const libpng = rig.gitlab.state.addProject({ path: 'packages/libpng', files: { 'debian/control': control('libpng', 'zlib'), 'debian/changelog': changelog('libpng', '1.6.40-3') } });
    await rig.server.index.syncAll();
    await create(rig, 'zlib-2', 'zlib@main');

    const view = await bump(rig, 'zlib-2', { reason: REASON, maintainer: 'Release Team <release@example.org>' });
    expect(view.repositories).toEqual([expect.objectContaining({ project: 'packages/libpng', state: 'opened', packages: [{ pkgbase: 'libpng', dir: '', from: '1.6.40-3', to: '1.6.40-4' }] })]);
    const head = libpng.repository.commitAt('quarters/bump/zlib-2/1')!;
    const text = head.files.get('debian/changelog')!;
    expect(text).toMatch(/^libpng \(1\.6\.40-4\) bookworm; urgency=medium\n\n {2}\* No-change rebuild: rebuild against zlib 2\n\n -- Release Team <release@example.org> {2}\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\n\n/);
    expect(text.endsWith(changelog('libpng', '1.6.40-3'))).toBe(true);
    expect(head.author).toEqual({ name: 'Release Team', email: 'release@example.org' });
    expect(latest(rig, 'zlib-2').get('libpng')).toMatchObject({ ref: 'quarters/bump/zlib-2/1', version: '1.6.40-4' });
  }, 60_000);

  it('a recipe it cannot bump fails that repository at once, with the reason, and nothing is written to it', async () => {
    rig = await startRig();
    const info = (name: string, depends: string[] = []) => `pkgbase = ${name}\n\tpkgver = 1\n\tpkgrel = 1\n\tarch = x86_64\n\npkgname = ${name}\n${depends.map((d) => `\tdepends = ${d}\n`).join('')}`;
    rig.gitlab.state.addProject({ path: 'packages/zlib', files: { PKGBUILD: 'pkgrel=1\n', '.SRCINFO': info('zlib') } });
    const odd = rig.gitlab.state.addProject({ path: 'packages/odd', files: { PKGBUILD: '_rel=1\npkgrel=$_rel\n', '.SRCINFO': info('odd', ['zlib']) } });
    rig.gitlab.state.addProject({ path: 'packages/plain', files: { PKGBUILD: 'pkgrel=1\n', '.SRCINFO': info('plain', ['zlib']) } });
    await rig.server.index.syncAll();
    await create(rig, 'zlib-2', 'zlib@main');
    const view = await bump(rig, 'zlib-2', { reason: REASON });
    expect(view.counts).toMatchObject({ opened: 1, failed: 1 });
    expect(view.repositories.find((r) => r.project === 'packages/odd')).toMatchObject({
      state: 'failed', error: 'odd: PKGBUILD: pkgrel is not a plain top-level assignment (pkgrel=N); bump it by hand',
    });
    expect(rig.gitlab.requests.filter((r) => r.method === 'POST' && r.url.startsWith(`/api/v4/projects/${odd.id}/`))).toEqual([]);
    expect(odd.repository.branches.size).toBe(1);
  }, 60_000);

  it('refuses a set that rebuilds nothing but its origins', async () => {
    rig = await startRig();
    rig.gitlab.state.addProject({ path: 'packages/alone', files: { PKGBUILD: 'pkgrel=1\n', '.SRCINFO': 'pkgbase = alone\n\tpkgver = 1\n\tpkgrel = 1\n\tarch = x86_64\n\npkgname = alone\n' } });
    await rig.server.index.syncAll();
    await create(rig, 'alone', 'alone@main');
    const res = await fetch(`${rig.url}/api/v1/namespaces/alone/bump`, { method: 'POST', headers: { Authorization: `Bearer ${API_TOKEN}` }, body: JSON.stringify({ reason: REASON }) });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: 'nothing_to_bump' });
    expect((await fetch(`${rig.url}/api/v1/namespaces/alone/bump`)).status).toBe(404);
    expect((await fetch(`${rig.url}/api/v1/namespaces/alone/bump`, { method: 'POST', body: '{}' })).status).toBe(401);
  }, 60_000);
});
