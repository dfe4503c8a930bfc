/**
 * The web UI: server-rendered pages (home, search, build set, graph, build, builders), the docs, and
 * the two assets the pages load. Pages answer HTML errors a person can read; the JSON API keeps its own.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import { ApiError } from '../http/http-error.js';
import type { WebDeps } from './deps.js';
import { docsRoutes } from './docs-route.js';
import { graphJson } from './graph-data.js';
import { CONTENT_SECURITY_POLICY, page, type Html } from './layout.js';
import { buildPage } from './pages/build.js';
import { buildSetPage } from './pages/build-set.js';
import { buildersPage } from './pages/builders.js';
import { graphOf, graphPage, neighbourhoodSection } from './pages/graph.js';
import { homePage, searchPage } from './pages/home.js';

const asset = (name: string): string => readFileSync(fileURLToPath(new URL(`./assets/${name}`, import.meta.url)), 'utf8');

const SECURITY_HEADERS = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin' };

/** The UI routes. */
export function webUiRoutes(deps: WebDeps): Hono {
  const app = new Hono();
  const assets = { 'app.js': { body: asset('app.js'), type: 'text/javascript; charset=utf-8' }, 'style.css': { body: asset('style.css'), type: 'text/css; charset=utf-8' } };
  const send = async (c: Context, body: Html | Promise<Html>) => c.html(await body, 200, SECURITY_HEADERS);
  // A page's error as a page (the JSON API's handler would answer JSON).
  app.onError((error, c) => {
    if (!(error instanceof ApiError)) throw error;
    return c.html(page({ title: error.status === 404 ? 'Not found' : 'Cannot show this' }, html`<p>${error.detail}</p><p><a href="/">Build sets</a></p>`), error.status as 400, SECURITY_HEADERS);
  });

  app.get('/ui/assets/:name', (c) => {
    const found = assets[c.req.param('name') as keyof typeof assets];
    if (!found) throw new ApiError(404, 'not_found', `no asset ${c.req.param('name')}`);
    return c.body(found.body, 200, { 'Content-Type': found.type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
  });
  app.get('/', (c) => send(c, homePage(deps)));
  app.get('/ui/search', (c) => send(c, searchPage(deps, c.req.query('q') ?? '')));
  app.get('/ui/builders', (c) => send(c, buildersPage(deps)));
  app.get('/ui/builds/:id', (c) => send(c, buildPage(deps, c.req.param('id'))));
  app.get('/ui/namespaces/:name', (c) => send(c, buildSetPage(deps, c.req.param('name'), { state: c.req.query('state'), arch: c.req.query('arch'), all: c.req.query('all') })));
  app.get('/ui/namespaces/:name/graph', (c) => send(c, graphPage(deps, c.req.param('name'), c.req.query())));
  app.get('/ui/namespaces/:name/graph/neighbourhood', async (c) => {
    const { ns, graph } = graphOf(deps, c.req.param('name'), c.req.query('arch'));
    if (!graph) throw new ApiError(404, 'not_found', `build set "${ns.name}" has no builds`);
    return c.html(await neighbourhoodSection(ns, graph, c.req.query()), 200, SECURITY_HEADERS);
  });
  app.get('/ui/namespaces/:name/graph.json', (c) => {
    const { ns, iteration, graph } = graphOf(deps, c.req.param('name'), c.req.query('arch'));
    if (!graph) throw new ApiError(404, 'not_found', `build set "${ns.name}" has no builds`);
    return c.json(graphJson(graph, ns.name, iteration));
  });
  app.route('/', docsRoutes());
  return app;
}
