/** The web UI over plain HTTP: every page renders, escapes what it shows, refuses bad input; the docs; the event stream. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { docsRoutes } from '../../src/server/web/docs-route.js';
import { listen, tempDir } from './http-harness.js';
import { runningBuilds, startRig, type Rig } from './server-harness.js';
import { seedBuildSet } from '../support/build-set-seed.js';

const EVIL = '<script>alert("x")</script>';

describe('web UI pages', () => {
  let rig: Rig;
  let ids: number[];

  beforeAll(async () => {
    rig = await startRig();
    ({ ids } = seedBuildSet(rig.server.store, {
      name: 'evil', origins: [`zlib@main`], packager: `Eve ${EVIL} <eve@example.org>`,
      builds: [
        { pkgbase: 'zlib', state: 'built' },
        { pkgbase: EVIL, depends: [0], state: 'failed', reason: '<img src=x onerror=alert(1)>', because: { to: 'zlib', kind: 'build', binary: 'zlib', clause: 'zlib<2' } },
        { pkgbase: 'cairo', depends: [1], state: 'dependency-failed', reason: `dependency ${EVIL}/x86_64 failed` },
      ],
      cycles: [{ arch: 'x86_64', members: ['cairo', EVIL], build_order: [EVIL, 'cairo'], cut_edges: [{ from: EVIL, to: 'cairo' }], rebuild: 'none' }],
    }));
    rig.server.store.setPipeline(ids[1]!, 77, 'javascript:alert(1)');
  });
  afterAll(async () => rig?.close());

  const get = async (path: string) => {
    const res = await fetch(`${rig.url}${path}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', csp: res.headers.get('content-security-policy') ?? '', text: await res.text() };
  };
  const noRawScript = (text: string) => {
    // The only <script> is the app's own, loaded from this server.
    expect(text.match(/<script\b[^>]*>/g)).toEqual(['<script src="/ui/assets/app.js" defer>']);
    expect(text).not.toContain('<img src=x');
    expect(text).not.toContain('href="javascript:');
  };

  it('renders the home page with the build set, its progress, escaped', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    expect(page.csp).toContain("script-src 'self'");
    expect(page.text).toContain('<a href="/ui/namespaces/evil">evil</a>');
    expect(page.text).toContain('Eve &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &lt;eve@example.org&gt;');
    expect(page.text).toMatch(/data-count="evil\/x86_64:built">1</);
    expect(page.text).toMatch(/data-count="evil\/x86_64:failed">2</);
    expect(page.text).toMatch(/data-count="evil\/x86_64:total">3</);
    for (const doc of ['packager', 'administrator', 'reference', 'architecture', 'performance']) expect(page.text).toContain(`href="/docs/${doc}"`);
    noRawScript(page.text);
  });

  it('renders the build set page escaped, with why each build is there, the install snippet, and a state filter', async () => {
    const page = await get('/ui/namespaces/evil');
    expect(page.status).toBe(200);
    noRawScript(page.text);
    expect(page.text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // The pipeline URL is not http(s): its number shows without a link.
    expect(page.text).toMatch(/<td>#77<\/td>/);
    expect(page.text).toContain('<pre id="install-snippet" tabindex="0">[quarters]\nSigLevel = Optional TrustAll\nServer = http://quarters.test/repos/evil/latest/$arch</pre>');
    expect(page.text).toContain('<span class="why-step">zlib</span> <span class="sub">(build: zlib&lt;2)</span>');
    expect(page.text).toContain('cut edges <span class="edge">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; → cairo</span> (satisfied from the distribution)');
    const failed = await get('/ui/namespaces/evil?state=failed');
    expect(failed.text).toContain('1 build failed');
    expect(failed.text).not.toMatch(/data-build="\d+" data-state="built"/);
    const bad = await get('/ui/namespaces/evil?state=%3Cb%3E');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('not &quot;&lt;b&gt;&quot;');
    expect((await get('/ui/namespaces/%3Cscript%3E')).status).toBe(404);
  });

  it('renders a build page, the graph page with a neighbourhood, graph.json, the builders and the search', async () => {
    const build = await get(`/ui/builds/${ids[1]}`);
    expect(build.status).toBe(200);
    noRawScript(build.text);
    expect(build.text).toContain('Why in the set');
    expect((await get('/ui/builds/999999')).status).toBe(404);
    expect((await get('/ui/builds/x')).status).toBe(400);

    const graph = await get(`/ui/namespaces/evil/graph?focus=${encodeURIComponent(EVIL)}&up=1&down=1`);
    expect(graph.status).toBe(200);
    noRawScript(graph.text);
    expect(graph.text).toContain('data-focus="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"');
    expect(graph.text).toMatch(/2 builds within 1 up and 1 down/);
    const json = (await (await fetch(`${rig.url}/ui/namespaces/evil/graph.json`)).json()) as { names: string[]; wave: number[]; critical: number[] };
    expect(json.names).toEqual(['zlib', EVIL, 'cairo']);
    expect(json.wave).toEqual([0, 1, 2]);
    expect(json.critical).toEqual([0, 1, 2]);
    expect((await get('/ui/namespaces/evil/graph?up=99&focus=zlib')).status).toBe(400);

    const builders = await get('/ui/builders');
    expect(builders.status).toBe(200);
    const search = await get(`/ui/search?q=${encodeURIComponent('<script>')}`);
    expect(search.status).toBe(200);
    noRawScript(search.text);
    expect(search.text).toContain('Packages (1)');
  });

  it('shows the end of a GitLab build\'s job log, escaped, and the job link', async () => {
    // The seeded set has zlib as its origin: retired, the push below makes auto-zlib instead of iterating it.
    rig.server.store.setNamespaceStatus(rig.server.store.namespaceByName('evil')!.id, 'retired');
    const { buildId, pipelineId } = await runningBuilds(rig);
    const job = rig.gitlab.state.jobsOf(pipelineId)[0]!;
    rig.gitlab.state.appendJobLog(job.id, `\x1b[32;1mRunning with gitlab-runner\x1b[0;m\nsection_start:1700000000:build_script\r==> Making package: zlib ${EVIL}\n`);
    await rig.gitlab.state.finishPipeline(pipelineId, 'failed');
    await rig.server.drain();
    const page = await get(`/ui/builds/${buildId}`);
    expect(page.text).toContain(`/-/jobs/${job.id}`);
    expect(page.text).toContain('<pre class="log" tabindex="0">Running with gitlab-runner\n==&gt; Making package: zlib &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\n</pre>');
    expect(page.text).toContain(`#${job.id}`);
    noRawScript(page.text);
  });

  it('serves its assets from itself', async () => {
    const js = await fetch(`${rig.url}/ui/assets/app.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(await js.text()).toContain('EventSource');
    expect((await fetch(`${rig.url}/ui/assets/style.css`)).headers.get('content-type')).toMatch(/text\/css/);
    expect((await fetch(`${rig.url}/ui/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it('streams a build\'s state change as a Server-Sent Event', async () => {
    const controller = new AbortController();
    const res = await fetch(`${rig.url}/api/v1/events?namespace=evil`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await until(/event: hello/);
    rig.server.store.setState(ids[2]!, 'cancelled', 'build set cancelled');
    await until(/event: build\ndata: .*\n\n/);
    const data = JSON.parse(/event: build\ndata: (.*)\n/.exec(text)![1]!) as Record<string, unknown>;
    expect(data).toMatchObject({ id: ids[2], namespace: 'evil', pkgbase: 'cairo', arch: 'x86_64', state: 'cancelled', reason: 'build set cancelled', iteration: 1 });
    controller.abort();
    expect((await fetch(`${rig.url}/api/v1/events?namespace=nope`)).status).toBe(404);
  });
});

describe('docs', () => {
  let served: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    const dir = tempDir('quarters-docs-');
    mkdirSync(join(dir, 'docs', '_pending'), { recursive: true });
    writeFileSync(join(dir, 'docs', 'packager.md'), `# Packager <guide>\n\nSee [the reference](reference.md#cli) and [x](javascript:alert(1)).\n\n\`\`\`sh\nquarters ns new <b>zlib@main</b>\n\`\`\`\n\n- one *two*\n- \`<code>\`\n`);
    writeFileSync(join(dir, 'docs', '_pending', 'secret.md'), 'pending');
    writeFileSync(join(dir, 'secret.md'), 'outside');
    served = await listen(new Hono().route('/', docsRoutes(`${join(dir, 'docs')}/`)));
  });
  afterAll(async () => served?.close());

  it('renders a page safely, serves its Markdown, and nothing outside docs/', async () => {
    const page = await (await fetch(`${served.url}/docs/packager`)).text();
    expect(page).toContain('<h1 id="packager-guide">Packager &lt;guide&gt;</h1>');
    expect(page).toContain('<a href="/docs/reference#cli">the reference</a>');
    expect(page).not.toContain('javascript:');
    expect(page).toContain('<pre><code>quarters ns new &lt;b&gt;zlib@main&lt;/b&gt;</code></pre>');
    expect(page).toContain('<li>one <em>two</em></li><li><code>&lt;code&gt;</code></li>');
    const raw = await fetch(`${served.url}/docs/packager.md?raw=1`);
    expect(raw.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(await raw.text()).toMatch(/^# Packager <guide>/);
    for (const path of ['/docs/secret', '/docs/..%2Fsecret', '/docs/_pending%2Fsecret', '/docs/%2E%2E', '/docs/reference']) {
      expect((await fetch(`${served.url}${path}`)).status, path).toBe(404);
    }
    expect(await (await fetch(`${served.url}/docs/`)).text()).toContain('<a href="/docs/packager">packager</a>');
  });
});
