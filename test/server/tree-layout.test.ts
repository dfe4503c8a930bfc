import { afterEach, describe, expect, it } from 'vitest';
import { EXECUTOR_TOKEN, startRig, type Rig } from './server-harness.js';
import type { DoubleProject } from '../gitlab-double/index.js';
import { debPackage, upload } from './packages.js';

const JANE = { id: 7, username: 'jane', name: 'Jane Packager', email: 'jane@example.org' };
const spec = (ver: string) => `VER=${ver}\nSRCS="tbl::https://example.org/src-$VER.tar.xz"\nCHKSUMS="sha256::${'0'.repeat(64)}"\nCHKUPDATE="anitya::id=1"\n`;
const defines = (name: string, deps: string[] = []) => `PKGNAME=${name}\nPKGSEC=libs\nPKGDEP="${deps.join(' ')}"\nPKGDES="${name} for tests"\n`;

describe('an AOSC-style tree repository (autobuild)', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('indexes package directories, rebuilds what a push touched, and serves an apt flat repository', async () => {
    rig = await startRig({ treeProject: 'aosc/abbs', build: { flavour: 'autobuild', architectures: ['amd64'] } });
    const tree = rig.gitlab.state.addProject({
      path: 'aosc/abbs',
      files: {
        'README.md': 'tree\n',
        'core-libs/zlib/spec': spec('1.3'), 'core-libs/zlib/autobuild/defines': defines('zlib'),
        'libs/libpng/spec': spec('1.6.40'), 'libs/libpng/autobuild/defines': defines('libpng', ['zlib']),
        'libs/cairo/spec': spec('1.18'), 'libs/cairo/autobuild/defines': defines('cairo', ['libpng']),
        'libs/pixman/spec': spec('0.42'), 'libs/pixman/autobuild/defines': defines('pixman'),
      },
    });
    const synced = await rig.server.index.syncAll();
    expect(synced.updated.map((r) => `${r.dir}:${r.pkgbase}`).sort()).toEqual(['core-libs/zlib:zlib', 'libs/cairo:cairo', 'libs/libpng:libpng', 'libs/pixman:pixman']);

    // A patch added under zlib's directory is a change of zlib; README is no package's.
    const push = rig.gitlab.state.pushFiles(tree, { 'core-libs/zlib/autobuild/patches/0001-fix.patch': 'diff\n', 'core-libs/zlib/spec': spec('1.3.1'), 'README.md': 'tree!\n' });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, JANE));
    const ns = rig.server.store.namespaceByName('auto-zlib')!;
    const builds = () => rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id);
    expect(builds().map((b) => [b.pkgbase, b.state])).toEqual([['zlib', 'dispatched'], ['libpng', 'blocked'], ['cairo', 'blocked']]);
    expect(rig.server.recipes.get('pixman', 'main')!.sha).not.toBe(push.after);

    for (const [i, [name, version, deps]] of ([['zlib', '1.3.1', []], ['libpng', '1.6.40', ['zlib']], ['cairo', '1.18', ['libpng']]] as const).entries()) {
      const pipeline = rig.gitlab.state.pipelinesOf(tree)[i]!;
      expect(Object.fromEntries(pipeline.variables.map((v) => [v.key, v.value])).QUARTERS_PKGBASE).toBe(name);
      const { token } = await rig.gitlab.state.startPipeline(pipeline.id);
      // autobuild records the packager (MTER) as Maintainer: a package made for someone else is refused.
      const forged = await debPackage({ name, version, arch: 'amd64', depends: [...deps], maintainer: 'Mallory <m@example.org>' });
      const refused = await upload(rig.url, builds()[i]!.id, forged, { executor: EXECUTOR_TOKEN, job: token });
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as { error: string; detail: string })).toMatchObject({ error: 'packager_mismatch', detail: expect.stringContaining('Maintainer "Mallory <m@example.org>"') });
      const file = await debPackage({ name, version, arch: 'amd64', depends: [...deps] });
      const res = await upload(rig.url, builds()[i]!.id, file, { executor: EXECUTOR_TOKEN, job: token });
      expect(res.status, await res.clone().text()).toBe(201);
      await rig.gitlab.state.finishPipeline(pipeline.id, 'success');
      await rig.server.drain();
    }
    expect(builds().map((b) => b.state)).toEqual(['built', 'built', 'built']);

    const packages = await (await fetch(`${rig.url}/repos/auto-zlib/latest/amd64/Packages`)).text();
    expect([...packages.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]).sort()).toEqual(['cairo', 'libpng', 'zlib']);
    expect(packages).toMatch(/^Filename: \.\/zlib_1\.3\.1_amd64\.deb$/m);
    const release = await (await fetch(`${rig.url}/repos/auto-zlib/latest/amd64/Release`)).text();
    expect(release).toMatch(/^Origin: quarters$/m);
    expect(release).toMatch(/^ [0-9a-f]{64} +\d+ Packages$/m);
  });

  /** The tree of the other tests, without pixman, indexed; returns the project. */
  async function abbs(): Promise<DoubleProject> {
    rig = await startRig({ treeProject: 'aosc/abbs', build: { flavour: 'autobuild', architectures: ['amd64'] } });
    const tree = rig.gitlab.state.addProject({
      path: 'aosc/abbs',
      files: {
        'core-libs/zlib/spec': spec('1.3'), 'core-libs/zlib/autobuild/defines': defines('zlib'),
        'libs/libpng/spec': spec('1.6.40'), 'libs/libpng/autobuild/defines': defines('libpng', ['zlib']),
        'libs/cairo/spec': spec('1.18'), 'libs/cairo/autobuild/defines': defines('cairo', ['libpng']),
      },
    });
    await rig.server.index.syncAll();
    return tree;
  }
  const versionOf = (pkgbase: string) => rig.server.recipes.get(pkgbase, 'main')?.recipe.version.text;

  it('leaves the index at the new recipes after a force push: a discarded recipe forgotten, a reverted one read again, both rebuilt', async () => {
    const tree = await abbs();
    const base = tree.repository.branches.get('main')!;
    const old = rig.gitlab.state.pushFiles(tree, {
      'core-libs/zlib/spec': spec('1.3.1'),
      'libs/pixman/spec': spec('0.42'), 'libs/pixman/autobuild/defines': defines('pixman'),
    });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(old, JANE));
    expect([versionOf('zlib'), versionOf('pixman')]).toEqual(['1.3.1', '0.42']);

    // The packager rewrites main from the base: only libpng changes in the new history.
    const forced = rig.gitlab.state.push(tree, { force: true, from: base, commits: [{ files: { 'libs/libpng/spec': spec('1.6.41') } }] });
    const body = rig.gitlab.pushHookBody(forced, JANE);
    expect(body.commits.flatMap((c) => [...c.added, ...c.modified, ...c.removed])).toEqual(['libs/libpng/spec']);
    await rig.deliver('Push Hook', body);
    expect([versionOf('zlib'), versionOf('libpng'), versionOf('pixman'), versionOf('cairo')]).toEqual(['1.3', '1.6.41', undefined, '1.18']);
    expect(rig.server.recipes.get('zlib', 'main')!.sha).toBe(forced.after);
    expect(rig.server.recipes.get('cairo', 'main')!.sha).toBe(base);

    // The set of the discarded push cannot be planned any more (pixman is gone); zlib and libpng are rebuilt in a new one.
    const rebuilt = rig.server.store.namespaceByName(`auto-${forced.after.slice(0, 12)}`)!;
    expect(rebuilt.origin).toEqual(['zlib@main', 'libpng@main']);
    const states = rig.server.store.builds(rig.server.store.latestIteration(rebuilt.id)!.id).map((b) => [b.pkgbase, b.sha, b.state]);
    expect(states).toEqual([['zlib', forced.after, 'dispatched'], ['libpng', forced.after, 'blocked'], ['cairo', base, 'blocked']]);

    // A rewind to the base (the hook lists no commit): libpng is read again at the base; zlib is as it was there already.
    const rewind = rig.gitlab.state.push(tree, { force: true, from: base, commits: [] });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rewind, JANE));
    expect([versionOf('zlib'), versionOf('libpng'), versionOf('pixman')]).toEqual(['1.3', '1.6.40', undefined]);
    expect(rig.server.recipes.get('libpng', 'main')!.sha).toBe(base);
  });

  it('builds every package of a push whose event failed after part of it was indexed, when the event is retried', async () => {
    const tree = await abbs();
    const push = rig.gitlab.state.pushFiles(tree, { 'core-libs/zlib/spec': spec('1.3.1'), 'libs/cairo/spec': spec('1.18.2') });
    // zlib is read first; reading cairo fails until GitLab recovers (each attempt of the event exhausts
    // the client's retries): the event fails with zlib indexed.
    const fault = rig.gitlab.faults.inject({ route: 'GET /projects/:id/repository/files/libs%2Fcairo%2Fspec/raw', respond: 503, times: Infinity });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, JANE));
    expect(fault.hits).toBeGreaterThanOrEqual(5);
    const row = () => rig.server.db.prepare("SELECT attempts, processed_at, error FROM inbox WHERE kind = 'Push Hook'").get() as { attempts: number; processed_at: string | null; error: string };
    expect(row()).toMatchObject({ processed_at: null, error: expect.stringMatching(/GitLab did not answer GET/) });
    expect(row().attempts).toBeGreaterThanOrEqual(1);
    expect(rig.server.recipes.get('zlib', 'main')!.sha).toBe(push.after);
    expect(rig.server.recipes.get('cairo', 'main')!.sha).not.toBe(push.after);
    expect(rig.server.store.listNamespaces()).toEqual([]);

    // GitLab recovers; the inbox retries the event on its next pass.
    rig.gitlab.faults.clear();
    await rig.server.drain();
    expect(row().processed_at).not.toBeNull();
    const ns = rig.server.store.namespaceByName(`auto-${push.after.slice(0, 12)}`)!;
    expect(ns.origin).toEqual(['zlib@main', 'cairo@main']);
    expect(rig.gitlab.state.pipelinesOf(tree)).toHaveLength(1);
  });
});
