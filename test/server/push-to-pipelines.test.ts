import { afterEach, describe, expect, it } from 'vitest';
import { EXECUTOR_TOKEN, startRig, srcinfo, type Rig } from './server-harness.js';
import { pacmanDbEntries, pacmanPackage, upload } from './packages.js';

describe('a push to the first of a dependency chain', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('plans the chain and creates pipelines in dependency order as builds finish', async () => {
    rig = await startRig();
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    rig.addPackage('libpng', srcinfo('libpng', { depends: ['zlib'] }));
    rig.addPackage('cairo', srcinfo('cairo', { depends: ['libpng'] }));
    const synced = await rig.server.index.syncAll();
    expect(synced.updated.map((r) => r.pkgbase).sort()).toEqual(['cairo', 'libpng', 'zlib']);

    const push = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }, { author: { name: 'Jane Packager', email: 'jane@example.org' } });
    const res = await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, { id: 7, username: 'jane', name: 'Jane Packager', email: 'jane@example.org' }));
    expect(res.status).toBe(202);

    const ns = rig.server.store.namespaceByName('auto-zlib')!;
    expect(ns).toBeDefined();
    const builds = () => rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id);
    const byName = () => Object.fromEntries(builds().map((b) => [b.pkgbase, b]));
    expect(Object.fromEntries(builds().map((b) => [b.pkgbase, b.state]))).toEqual({ zlib: 'dispatched', libpng: 'blocked', cairo: 'blocked' });

    const pipelines = () => rig.gitlab.state.pipelinesOf();
    expect(pipelines()).toHaveLength(1);
    const first = pipelines()[0]!;
    const vars = Object.fromEntries(first.variables.map((v) => [v.key, v.value]));
    expect(vars).toMatchObject({
      QUARTERS_BUILD_ID: String(byName().zlib!.id), QUARTERS_NAMESPACE: 'auto-zlib', QUARTERS_ITERATION: '1', QUARTERS_PKGBASE: 'zlib',
      QUARTERS_ARCH: 'x86_64', QUARTERS_FLAVOUR: 'pkgbuild', QUARTERS_TARGET_BRANCH: 'main', QUARTERS_PACKAGER: 'Jane Packager <jane@example.org>',
      QUARTERS_SERVER_URL: 'http://quarters.test',
    });
    expect(first.sha).toBe(push.after);

    const JANE = 'Jane Packager <jane@example.org>';
    /** What the executor does: the job runs, uploads its package with its job token, and succeeds. */
    const runBuild = async (pipelineId: number, pkgbase: string, version: string) => {
      const { token } = await rig.gitlab.state.startPipeline(pipelineId);
      await rig.server.drain();
      expect(byName()[pkgbase]!.state).toBe('building');
      const file = await pacmanPackage({ name: pkgbase, version, packager: JANE });
      const res = await upload(rig.url, byName()[pkgbase]!.id, file, { executor: EXECUTOR_TOKEN, job: token });
      expect(res.status, await res.clone().text()).toBe(201);
      await rig.gitlab.state.finishPipeline(pipelineId, 'success');
      await rig.server.drain();
    };

    await runBuild(first.id, 'zlib', '1.1-1');
    expect(byName().zlib!.state).toBe('built');
    expect([byName().libpng!.state, byName().libpng!.reason]).toEqual(['dispatched', null]);
    expect(pipelines()).toHaveLength(2);
    await runBuild(pipelines()[1]!.id, 'libpng', '1.0-1');
    expect(pipelines()).toHaveLength(3);
    expect(rig.gitlab.state.project(pipelines()[2]!.projectId).pathWithNamespace).toBe('packages/cairo');
    await runBuild(pipelines()[2]!.id, 'cairo', '1.0-1');
    expect(builds().map((b) => b.state)).toEqual(['built', 'built', 'built']);

    const db = await fetch(`${rig.url}/repos/auto-zlib/latest/x86_64/quarters.db`);
    expect(db.status).toBe(200);
    expect(await pacmanDbEntries(Buffer.from(await db.arrayBuffer()))).toEqual(['cairo-1.0-1', 'libpng-1.0-1', 'zlib-1.1-1']);
    const listing = (await (await fetch(`${rig.url}/repos/auto-zlib/1/x86_64/`)).json()) as { files: { name: string }[] };
    expect(listing.files.map((f) => f.name)).toContain('zlib-1.1-1-x86_64.pkg.tar.zst');
    const shown = (await (await fetch(`${rig.url}/api/v1/namespaces/auto-zlib`)).json()) as { builds: { pkgbase: string; state: string; pipeline_id: number; packager: string }[] };
    expect(shown.builds.map((b) => [b.pkgbase, b.state, b.packager])).toEqual([['zlib', 'built', JANE], ['libpng', 'built', JANE], ['cairo', 'built', JANE]]);
    expect(shown.builds.map((b) => b.pipeline_id)).toEqual(pipelines().map((p) => p.id));

    // cairo changes: a new iteration rebuilds cairo only; zlib and libpng are carried over, packages and all.
    const cairo = rig.gitlab.state.project('packages/cairo');
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(cairo, { '.SRCINFO': srcinfo('cairo', { version: '1.1-1', depends: ['libpng'] }) }), { id: 7, username: 'jane', name: 'Jane Packager', email: 'jane@example.org' }));
    expect(rig.server.store.latestIteration(ns.id)!.number).toBe(2);
    expect(builds().map((b) => [b.pkgbase, b.state, b.reused_from !== null])).toEqual([['zlib', 'built', true], ['libpng', 'built', true], ['cairo', 'dispatched', false]]);
    const carried = await fetch(`${rig.url}/repos/auto-zlib/2/x86_64/quarters.db`);
    expect(await pacmanDbEntries(Buffer.from(await carried.arrayBuffer()))).toEqual(['libpng-1.0-1', 'zlib-1.1-1']);
    await runBuild(pipelines()[3]!.id, 'cairo', '1.1-1');
    const latest = await fetch(`${rig.url}/repos/auto-zlib/latest/x86_64/quarters.db`);
    expect(await pacmanDbEntries(Buffer.from(await latest.arrayBuffer()))).toEqual(['cairo-1.1-1', 'libpng-1.0-1', 'zlib-1.1-1']);
    const iterationOne = await fetch(`${rig.url}/repos/auto-zlib/1/x86_64/quarters.db`);
    expect(await pacmanDbEntries(Buffer.from(await iterationOne.arrayBuffer()))).toEqual(['cairo-1.0-1', 'libpng-1.0-1', 'zlib-1.1-1']);
  });
});
