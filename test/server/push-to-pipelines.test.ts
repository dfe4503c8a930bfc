import { afterEach, describe, expect, it } from 'vitest';
import { startRig, srcinfo, type Rig } from './server-harness.js';

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

    await rig.gitlab.state.finishPipeline(first.id, 'success');
    await rig.server.drain();
    expect(byName().zlib!.state).toBe('built');
    expect([byName().libpng!.state, byName().libpng!.reason]).toEqual(['dispatched', null]);
    expect(pipelines()).toHaveLength(2);
    await rig.gitlab.state.finishPipeline(pipelines()[1]!.id, 'success');
    await rig.server.drain();
    expect(pipelines()).toHaveLength(3);
    expect(rig.gitlab.state.project(pipelines()[2]!.projectId).pathWithNamespace).toBe('packages/cairo');
    await rig.gitlab.state.finishPipeline(pipelines()[2]!.id, 'success');
    await rig.server.drain();
    expect(builds().map((b) => b.state)).toEqual(['built', 'built', 'built']);
  });
});
