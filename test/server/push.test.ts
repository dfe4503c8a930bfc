/** A push is never lost: the server decides from what has been built, not from what this delivery changed in the index. */
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from './http-harness.js';
import { API_TOKEN, chain, JANE, startRig, srcinfo, statesOf, type Rig } from './server-harness.js';


const iterationOf = (rig: Rig, name: string) => rig.server.store.latestIteration(rig.server.store.namespaceByName(name)!.id)!.number;

/** The "nothing to build" lines of a captured log. */
const nothingBuilt = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === 'push builds nothing');

describe('a push to a default branch', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('builds a commit the index had already read (index sync ran before the hook was processed)', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    const push = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) });
    await rig.server.index.syncAll();
    expect(rig.server.recipes.get('zlib', 'main')!.sha).toBe(push.after);

    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, JANE));
    expect(rig.gitlab.state.pipelinesOf(zlib)).toHaveLength(1);
    expect(rig.gitlab.state.pipelinesOf(zlib)[0]!.sha).toBe(push.after);
    expect(statesOf(rig, 'auto-zlib')).toEqual({ zlib: 'dispatched', libpng: 'blocked', cairo: 'blocked' });
    expect(rig.server.store.namespaceByName('auto-zlib')!.packager).toBe('Jane Packager <jane@example.org>');
  });

  it('builds once for the same delivery twice, and for the same push redelivered under a new UUID', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    const push = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) });
    const body = JSON.stringify(rig.gitlab.pushHookBody(push, JANE));
    expect((await rig.deliver('Push Hook', body, { 'Idempotency-Key': 'delivery-1' })).status).toBe(202);
    expect((await rig.deliver('Push Hook', body, { 'Idempotency-Key': 'delivery-1' })).status).toBe(200);
    // GitLab's "Resend request" (or its own retry) is a new delivery: a new UUID and Idempotency-Key.
    expect((await rig.deliver('Push Hook', body, { 'Idempotency-Key': 'delivery-2' })).status).toBe(202);
    expect((await rig.deliver('Push Hook', body)).status).toBe(202);
    expect(rig.gitlab.state.pipelinesOf()).toHaveLength(1);
    expect(iterationOf(rig, 'auto-zlib')).toBe(1);
    expect(rig.server.store.listNamespaces().map((n) => n.name)).toEqual(['auto-zlib']);
  });

  it('builds nothing for a package already built at that commit, and logs why', async () => {
    const { log, lines } = capturingLogger();
    rig = await startRig({ log });
    const { zlib } = await chain(rig);
    const push = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) });
    const body = rig.gitlab.pushHookBody(push, JANE);
    await rig.deliver('Push Hook', body);
    const [pipeline] = rig.gitlab.state.pipelinesOf(zlib);
    await rig.gitlab.state.finishPipeline(pipeline!.id, 'success');
    await rig.server.drain();
    expect(statesOf(rig, 'auto-zlib').zlib).toBe('built');
    expect(nothingBuilt(lines)).toEqual([]);

    // The same push again, days later (a redelivery after an outage).
    await rig.deliver('Push Hook', body);
    expect(rig.gitlab.state.pipelinesOf()).toHaveLength(2);
    expect(iterationOf(rig, 'auto-zlib')).toBe(1);
    const [line] = nothingBuilt(lines);
    expect(line).toMatchObject({ project: 'packages/zlib', branch: 'main', after: push.after });
    expect(line!.why).toBe(`zlib@${push.after.slice(0, 12)} is built in auto-zlib iteration 1`);
  });

  it('advances a build set whose origin moved when the index had already read the commit, and only once', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    const create = await fetch(`${rig.url}/api/v1/namespaces`, {
      method: 'POST', headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'manual', origin_changesets: ['zlib@main'] }),
    });
    expect(create.status).toBe(201);
    const push = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) });
    await rig.server.index.syncAll();
    const body = rig.gitlab.pushHookBody(push, JANE);
    await rig.deliver('Push Hook', body);
    expect(iterationOf(rig, 'manual')).toBe(2);
    expect(statesOf(rig, 'manual')).toEqual({ zlib: 'dispatched', libpng: 'blocked', cairo: 'blocked' });
    // zlib is an origin of "manual": that set is its rebuild, no auto-zlib besides.
    expect(rig.server.store.namespaceByName('auto-zlib')).toBeUndefined();
    await rig.deliver('Push Hook', body);
    expect(iterationOf(rig, 'manual')).toBe(2);
    expect(rig.gitlab.state.pipelinesOf(zlib).map((p) => p.sha)).toEqual([zlib.repository.commitAt(push.before)!.id, push.after]);
  });

  it('rebuilds a dependant of another build set when the index had already read its commit', async () => {
    rig = await startRig();
    const { zlib, libpng } = await chain(rig);
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }), JANE));
    const push = rig.gitlab.state.pushFiles(libpng, { '.SRCINFO': srcinfo('libpng', { version: '1.1-1', depends: ['zlib'] }) });
    await rig.server.index.syncAll();
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, JANE));
    expect(iterationOf(rig, 'auto-zlib')).toBe(2);
    expect(statesOf(rig, 'auto-libpng')).toEqual({ libpng: 'dispatched', cairo: 'blocked' });
  });

  it('keeps a dispatch whose pipeline GitLab would not create, makes it once GitLab is back, and builds no second one on a redelivery', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    // Pipeline creation fails on every attempt (the client's retries run out): the inbox event itself
    // completes, with the dispatch recorded for the reconcile loop.
    const fault = rig.gitlab.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 500, times: Infinity });
    const push = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) });
    const body = rig.gitlab.pushHookBody(push, JANE);
    await rig.deliver('Push Hook', body);
    expect(fault.hits).toBeGreaterThan(1);
    expect(rig.gitlab.state.pipelinesOf()).toHaveLength(0);
    expect(rig.server.inbox.depth()).toBe(0);
    expect(statesOf(rig, 'auto-zlib').zlib).toBe('dispatched');
    await rig.deliver('Push Hook', body);
    expect(iterationOf(rig, 'auto-zlib')).toBe(1);

    rig.gitlab.faults.clear();
    await rig.server.pipelines.reconcile();
    expect(rig.gitlab.state.pipelinesOf()).toHaveLength(1);
    await rig.deliver('Push Hook', body);
    expect(rig.gitlab.state.pipelinesOf()).toHaveLength(1);
  });

  it('rebuilds a package whose build at that commit failed, when the push comes again', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    const push = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) });
    const body = rig.gitlab.pushHookBody(push, JANE);
    await rig.deliver('Push Hook', body);
    await rig.gitlab.state.finishPipeline(rig.gitlab.state.pipelinesOf()[0]!.id, 'failed');
    await rig.server.drain();
    expect(statesOf(rig, 'auto-zlib').zlib).toBe('failed');
    await rig.deliver('Push Hook', body);
    expect(iterationOf(rig, 'auto-zlib')).toBe(2);
    expect(statesOf(rig, 'auto-zlib').zlib).toBe('dispatched');
    expect(rig.gitlab.state.pipelinesOf()).toHaveLength(2);
  });
  it('builds a merged merge request again on the default branch: the MR\'s builds are of its source branch, in a set retired at merge', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.5-1' }) }, { branch: 'bump' });
    const mr = rig.gitlab.state.addMergeRequest(zlib, { sourceBranch: 'bump' });
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(zlib, mr, 'open'));
    const mrSet = `mr-${zlib.id}-${mr.iid}`;
    const [mrPipeline] = rig.gitlab.state.pipelinesOf(zlib);
    await rig.gitlab.state.finishPipeline(mrPipeline!.id, 'success');
    await rig.server.drain();
    expect(statesOf(rig, mrSet).zlib).toBe('built');

    // Merging fast-forwards main to the MR's commit: the same recipe commit, built already, but from the MR's branch.
    const before = rig.gitlab.state.project(zlib.id).repository.resolve('main')!;
    const merged = rig.gitlab.state.finishMergeRequest(zlib, mr.iid, 'merged');
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(zlib, merged, 'merge'));
    const after = rig.gitlab.state.project(zlib.id).repository.resolve('main')!;
    // GitLab's hook for a fast-forward lists the merged commits; an empty list makes the server ask the compare API.
    await rig.deliver('Push Hook', { ...rig.gitlab.pushHookBody({ project: zlib, branch: 'main', before, after, commits: [] }, JANE), total_commits_count: 1 });
    expect(rig.server.store.namespaceByName(mrSet)!.status).toBe('retired');
    expect(statesOf(rig, 'auto-zlib').zlib).toBe('dispatched');
    expect(rig.gitlab.state.pipelinesOf(zlib).at(-1)!.ref).toBe('main');
  });
});

describe('a force push', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('leaves the index at the branch\'s new recipe when the branch is rewound to an older commit', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    const base = zlib.repository.branches.get('main')!;
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }) }), JANE));
    expect(rig.server.recipes.get('zlib', 'main')!.recipe.version.text).toBe('2-1');

    // `git reset --hard HEAD~1 && git push --force`: the hook lists no commit at all.
    const rewind = rig.gitlab.state.push(zlib, { force: true, from: base, commits: [] });
    expect(rig.gitlab.pushHookBody(rewind, JANE).commits).toEqual([]);
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rewind, JANE));
    expect(rig.server.recipes.get('zlib', 'main')).toMatchObject({ sha: base, recipe: { version: { text: '1.0-1' } } });
    // The older recipe is what main builds now: rebuilt at that commit, the 2-1 build superseded.
    expect(iterationOf(rig, 'auto-zlib')).toBe(2);
    expect(rig.gitlab.state.pipelinesOf(zlib).at(-1)!.sha).toBe(base);
  });

  it('forgets a recipe the new history does not have, and reads one whose content went back to an older version', async () => {
    rig = await startRig({ build: { auto_rebuild: false } });
    const { zlib, libpng } = await chain(rig);
    const zlibBase = zlib.repository.branches.get('main')!;
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }), 'notes.txt': 'v2\n' }), JANE));
    // New history from the base: other files change, the recipe is as it was before the discarded commit.
    const forced = rig.gitlab.state.push(zlib, { force: true, from: zlibBase, commits: [{ files: { 'README.md': 'zlib\n' } }] });
    expect(rig.gitlab.pushHookBody(forced, JANE).commits.flatMap((c) => [...c.added, ...c.modified, ...c.removed])).toEqual(['README.md']);
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(forced, JANE));
    expect(rig.server.recipes.get('zlib', 'main')).toMatchObject({ sha: forced.after, recipe: { version: { text: '1.0-1' } } });

    // libpng's new history has no recipe at all.
    const libpngBase = libpng.repository.branches.get('main')!;
    rig.gitlab.state.pushFiles(libpng, { 'README.md': 'libpng\n' });
    const gone = rig.gitlab.state.push(libpng, { force: true, from: libpngBase, commits: [{ files: { '.SRCINFO': null, PKGBUILD: null, 'MOVED.md': 'elsewhere\n' } }] });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(gone, JANE));
    expect(rig.server.recipes.get('libpng', 'main')).toBeUndefined();
    expect(rig.server.recipes.get('zlib', 'main')).toBeDefined();
  });
});

describe('a merge request', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('is planned when the push to its source branch was processed first and indexed its recipe already', async () => {
    rig = await startRig();
    const { libpng } = await chain(rig);
    const push = rig.gitlab.state.pushFiles(libpng, { '.SRCINFO': srcinfo('libpng', { version: '2-1', depends: ['zlib'] }) }, { branch: 'update-libpng' });
    // GitLab sends the branch's Push Hook, then the Merge Request Hook when the MR is opened.
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, JANE));
    expect(rig.server.recipes.get('libpng', 'update-libpng')!.recipe.version.text).toBe('2-1');
    const mr = rig.gitlab.state.addMergeRequest(libpng, { sourceBranch: 'update-libpng' });
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(libpng, mr, 'open'));
    expect(statesOf(rig, `mr-${libpng.id}-${mr.iid}`)).toEqual({ libpng: 'dispatched', cairo: 'blocked' });
    expect(rig.gitlab.state.mergeRequestNotes(libpng, mr.iid)).toHaveLength(1);
  });
});

