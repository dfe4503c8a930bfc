/** The read-only web UI at `/`: build sets and, per build set, its latest iteration's builds. Values are HTML-escaped by hono/html. */
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { BuildStore } from '../store/build-store.js';
import type { ImageStore } from '../store/image-store.js';
import { ApiError } from './http-error.js';

const page = (title: string, body: HtmlEscapedString | Promise<HtmlEscapedString>) => html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} · quarters</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}
.built{color:#176f2c}.failed,.dependency-failed{color:#b00020}.building,.dispatched{color:#1a5fb4}</style></head>
<body><h1><a href="/">quarters</a> · ${title}</h1>${body}</body></html>`;

/** The UI routes. */
export function webUiRoutes(deps: { store: BuildStore; images?: ImageStore }): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    const rows = deps.store.listNamespaces().map((ns) => {
      const latest = deps.store.latestIteration(ns.id);
      const states = new Map<string, number>();
      for (const b of latest ? deps.store.builds(latest.id) : []) states.set(b.state, (states.get(b.state) ?? 0) + 1);
      return html`<tr><td><a href="/ui/namespaces/${encodeURIComponent(ns.name)}">${ns.name}</a></td><td>${ns.kind}</td><td>${ns.status}</td>
        <td>${latest?.number ?? '-'}</td><td>${[...states].map(([s, n]) => `${s} ${n}`).join(', ')}</td></tr>`;
    });
    return c.html(page('build sets', html`<table><tr><th>build set</th><th>kind</th><th>status</th><th>iteration</th><th>builds</th></tr>${rows}</table>`));
  });
  app.get('/ui/namespaces/:name', (c) => {
    const ns = deps.store.namespaceByName(c.req.param('name'));
    if (!ns) throw new ApiError(404, 'not_found', `no build set named "${c.req.param('name')}"`);
    const latest = deps.store.latestIteration(ns.id);
    const cycles = (latest?.cycles ?? []).map(
      (c) => html`<li>${c.arch}: ${c.members.join(' ⇄ ')}, built in the order ${c.build_order.join(', ')}; cut: ${c.cut_edges.map((e) => `${e.from} → ${e.to}`).join(', ')} (from the distribution)${c.rebuild === 'once' ? ', then every member once more' : ''}</li>`,
    );
    const rows = (latest ? deps.store.builds(latest.id) : []).map(
      (b) => html`<tr><td>${b.pkgbase}${b.pass > 1 ? ` (pass ${b.pass})` : ''}</td><td>${b.arch}</td><td>${b.version}</td><td class="${b.state}">${b.state}</td><td>${b.reason ?? ''}</td>
        <td>${b.pipeline_url ? html`<a href="${b.pipeline_url}">#${b.pipeline_id}</a>` : '-'}</td></tr>`,
    );
    const base = (arch: string, name: string) => `/images/${encodeURIComponent(ns.name)}/${latest?.number}/${encodeURIComponent(arch)}/${encodeURIComponent(name)}`;
    const images = (latest && deps.images ? deps.images.ofIteration(latest.id) : []).map(
      (i) => html`<tr><td>${i.name}</td><td>${i.arch}</td><td class="${i.state}">${i.state}</td><td>${i.reason ?? ''}</td>
        <td>${i.filename && i.state === 'built' ? html`<a href="${base(i.arch, i.name)}/${encodeURIComponent(i.filename)}">${i.filename}</a>` : '-'}</td>
        <td>${i.state === 'building' ? '-' : html`<a href="${base(i.arch, i.name)}/build.log">log</a>`}</td></tr>`,
    );
    return c.html(
      page(
        ns.name,
        html`<p>${ns.origin.join(', ')} · iteration ${latest?.number ?? '-'} · packager ${ns.packager ?? '-'} ·
          <a href="/repos/${encodeURIComponent(ns.name)}/latest/">repository</a></p>
        ${cycles.length ? html`<p>Dependency cycles:</p><ul>${cycles}</ul>` : ''}
        <table><tr><th>pkgbase</th><th>arch</th><th>version</th><th>state</th><th>reason</th><th>pipeline</th></tr>${rows}</table>
        ${images.length ? html`<h2>Images</h2><table><tr><th>image</th><th>arch</th><th>state</th><th>reason</th><th>file</th><th>log</th></tr>${images}</table>` : ''}`,
      ),
    );
  });
  return app;
}
