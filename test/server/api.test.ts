import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN, startRig, srcinfo, type Rig } from './server-harness.js';

describe('/api/v1', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
    rig.addPackage('zlib', srcinfo('zlib'));
    rig.addPackage('libpng', srcinfo('libpng', { depends: ['zlib'] }));
    rig.addPackage('firmware', srcinfo('firmware', { arch: 'aarch64' }));
    rig.addPackage('orphan', srcinfo('orphan', { depends: ['nothing-provides-this'] }));
    await rig.server.index.syncAll();
  });
  afterAll(async () => rig?.close());

  const call = (method: string, path: string, body?: unknown, token: string | null = API_TOKEN) =>
    fetch(`${rig.url}/api/v1${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  it('needs an API token for writes, and says so as {error, detail}', async () => {
    for (const token of [null, 'wrong-token-0123456789']) {
      const res = await call('POST', '/namespaces', { origin_changesets: ['zlib@main'] }, token);
      expect(res.status).toBe(401);
      expect(Object.keys((await res.json()) as object).sort()).toEqual(['detail', 'error']);
    }
    expect(rig.server.store.listNamespaces()).toEqual([]);
  });

  it.each([
    ['not json', '{', 400, 'invalid_json'],
    ['no origins', { origin_changesets: [] }, 400, 'invalid_request'],
    ['an unknown key', { origin_changesets: ['zlib@main'], colour: 'red' }, 400, 'invalid_request'],
    ['an origin without ref', { origin_changesets: ['zlib'] }, 400, 'invalid_origin'],
    ['a bad name', { name: '../x', origin_changesets: ['zlib@main'] }, 400, 'invalid_name'],
    ['a bad packager', { origin_changesets: ['zlib@main'], packager: 'jane' }, 400, 'invalid_request'],
    ['an unknown package', { origin_changesets: ['nope@main'] }, 422, 'unknown_package'],
    ['an unknown ref', { origin_changesets: ['zlib@no-such-branch'] }, 422, 'unknown_ref'],
  ])('answers %s with a clear error', async (_what, body, status, error) => {
    const res = await call('POST', '/namespaces', body);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error, detail: expect.any(String) });
  });

  it('creates, lists, shows, cancels, resumes a build set; the graph and iterations', async () => {
    const created = await call('POST', '/namespaces', { name: 'png', origin_changesets: ['zlib@main'], packager: 'Jane Packager <jane@example.org>' });
    expect(created.status).toBe(201);
    const ns = (await created.json()) as { name: string; builds: { id: number; pkgbase: string; arch: string; state: string; pipeline_id: number | null; packager: string }[] };
    expect(ns.builds.map((b) => [b.pkgbase, b.arch, b.state, b.packager])).toEqual([
      ['zlib', 'x86_64', 'dispatched', 'Jane Packager <jane@example.org>'],
      ['libpng', 'x86_64', 'blocked', 'Jane Packager <jane@example.org>'],
    ]);
    expect(ns.builds[0]!.pipeline_id).toBe(rig.gitlab.state.pipelinesOf().at(-1)!.id);
    expect((await call('POST', '/namespaces', { name: 'png', origin_changesets: ['zlib@main'] })).status).toBe(409);

    const list = (await (await call('GET', '/namespaces', undefined, null)).json()) as { namespaces: { name: string }[] };
    expect(list.namespaces.map((n) => n.name)).toContain('png');
    const graph = (await (await call('GET', '/namespaces/png/graph', undefined, null)).json()) as { nodes: { id: number }[]; edges: { from: number; to: number }[] };
    expect(graph.edges).toEqual([{ from: ns.builds[1]!.id, to: ns.builds[0]!.id }]);
    const iterations = (await (await call('GET', '/namespaces/png/iterations', undefined, null)).json()) as { iterations: { number: number; states: Record<string, number> }[] };
    expect(iterations.iterations).toEqual([expect.objectContaining({ number: 1, states: { dispatched: 1, blocked: 1 } })]);
    expect((await call('GET', '/namespaces/png/iterations/2', undefined, null)).status).toBe(404);
    expect((await call('GET', '/namespaces/png/iterations/x', undefined, null)).status).toBe(400);
    expect((await call('GET', '/namespaces/none', undefined, null)).status).toBe(404);
    expect((await call('GET', '/builds/999999', undefined, null)).status).toBe(404);

    expect((await call('POST', '/namespaces/png/cancel', undefined, null)).status).toBe(401);
    const cancelled = (await (await call('POST', '/namespaces/png/cancel')).json()) as { status: string; builds: { state: string }[] };
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.builds.map((b) => b.state)).toEqual(['cancelled', 'cancelled']);
    expect(rig.gitlab.state.pipeline(ns.builds[0]!.pipeline_id!).status).toBe('canceled');
    // Resuming retries the cancelled pipeline in GitLab (same pipeline, new jobs); libpng had none and waits again.
    const resumed = (await (await call('POST', '/namespaces/png/resume')).json()) as { status: string; builds: { state: string; pipeline_id: number }[] };
    expect(resumed.status).toBe('active');
    expect(resumed.builds.map((b) => b.state)).toEqual(['building', 'blocked']);
    expect(resumed.builds[0]!.pipeline_id).toBe(ns.builds[0]!.pipeline_id);
    // Its jobs: the pipeline's own status counts quarters' commit status too, a job of the origin's pipeline.
    expect(rig.gitlab.state.jobsOf(ns.builds[0]!.pipeline_id!).map((j) => j.status)).toEqual(['pending']);
  });

  it('cancels, resumes and retries only the pkgbases a body names; the log route points at GitLab', async () => {
    const created = (await (await call('POST', '/namespaces', { name: 'partial', origin_changesets: ['zlib@main'] })).json()) as { builds: { id: number; pkgbase: string; pipeline_id: number | null }[] };
    const zlib = created.builds.find((b) => b.pkgbase === 'zlib')!;
    for (const [body, status, error] of [
      ['{', 400, 'invalid_json'],
      [{ pkgbases: [] }, 400, 'invalid_request'],
      [{ pkgbases: ['zlib'], colour: 'red' }, 400, 'invalid_request'],
      [{ pkgbases: ['nosuch'] }, 422, 'unknown_pkgbase'],
    ] as const) {
      const res = await call('POST', '/namespaces/partial/cancel', body);
      expect({ body, status: res.status, error: ((await res.json()) as { error: string }).error }).toEqual({ body, status, error });
    }
    const states = async () => Object.fromEntries(((await (await call('GET', '/namespaces/partial', undefined, null)).json()) as { builds: { pkgbase: string; state: string }[] }).builds.map((b) => [b.pkgbase, b.state]));
    const cancelled = (await (await call('POST', '/namespaces/partial/cancel', { pkgbases: ['zlib'] })).json()) as { status: string };
    expect(cancelled.status).toBe('active');
    expect(await states()).toEqual({ zlib: 'cancelled', libpng: 'dependency-failed' });
    // Its job: the pipeline's own status counts quarters' commit status too, a job of the origin's pipeline.
    expect(rig.gitlab.state.jobsOf(zlib.pipeline_id!).map((j) => j.status)).toEqual(['canceled']);
    await call('POST', '/namespaces/partial/resume', { pkgbases: ['zlib'] });
    expect(await states()).toEqual({ zlib: 'building', libpng: 'blocked' });

    // Before any job uploaded, the log is in the pipeline; 303 with the URL, and JSON saying so.
    const log = await fetch(`${rig.url}/api/v1/builds/${zlib.id}/log`, { redirect: 'manual' });
    expect(log.status).toBe(303);
    const pipelineUrl = rig.server.store.build(zlib.id)!.pipeline_url!;
    expect(pipelineUrl).toMatch(/\/packages\/zlib\/-\/pipelines\/\d+$/);
    expect(log.headers.get('Location')).toBe(pipelineUrl);
    expect(await log.json()).toEqual({ url: pipelineUrl, job_id: null, pipeline_url: pipelineUrl });
    // Once a job uploaded, its job.
    rig.server.store.putArtifact(zlib.id, { filename: 'zlib-1.0-1-x86_64.pkg.tar.zst', sha256: '0'.repeat(64), size: 1, jobId: 4242 });
    const job = await fetch(`${rig.url}/api/v1/builds/${zlib.id}/log`, { redirect: 'manual' });
    expect(job.headers.get('Location')).toBe(pipelineUrl.replace(/\/-\/pipelines\/\d+$/, '/-/jobs/4242'));
    expect((await call('GET', '/builds/x/log', undefined, null)).status).toBe(400);
  });

  it('reports dependencies nothing satisfies with the iteration', async () => {
    const res = await call('POST', '/namespaces', { name: 'orphan', origin_changesets: ['orphan@main'] });
    expect(res.status).toBe(201);
    const ns = (await res.json()) as { iteration: { unresolved: { arch: string; pkgbase: string; clause: string }[] } };
    expect(ns.iteration.unresolved).toEqual([expect.objectContaining({ arch: 'x86_64', pkgbase: 'orphan', clause: 'nothing-provides-this' })]);
  });

  it('plans each architecture with the origins built there', async () => {
    const res = await call('POST', '/namespaces', { name: 'fw', origin_changesets: ['firmware@main', 'zlib@main'] });
    expect(res.status).toBe(201);
    const ns = (await res.json()) as { builds: { pkgbase: string; arch: string }[] };
    expect(ns.builds.map((b) => `${b.pkgbase}/${b.arch}`)).toEqual(['zlib/x86_64', 'libpng/x86_64']);
  });

  it('keeps no half-made build set when planning fails, and answers 502 when GitLab is unreachable', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await call('POST', '/namespaces', { name: 'fw-only', origin_changesets: ['firmware@main'] });
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ error: 'not_buildable', detail: 'firmware: built on none of the configured architectures (x86_64)' });
    }
    expect(rig.server.store.namespaceByName('fw-only')).toBeUndefined();
    rig.gitlab.faults.inject({ route: 'GET /projects/:id/repository/commits/:sha', respond: 503, times: Infinity });
    const down = await call('POST', '/namespaces', { origin_changesets: ['zlib@some-branch'] });
    rig.gitlab.faults.clear();
    expect(down.status).toBe(502);
    expect(await down.json()).toMatchObject({ error: 'gitlab_error', detail: expect.stringMatching(/GitLab did not answer GET/) });
  });

  it('fails a build with GitLab\'s message when GitLab refuses the pipeline, and retries 429s', async () => {
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 429, times: 1 });
    const ok = (await (await call('POST', '/namespaces', { name: 'throttled', origin_changesets: ['libpng@main'] })).json()) as { builds: { state: string; pipeline_id: number | null }[] };
    expect(ok.builds[0]).toMatchObject({ state: 'dispatched', pipeline_id: expect.any(Number) });
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 400, times: 1 });
    const refused = (await (await call('POST', '/namespaces', { name: 'refused', origin_changesets: ['libpng@main'] })).json()) as { builds: { state: string; reason: string }[] };
    expect(refused.builds[0]!.state).toBe('failed');
    expect(refused.builds[0]!.reason).toMatch(/^GitLab refused the pipeline: /);
  });

  it('serves the OpenAPI document, /healthz and /metrics', async () => {
    const doc = (await (await call('GET', '/openapi.json', undefined, null)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/namespaces', '/namespaces/{name}', '/namespaces/{name}/retry', '/builds/{id}/log', '/builds/{id}/artifacts/{filename}']));
    expect(await (await fetch(`${rig.url}/healthz`)).json()).toMatchObject({ status: 'ok' });
    // A build set of its own, whose pipeline GitLab first answers with a 429: what the metrics must show, whatever ran before.
    const sample = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    const created = /^quarters_gitlab_api_calls_total\{method="POST",route="[^"]*pipeline[^"]*",status="201"\} (\d+)$/m;
    const throttled = /^quarters_gitlab_api_calls_total\{method="POST",route="[^"]*pipeline[^"]*",status="429"\} (\d+)$/m;
    const before = await (await fetch(`${rig.url}/metrics`)).text();
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 429, times: 1 });
    const ns = (await (await call('POST', '/namespaces', { name: 'metrics', origin_changesets: ['libpng@main'] })).json()) as { builds: { state: string }[] };
    expect(ns.builds.map((b) => b.state)).toEqual(['dispatched']);
    // GitLab's hooks about the new pipeline arrive after the answer: once they are in, the worker takes them all.
    await rig.gitlab.state.settled();
    let metrics = '';
    for (let i = 0; i < 100 && !/^quarters_inbox_depth 0$/m.test(metrics); i++) {
      if (i) await new Promise((resolve) => setTimeout(resolve, 50));
      metrics = await (await fetch(`${rig.url}/metrics`)).text();
    }
    expect(metrics).toMatch(/^quarters_inbox_depth 0$/m);
    expect(sample(metrics, /^quarters_builds\{state="dispatched"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, created) - sample(before, created)).toBe(1);
    expect(sample(metrics, throttled) - sample(before, throttled)).toBe(1);
    expect(metrics).toMatch(/^quarters_gitlab_api_call_seconds_count\{/m);
    expect((await fetch(`${rig.url}/nowhere`)).status).toBe(404);
  });

  it('shows build sets in the web UI, escaped', async () => {
    const index = await (await fetch(`${rig.url}/`)).text();
    expect(index).toContain('<a href="/ui/namespaces/png">png</a>');
    const page = await fetch(`${rig.url}/ui/namespaces/png`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/<section class="arch" aria-labelledby="arch-x86_64">[^]*<a href="\/ui\/builds\/\d+">zlib<\/a>/);
    expect((await fetch(`${rig.url}/ui/namespaces/%3Cscript%3E`)).status).toBe(404);
    const created = await call('POST', '/namespaces', { name: 'amp', origin_changesets: ['zlib@main'], packager: 'Jane & "Co" <j@example.org>' });
    expect(created.status).toBe(201);
    const escaped = await (await fetch(`${rig.url}/ui/namespaces/amp`)).text();
    expect(escaped).toContain('<dt>Packager</dt><dd>Jane &amp; &quot;Co&quot; &lt;j@example.org&gt;</dd>');
  });
});
