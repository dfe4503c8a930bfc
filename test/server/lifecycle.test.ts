import { afterEach, describe, expect, it } from 'vitest';
import { fixtureText } from './http-harness.js';
import { chain, JANE, startRig, srcinfo, statesOf, type Rig } from './server-harness.js';


describe('the server end to end', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('changes nothing on a duplicate delivery of a push', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    const push = rig.gitlab.state.pushFiles(zlib!, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) });
    const body = JSON.stringify(rig.gitlab.pushHookBody(push, JANE));
    expect((await rig.deliver('Push Hook', body, { 'X-Gitlab-Event-UUID': 'same', 'Idempotency-Key': 'delivery-1' })).status).toBe(202);
    const snapshot = () => ({
      pipelines: rig.gitlab.state.pipelinesOf().length,
      namespaces: rig.server.store.listNamespaces().length,
      iterations: rig.server.db.prepare('SELECT count(*) AS n FROM iterations').get(),
      builds: rig.server.db.prepare('SELECT id, state, pipeline_id FROM builds ORDER BY id').all(),
      inbox: rig.server.db.prepare("SELECT count(*) AS n FROM inbox WHERE kind = 'Push Hook'").get(),
    });
    const before = snapshot();
    expect(before.pipelines).toBe(1);
    const again = await rig.deliver('Push Hook', body, { 'X-Gitlab-Event-UUID': 'same', 'Idempotency-Key': 'delivery-1' });
    expect(again.status).toBe(200);
    expect(snapshot()).toEqual(before);
  });

  it('marks dependants dependency-failed when a pipeline fails, and a GitLab retry recovers them', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    const push = rig.gitlab.state.pushFiles(zlib!, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, JANE));
    const [pipeline] = rig.gitlab.state.pipelinesOf();
    await rig.gitlab.state.finishPipeline(pipeline!.id, 'failed');
    await rig.server.drain();
    expect(statesOf(rig, 'auto-zlib')).toEqual({ zlib: 'failed', libpng: 'dependency-failed', cairo: 'dependency-failed' });
    const shown = (await (await fetch(`${rig.url}/api/v1/namespaces/auto-zlib`)).json()) as { builds: { pkgbase: string; reason: string }[] };
    expect(shown.builds.find((b) => b.pkgbase === 'cairo')!.reason).toBe(`dependency zlib/x86_64 failed: pipeline ${pipeline!.id} failed`);

    await rig.gitlab.state.retryPipeline(pipeline!.id);
    await rig.server.drain();
    expect(statesOf(rig, 'auto-zlib')).toEqual({ zlib: 'building', libpng: 'blocked', cairo: 'blocked' });
    await rig.gitlab.state.finishPipeline(pipeline!.id, 'success');
    await rig.server.drain();
    expect(statesOf(rig, 'auto-zlib')).toEqual({ zlib: 'built', libpng: 'dispatched', cairo: 'blocked' });
    expect(rig.gitlab.state.pipelinesOf()).toHaveLength(2);
  });

  it('moves a dispatched build to building on a Job Hook of its pipeline, and ignores tag pushes', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib!, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }) }), JANE));
    rig.gitlab.setPipelineHook(undefined);
    const pipeline = rig.gitlab.state.pipelinesOf(zlib!)[0]!;
    const tag = JSON.parse(fixtureText('tag_push.json')) as Record<string, unknown>;
    expect((await rig.deliver('Tag Push Hook', { ...tag, project_id: zlib!.id })).status).toBe(202);
    expect(statesOf(rig, 'auto-zlib').zlib).toBe('dispatched');
    const job = {
      object_kind: 'build', ref: 'main', tag: false, sha: pipeline.sha, build_id: pipeline.jobIds[0], build_name: 'build', build_stage: 'build',
      build_status: 'running', pipeline_id: pipeline.id, project_id: zlib!.id, project_name: zlib!.pathWithNamespace,
    };
    expect((await rig.deliver('Job Hook', job)).status).toBe(202);
    expect(statesOf(rig, 'auto-zlib').zlib).toBe('building');
    // A job of a pipeline quarters did not make moves nothing.
    expect((await rig.deliver('Job Hook', { ...job, pipeline_id: 1, build_id: 2 })).status).toBe(202);
    expect(rig.server.inbox.depth()).toBe(0);
  });

  it('finds a lost Pipeline Hook by polling GitLab (reconcile)', async () => {
    rig = await startRig();
    const { zlib } = await chain(rig);
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib!, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }) }), JANE));
    rig.gitlab.setPipelineHook(undefined);
    await rig.gitlab.state.finishPipeline(rig.gitlab.state.pipelinesOf()[0]!.id, 'success');
    await rig.server.drain();
    expect(statesOf(rig, 'auto-zlib').zlib).toBe('dispatched');
    await rig.server.pipelines.reconcile();
    expect(statesOf(rig, 'auto-zlib')).toMatchObject({ zlib: 'built', libpng: 'dispatched' });
  });

  it('makes a new iteration on a new push to the origin: cancels the superseded pipeline, carries over unchanged builds', async () => {
    rig = await startRig();
    const { zlib, cairo } = await chain(rig);
    // A build set with two origins; libpng is planned because cairo needs it and it needs zlib.
    const create = await fetch(`${rig.url}/api/v1/namespaces`, {
      method: 'POST',
      headers: { Authorization: 'Bearer api-token-for-tests-0123456789', 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'pair', origin_changesets: ['zlib@main', 'cairo@main'] }),
    });
    expect(create.status, await create.clone().text()).toBe(201);
    expect(statesOf(rig, 'pair')).toEqual({ zlib: 'dispatched', libpng: 'blocked', cairo: 'blocked' });
    const zlibPipeline = rig.gitlab.state.pipelinesOf(zlib!)[0]!;
    await rig.gitlab.state.finishPipeline(zlibPipeline.id, 'success');
    await rig.server.drain();
    const libpngPipeline = rig.gitlab.state.pipelinesOf().at(-1)!;
    expect(statesOf(rig, 'pair')).toEqual({ zlib: 'built', libpng: 'dispatched', cairo: 'blocked' });

    // cairo changes: zlib is carried over (built), libpng too (in flight, same inputs), nothing is cancelled.
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(cairo!, { '.SRCINFO': srcinfo('cairo', { version: '1.1-1', depends: ['libpng'] }) }), JANE));
    const ns = rig.server.store.namespaceByName('pair')!;
    expect(rig.server.store.latestIteration(ns.id)!.number).toBe(2);
    expect(statesOf(rig, 'pair')).toEqual({ zlib: 'built', libpng: 'dispatched', cairo: 'blocked' });
    expect(rig.gitlab.state.pipeline(libpngPipeline.id).status).not.toBe('canceled');
    // The libpng pipeline now moves the iteration-2 build.
    await rig.gitlab.state.finishPipeline(libpngPipeline.id, 'success');
    await rig.server.drain();
    expect(statesOf(rig, 'pair')).toEqual({ zlib: 'built', libpng: 'built', cairo: 'dispatched' });
    const cairoPipeline = rig.gitlab.state.pipelinesOf(cairo!).at(-1)!;
    expect(Object.fromEntries(cairoPipeline.variables.map((v) => [v.key, v.value])).QUARTERS_ITERATION).toBe('2');

    // zlib changes: everything is rebuilt; the running cairo pipeline is cancelled.
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib!, { '.SRCINFO': srcinfo('zlib', { version: '1.2-1' }) }), JANE));
    expect(rig.server.store.latestIteration(ns.id)!.number).toBe(3);
    expect(statesOf(rig, 'pair')).toEqual({ zlib: 'dispatched', libpng: 'blocked', cairo: 'blocked' });
    expect(rig.gitlab.state.pipeline(cairoPipeline.id).status).toBe('canceled');
  });

  it('reads a push of more than 20 commits through the compare API, and forgets a deleted branch', async () => {
    rig = await startRig({ build: { auto_rebuild: false } });
    const { zlib } = await chain(rig);
    const commits = Array.from({ length: 25 }, (_, i) => ({ files: { [`notes/${i}.txt`]: `${i}` } as Record<string, string | null>, message: `commit ${i}` }));
    commits[0]!.files['.SRCINFO'] = srcinfo('zlib', { version: '9-1' });
    const push = rig.gitlab.state.push(zlib!, { branch: 'main', commits });
    const body = rig.gitlab.pushHookBody(push, JANE);
    expect(body.commits).toHaveLength(20);
    await rig.deliver('Push Hook', body);
    expect(rig.gitlab.requests.some((r) => r.url.includes('/repository/compare'))).toBe(true);
    expect(rig.server.recipes.get('zlib', 'main')!.recipe.version.text).toBe('9-1');

    const branch = rig.gitlab.state.pushFiles(zlib!, { '.SRCINFO': srcinfo('zlib', { version: '10-1' }) }, { branch: 'next' });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(branch, JANE));
    expect(rig.server.recipes.get('zlib', 'next')!.recipe.version.text).toBe('10-1');
    const deleted = { ...rig.gitlab.pushHookBody(branch, JANE), before: branch.after, after: '0'.repeat(40), checkout_sha: null, commits: [], total_commits_count: 0 };
    await rig.deliver('Push Hook', deleted);
    expect(rig.server.recipes.get('zlib', 'next')).toBeUndefined();
    expect(rig.server.recipes.get('zlib', 'main')).toBeDefined();
    expect(rig.server.store.listNamespaces()).toEqual([]);

    // A project outside the packages group is not read, whatever its hook says.
    const stray = rig.gitlab.state.addProject({ path: 'elsewhere/zlib', files: { '.SRCINFO': srcinfo('zlib') } });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(stray, { '.SRCINFO': srcinfo('zlib', { version: '66-1' }) }), JANE));
    expect(rig.server.recipes.get('zlib', 'main')!.recipe.version.text).toBe('9-1');
  });

  it('posts exactly one note on a merge request across three updates, and retires the set on merge', async () => {
    rig = await startRig();
    const { libpng } = await chain(rig);
    rig.gitlab.state.pushFiles(libpng!, { '.SRCINFO': srcinfo('libpng', { version: '2-1', depends: ['zlib'] }) }, { branch: 'update-libpng' });
    const mr = rig.gitlab.state.addMergeRequest(libpng!, { sourceBranch: 'update-libpng' });
    const hook = (action: string, extra: Record<string, unknown> = {}) => {
      const body = JSON.parse(fixtureText('merge_request.json')) as { project: Record<string, unknown>; object_attributes: Record<string, unknown> };
      body.project.id = libpng!.id;
      body.project.path_with_namespace = libpng!.pathWithNamespace;
      const head = rig.gitlab.state.project(libpng!.id).repository.resolve('update-libpng')!;
      Object.assign(body.object_attributes, {
        iid: mr.iid, source_branch: 'update-libpng', target_branch: 'main', source_project_id: libpng!.id, target_project_id: libpng!.id,
        action, state: action === 'merge' ? 'merged' : 'opened', last_commit: { ...(body.object_attributes.last_commit as object), id: head }, ...extra,
      });
      return body;
    };
    await rig.deliver('Merge Request Hook', hook('open'));
    const name = `mr-${libpng!.id}-${mr.iid}`;
    expect(statesOf(rig, name)).toEqual({ libpng: 'dispatched', cairo: 'blocked' });
    let notes = rig.gitlab.state.mergeRequestNotes(libpng!, mr.iid);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body).toContain('| x86_64 | 2 |');

    for (const version of ['3-1', '4-1']) {
      const before = rig.gitlab.state.project(libpng!.id).repository.resolve('update-libpng')!;
      rig.gitlab.state.pushFiles(libpng!, { '.SRCINFO': srcinfo('libpng', { version, depends: ['zlib'] }) }, { branch: 'update-libpng' });
      await rig.deliver('Merge Request Hook', hook('update', { oldrev: before }));
    }
    notes = rig.gitlab.state.mergeRequestNotes(libpng!, mr.iid);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body).toContain('iteration 3');
    expect(rig.server.store.namespaceByName(name)!.mr_note_id).toBe(notes[0]!.id);
    // A title edit is no code change: no new iteration.
    await rig.deliver('Merge Request Hook', hook('update'));
    expect(rig.server.store.latestIteration(rig.server.store.namespaceByName(name)!.id)!.number).toBe(3);

    const running = rig.gitlab.state.pipelinesOf(libpng!).at(-1)!;
    await rig.deliver('Merge Request Hook', hook('merge'));
    expect(rig.server.store.namespaceByName(name)!.status).toBe('retired');
    expect(statesOf(rig, name)).toEqual({ libpng: 'cancelled', cairo: 'cancelled' });
    expect(rig.gitlab.state.pipeline(running.id).status).toBe('canceled');
  });
});
