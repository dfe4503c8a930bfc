import { afterEach, describe, expect, it } from 'vitest';
import { EXECUTOR_TOKEN, startRig, type Rig } from './server-harness.js';
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
});
