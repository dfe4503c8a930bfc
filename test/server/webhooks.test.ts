import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { createApp } from '../../src/server/http/app.js';
import { openDatabase, type Db } from '../../src/server/store/database.js';
import { Inbox } from '../../src/server/webhooks/inbox.js';
import { Metrics } from '../../src/server/http/metrics.js';
import { MAX_WEBHOOK_BYTES, webhookRoutes } from '../../src/server/webhooks/route.js';
import { fixtureText, listen, quietLogger, tempDir } from './http-harness.js';

const SECRET = 'webhook-secret-0123456789';

describe('POST /webhooks/gitlab', () => {
  let db: Db;
  let inbox: Inbox;
  let metrics: Metrics;
  let wakes = 0;
  let server: { url: string; close: () => Promise<void> };

  beforeAll(async () => {
    const dataDir = tempDir();
    db = openDatabase(dataDir);
    inbox = new Inbox(db);
    metrics = new Metrics();
    const log = quietLogger();
    const routes = webhookRoutes({ secret: SECRET, inbox, metrics, log, accepted: () => wakes++ });
    server = await listen(createApp({ db, log, metrics, dataDir, routes: [routes] }));
  });
  afterAll(async () => {
    await server.close();
    db.close();
  });

  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${server.url}/webhooks/gitlab`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Gitlab-Token': SECRET, ...headers } });

  it.each([
    ['push.json', 'Push Hook'],
    ['tag_push.json', 'Tag Push Hook'],
    ['merge_request.json', 'Merge Request Hook'],
    ['pipeline.json', 'Pipeline Hook'],
  ])('accepts the fixture %s as a %s, committed to the inbox before answering', async (file, kind) => {
    const before = inbox.depth();
    const wakesBefore = wakes;
    const body = fixtureText(file);
    const res = await post(body, { 'X-Gitlab-Event': kind, 'X-Gitlab-Event-UUID': `uuid-${file}` });
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { status: string; event_id: number };
    expect(answer.status).toBe('accepted');
    const row = db.prepare('SELECT kind, body FROM inbox WHERE id = ?').get(answer.event_id) as { kind: string; body: string };
    expect(row).toEqual({ kind, body });
    expect(inbox.depth()).toBe(before + 1);
    expect(wakes).toBe(wakesBefore + 1);
  });

  it('accepts a Job Hook as GitLab documents it', async () => {
    const job = {
      object_kind: 'build', ref: 'main', tag: false, before_sha: '2293ada6b400935a1378653304eaf6221e0fdb8f', sha: '2293ada6b400935a1378653304eaf6221e0fdb8f',
      retries_count: 0, build_id: 1977, build_name: 'test', build_stage: 'test', build_status: 'created', build_created_at: '2021-02-23T02:41:37.886Z',
      build_started_at: null, build_finished_at: null, build_duration: null, build_queued_duration: 1095.588715, build_allow_failure: false,
      build_failure_reason: 'script_failure', pipeline_id: 2366, runner: null, project_id: 380, project_name: 'gitlab-org/gitlab-test',
      user: { id: 3, name: 'User', email: 'user@gitlab.com', avatar_url: null },
      commit: { id: 2366, name: 'Build pipeline', sha: '2293ada6b400935a1378653304eaf6221e0fdb8f', message: 'test\n', author_name: 'User', author_email: 'user@gitlab.com', status: 'created', duration: null, started_at: null, finished_at: null },
      repository: { name: 'gitlab_test', description: '', homepage: 'http://192.168.64.1:3005/gitlab-org/gitlab-test', git_ssh_url: 'git@192.168.64.1:gitlab-org/gitlab-test.git', git_http_url: 'http://192.168.64.1:3005/gitlab-org/gitlab-test.git', visibility_level: 20 },
      environment: null,
    };
    const res = await post(JSON.stringify(job), { 'X-Gitlab-Event': 'Job Hook', 'X-Gitlab-Event-UUID': 'job-1' });
    expect(res.status).toBe(202);
  });

  it('stores a redelivered event once: same Idempotency-Key, or same event UUID and body', async () => {
    const body = fixtureText('push.json');
    const first = await post(body, { 'X-Gitlab-Event': 'Push Hook', 'Idempotency-Key': 'key-1' });
    const depth = inbox.depth();
    const again = await post(body, { 'X-Gitlab-Event': 'Push Hook', 'Idempotency-Key': 'key-1' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { status: string }).status).toBe('duplicate');
    expect(inbox.depth()).toBe(depth);

    await post(body, { 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': 'same-uuid' });
    const d2 = inbox.depth();
    expect((await post(body, { 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': 'same-uuid' })).status).toBe(200);
    expect(inbox.depth()).toBe(d2);
    // Same UUID, different body: a different event.
    const changed = body.replace('"total_commits_count": 4', '"total_commits_count": 5');
    expect((await post(changed, { 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': 'same-uuid' })).status).toBe(202);
    expect(metrics.webhooks.get({ kind: 'Push Hook', result: 'duplicate' })).toBe(2);
  });

  it('answers 503, not 202, when the inbox cannot commit the event, and takes the redelivery once it can', async () => {
    const body = fixtureText('push.json');
    const depth = inbox.depth();
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON inbox BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const answers = await Promise.all([1, 2, 3].map((n) => post(body, { 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': `unstored-${n}` })));
    expect(answers.map((a) => a.status)).toEqual([503, 503, 503]);
    expect(await answers[0]!.json()).toMatchObject({ error: 'inbox_unavailable' });
    expect(inbox.depth()).toBe(depth);
    expect(metrics.webhooks.get({ kind: 'Push Hook', result: 'not_stored' })).toBe(3);
    db.exec('DROP TRIGGER refuse');
    expect((await post(body, { 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': 'unstored-1' })).status).toBe(202);
    expect(inbox.depth()).toBe(depth + 1);
  });

  it('refuses a wrong or missing token with 401 and stores nothing', async () => {
    const depth = inbox.depth();
    const wrong = await post(fixtureText('push.json'), { 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Token': 'webhook-secret-0123456780' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'unauthorized' });
    const missing = await fetch(`${server.url}/webhooks/gitlab`, { method: 'POST', body: '{}', headers: { 'X-Gitlab-Event': 'Push Hook' } });
    expect(missing.status).toBe(401);
    expect(inbox.depth()).toBe(depth);
  });

  it('does not grow /metrics with made-up X-Gitlab-Event values from unauthenticated (or authenticated) senders', async () => {
    const series = () => metrics.render().split('\n').filter((l) => l.startsWith('quarters_webhooks_total{')).length;
    await post('{}', { 'X-Gitlab-Event': 'made-up-0', 'X-Gitlab-Token': 'wrong' });
    await post('{}', { 'X-Gitlab-Event': 'made-up-1' });
    const before = series();
    for (let i = 2; i < 30; i++) await post('{}', { 'X-Gitlab-Event': `made-up-${i}`, ...(i % 2 ? { 'X-Gitlab-Token': 'wrong' } : {}) });
    expect(series()).toBe(before);
    expect(metrics.render()).toContain('kind="other",result="unauthorized"');
    expect(metrics.render()).not.toContain('made-up');
  });

  it('answers 400 with the reason for malformed JSON and for a body that is not the named event', async () => {
    const bad = await post('{"object_kind": "push",', { 'X-Gitlab-Event': 'Push Hook' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_json' });
    const wrongKind = await post(fixtureText('pipeline.json'), { 'X-Gitlab-Event': 'Push Hook' });
    expect(wrongKind.status).toBe(400);
    const answer = (await wrongKind.json()) as { error: string; detail: string };
    expect(answer.error).toBe('invalid_payload');
    expect(answer.detail).toMatch(/Push Hook: object_kind/);
    const push = JSON.parse(fixtureText('push.json')) as Record<string, unknown>;
    push.after = 'not-a-sha';
    const badSha = await post(JSON.stringify(push), { 'X-Gitlab-Event': 'Push Hook' });
    expect(((await badSha.json()) as { detail: string }).detail).toMatch(/after: expected a 40-hex commit id/);
  });

  it('answers 2xx to event kinds it does not use, and stores nothing', async () => {
    const depth = inbox.depth();
    const res = await post('{"object_kind":"note"}', { 'X-Gitlab-Event': 'Note Hook' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ignored' });
    expect(inbox.depth()).toBe(depth);
  });

  it('answers 413 to a declared oversize body without reading it', async () => {
    const res = await post('x'.repeat(MAX_WEBHOOK_BYTES + 1), { 'X-Gitlab-Event': 'Push Hook' });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'payload_too_large' });
  });

  it('stops a chunked body at the limit while it streams', async () => {
    const { url } = server;
    const status = await new Promise<number>((done, fail) => {
      const req = request(`${url}/webhooks/gitlab`, { method: 'POST', headers: { 'X-Gitlab-Token': SECRET, 'X-Gitlab-Event': 'Push Hook', 'Transfer-Encoding': 'chunked' } }, (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on('error', (error) => (String(error).includes('EPIPE') || String(error).includes('ECONNRESET') ? undefined : fail(error)));
      const chunk = Buffer.alloc(1 << 20, 0x20);
      let sent = 0;
      // 40 MiB in 1 MiB chunks, with no Content-Length: only counting while streaming can stop it.
      const pump = () => {
        while (sent < 40 && req.write(chunk)) sent++;
        if (sent < 40) req.once('drain', pump);
        else req.end();
      };
      pump();
    });
    expect(status).toBe(413);
  });
});
