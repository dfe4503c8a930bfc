/** `SourceIndex.syncAll` (`quarters index sync`): everything readable is indexed, and every project or recipe that is not is named with the reason. */
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from './http-harness.js';
import { startRig, srcinfo, type Rig } from './server-harness.js';
import { describeUnreadable } from '../../src/server/sources/source-index.js';

describe('index sync', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('indexes every readable package project and reports the others with the reason', async () => {
    const { log, lines } = capturingLogger();
    rig = await startRig({ log });
    rig.addPackage('zlib', srcinfo('zlib'));
    rig.gitlab.state.addProject({ path: 'packages/empty' });
    rig.addPackage('broken', 'this is not a .SRCINFO\n');
    rig.gitlab.state.addProject({ path: 'packages/docs', files: { 'README.md': 'no recipe here\n' } });
    const headless = rig.addPackage('headless', srcinfo('headless'));
    headless.repository.branches.set('dev', headless.repository.branches.get('main')!);
    headless.repository.branches.delete('main');
    const forbidden = rig.addPackage('forbidden', srcinfo('forbidden'));
    rig.gitlab.faults.inject({ route: `GET /projects/${forbidden.id}/repository/files/.SRCINFO/raw`, respond: 403, times: Infinity });
    rig.addPackage('libpng', srcinfo('libpng', { depends: ['zlib'] }));

    const result = await rig.server.index.syncAll();
    expect(result.updated.map((r) => r.pkgbase)).toEqual(['zlib', 'libpng']);
    expect(rig.server.recipes.defaults().map((r) => r.pkgbase)).toEqual(['libpng', 'zlib']);
    const reported = Object.fromEntries(result.unreadable.map((u) => [u.project, u.reason]));
    expect(Object.keys(reported).sort()).toEqual(['packages/broken', 'packages/docs', 'packages/empty', 'packages/forbidden', 'packages/headless']);
    expect(reported['packages/empty']).toBe('it has no default branch (an empty repository)');
    expect(reported['packages/headless']).toBe('its default branch main does not exist');
    expect(reported['packages/docs']).toMatch(/^no recipe \(\.SRCINFO\) on main at [0-9a-f]{12}$/);
    expect(reported['packages/broken']).toMatch(/\(at [0-9a-f]{12}\)$/);
    expect(reported['packages/forbidden']).toMatch(/^GitLab answered 403 to GET /);
    // The server logs each one.
    const logged = lines.filter((l) => l.msg === 'project not indexed' || l.msg === 'recipe not indexed').map((l) => l.project);
    expect([...logged].sort()).toEqual(Object.keys(reported).sort());
    expect(describeUnreadable(result.unreadable.find((u) => u.project === 'packages/empty')!)).toBe('packages/empty: it has no default branch (an empty repository)');
  });

  it('in a tree project: indexes the readable recipes, reports an unparseable one by its directory, and an empty tree without forgetting what it knew', async () => {
    rig = await startRig({ treeProject: 'aosc/abbs', build: { flavour: 'autobuild', architectures: ['amd64'] } });
    const tree = rig.gitlab.state.addProject({
      path: 'aosc/abbs',
      files: {
        'core-libs/zlib/spec': 'VER=1.3\n', 'core-libs/zlib/autobuild/defines': 'PKGNAME=zlib\nPKGSEC=libs\nPKGDES="zlib"\n',
        'libs/broken/spec': 'VER=1\n', 'libs/broken/autobuild/defines': 'PKGSEC=libs\n',
      },
    });
    const result = await rig.server.index.syncAll();
    expect(result.updated.map((r) => r.pkgbase)).toEqual(['zlib']);
    expect(result.unreadable).toEqual([{ project: 'aosc/abbs', dir: 'libs/broken', reason: expect.stringMatching(/PKGNAME/) }]);

    // A commit whose tree GitLab shows empty: reported, and the index keeps zlib.
    rig.gitlab.state.pushFiles(tree, { 'core-libs/zlib/spec': null, 'core-libs/zlib/autobuild/defines': null, 'libs/broken/spec': null, 'libs/broken/autobuild/defines': null });
    const again = await rig.server.index.syncAll();
    expect(again.unreadable).toEqual([{ project: 'aosc/abbs', dir: '', reason: expect.stringMatching(/^GitLab lists no files in aosc\/abbs at [0-9a-f]{12}/) }]);
    expect(rig.server.recipes.get('zlib', 'main')).toBeDefined();
  });
});
