import { afterEach, describe, expect, it } from 'vitest';
import { fixtureText } from './http-harness.js';
import { API_TOKEN, startRig, srcinfo, type Rig } from './server-harness.js';
import { packagerOf } from '../../src/server/webhooks/push.js';
import { packagerOfMergeRequest } from '../../src/server/webhooks/merge-requests.js';
import { pushHookSchema, mergeRequestHookSchema } from '../../src/server/webhooks/payloads.js';

const JANE = { id: 7, username: 'jane', name: 'Jane Packager', email: 'jane@example.org' };

describe('durability', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('keeps an accepted event whose processing failed, and processes it after a restart', async () => {
    rig = await startRig();
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    await rig.server.index.syncAll();
    rig.gitlab.faults.inject({ route: 'GET /projects/:id', respond: 503, times: Infinity });
    const push = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }) });
    const res = await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, JANE));
    expect(res.status).toBe(202);
    const row = rig.server.db.prepare("SELECT attempts, error, processed_at FROM inbox WHERE kind = 'Push Hook'").get() as { attempts: number; error: string; processed_at: string | null };
    expect(row.processed_at).toBeNull();
    expect(row.attempts).toBeGreaterThanOrEqual(1);
    expect(row.error).toMatch(/GitLab did not answer GET/);
    expect(rig.server.store.listNamespaces()).toEqual([]);

    rig.gitlab.faults.clear();
    await rig.restart();
    await rig.server.drain();
    expect(rig.server.store.namespaceByName('auto-zlib')).toBeDefined();
    expect(rig.gitlab.state.pipelinesOf(zlib)).toHaveLength(1);
    expect(rig.server.inbox.depth()).toBe(0);
  });

  it('does not undo a newer push when an older one is processed after it', async () => {
    rig = await startRig({ build: { auto_rebuild: false } });
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    await rig.server.index.syncAll();
    const older = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }) });
    const newer = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '3-1' }) });
    // The newer push is processed first (the older one's delivery or processing came late).
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(newer, JANE));
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(older, JANE));
    expect(rig.server.inbox.depth()).toBe(0);
    expect(rig.server.recipes.get('zlib', 'main')).toMatchObject({ sha: newer.after, recipe: { version: { text: '3-1' } } });
  });

  it('never makes a second pipeline when GitLab created one but the answer was lost', async () => {
    rig = await startRig();
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    await rig.server.index.syncAll();
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 502, phase: 'after', times: 1 });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }) }), JANE));
    await rig.server.pipelines.reconcile();
    const pipelines = rig.gitlab.state.pipelinesOf(zlib);
    expect(pipelines).toHaveLength(1);
    const build = rig.server.store.builds(rig.server.store.latestIteration(rig.server.store.namespaceByName('auto-zlib')!.id)!.id)[0]!;
    expect(build).toMatchObject({ state: 'dispatched', pipeline_id: pipelines[0]!.id });
  });

  it('finds the pipeline of a dispatch recorded before a crash, after the restart', async () => {
    rig = await startRig();
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    await rig.server.index.syncAll();
    // GitLab is down when the dispatch is attempted: the dispatch is recorded, no pipeline exists.
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 503, times: Infinity });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }) }), JANE));
    const nsId = rig.server.store.namespaceByName('auto-zlib')!.id;
    const before = rig.server.store.builds(rig.server.store.latestIteration(nsId)!.id)[0]!;
    expect(before).toMatchObject({ state: 'dispatched', pipeline_id: null, dispatch_started_at: expect.any(String) });
    rig.gitlab.faults.clear();
    await rig.restart();
    await rig.server.pipelines.reconcile();
    await rig.server.pipelines.reconcile();
    expect(rig.gitlab.state.pipelinesOf(zlib)).toHaveLength(1);
    expect(rig.server.store.build(before.id)!.pipeline_id).toBe(rig.gitlab.state.pipelinesOf(zlib)[0]!.id);
  });
});

describe('cancellation', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('is recorded before GitLab is asked, and carried out by the reconcile loop when GitLab was down', async () => {
    rig = await startRig();
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    await rig.server.index.syncAll();
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }) }), JANE));
    const pipeline = rig.gitlab.state.pipelinesOf(zlib)[0]!;
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/pipelines/:pipeline_id/cancel', respond: 503, times: Infinity });
    const res = await fetch(`${rig.url}/api/v1/namespaces/auto-zlib/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${API_TOKEN}` } });
    expect(res.status).toBe(200);
    // Its job (the pipeline's own status counts quarters' commit status too).
    expect(rig.gitlab.state.jobsOf(pipeline.id).map((j) => j.status)).toEqual(['pending']);
    expect(rig.server.store.pendingCancellations()).toEqual([{ project_id: zlib.id, pipeline_id: pipeline.id }]);
    rig.gitlab.faults.clear();
    await rig.restart();
    await rig.server.pipelines.reconcile();
    expect(rig.gitlab.state.pipeline(pipeline.id).status).toBe('canceled');
    expect(rig.server.store.pendingCancellations()).toEqual([]);
  });
});

describe('the packager', () => {
  it('is the pusher, or the newest commit\'s author when GitLab hides the pusher\'s email', () => {
    const push = pushHookSchema.parse(JSON.parse(fixtureText('push.json')));
    expect(packagerOf(push)).toBe('John Smith <john@example.com>');
    expect(packagerOf({ ...push, user_email: '[REDACTED]' })).toBe('GitLab dev user <gitlabdev@dv6700.(none)>');
    expect(packagerOf({ ...push, user_email: '', commits: [] })).toBeNull();
    const mr = mergeRequestHookSchema.parse(JSON.parse(fixtureText('merge_request.json')));
    expect(packagerOfMergeRequest(mr)).toBe('Administrator <admin@example.com>');
    expect(packagerOfMergeRequest({ ...mr, user: { ...mr.user, email: null } })).toBe('GitLab dev user <gitlabdev@dv6700.(none)>');
  });
});
