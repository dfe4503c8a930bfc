/**
 * `/docs/<page>`: the repository's docs/<page>.md, rendered as a minimal, safe HTML page (headings,
 * paragraphs, lists, code, links; everything else as text, all of it escaped), or as text/markdown with
 * `?raw=1`. Names are checked against the files docs/ holds: no path reaches outside it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { html, raw } from 'hono/html';
import { CONTENT_SECURITY_POLICY, page, type Html } from './layout.js';

/** docs/ of the repository: three levels up from src/server/web (and from dist/server/web). */
export const DOCS_DIR = fileURLToPath(new URL('../../../docs/', import.meta.url));

const PAGE_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** The pages docs/ holds (top level .md files), by name without .md. */
export function docPages(dir = DOCS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.md') && PAGE_NAME.test(e.name.slice(0, -3))).map((e) => e.name.slice(0, -3)).sort();
}

const escapeText = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A link target kept only when http(s), a fragment, or relative; `page.md` links become /docs/page. */
function linkTarget(url: string): string | null {
  const doc = /^(?:\.\/|\.\.\/docs\/)?([a-z0-9][a-z0-9-]*)\.md(#[\w-]*)?$/.exec(url);
  if (doc) return `/docs/${doc[1]}${doc[2] ?? ''}`;
  if (/^https?:\/\//i.test(url) || url.startsWith('#')) return url;
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return null;
  return null;
}

/** Inline Markdown of one escaped line: code spans, links, bold, emphasis. */
function inline(text: string): string {
  const codes: string[] = [];
  // Code spans are set aside (as a private-use mark and their number) and put back after the rest is escaped.
  let out = text.replace(/`([^`]+)`/g, (_, code: string) => `\uE000${codes.push(`<code>${escapeText(code)}</code>`) - 1}\uE000`);
  out = escapeText(out);
  out = out.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, label: string, url: string) => {
    const target = linkTarget(url.replace(/&amp;/g, '&'));
    return target === null ? label : `<a href="${escapeText(target)}">${label}</a>`;
  });
  out = out.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>').replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>');
  return out.replace(/\uE000(\d+)\uE000/g, (_, i: string) => codes[Number(i)]!);
}

const slug = (text: string): string => text.toLowerCase().replace(/[^\w\s-]/g, '').trim().replace(/\s+/g, '-');

/** Markdown to HTML, the subset the docs use; anything else shows as escaped text. */
export function renderMarkdown(markdown: string): string {
  const out: string[] = [];
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  let paragraph: string[] = [];
  let list: { tag: 'ul' | 'ol'; items: string[] } | null = null;
  const flush = () => {
    if (paragraph.length) out.push(`<p>${inline(paragraph.join(' '))}</p>`);
    paragraph = [];
    if (list) out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join('')}</${list.tag}>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = /^(```|~~~)/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith(fence[1]!); i++) code.push(lines[i]!);
      out.push(`<pre><code>${escapeText(code.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const level = heading[1]!.length;
      const text = inline(heading[2]!);
      out.push(`<h${level} id="${escapeText(slug(heading[2]!))}">${text}</h${level}>`);
      continue;
    }
    if (/^\|.*\|\s*$/.test(line)) {
      flush();
      const rows: string[][] = [];
      for (; i < lines.length && /^\|.*\|\s*$/.test(lines[i]!); i++) if (!/^\|[\s|:-]+\|\s*$/.test(lines[i]!)) rows.push(lines[i]!.trim().slice(1, -1).split('|').map((c) => c.trim()));
      i--;
      out.push(`<div class="scroll"><table>${rows.map((r, n) => `<tr>${r.map((c) => (n === 0 ? `<th>${inline(c)}</th>` : `<td>${inline(c)}</td>`)).join('')}</tr>`).join('')}</table></div>`);
      continue;
    }
    const item = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line);
    if (item) {
      if (paragraph.length) { out.push(`<p>${inline(paragraph.join(' '))}</p>`); paragraph = []; }
      const tag = item[1] ? 'ul' : 'ol';
      if (!list || list.tag !== tag) { if (list) flush(); list = { tag, items: [] }; }
      list.items.push(item[3]!);
      continue;
    }
    if (line.trim() === '') { flush(); continue; }
    if (list && /^\s+\S/.test(line)) { list.items[list.items.length - 1] += ` ${line.trim()}`; continue; }
    if (list) flush();
    paragraph.push(line.trim());
  }
  flush();
  return out.join('\n');
}

/** The docs routes. */
export function docsRoutes(dir = DOCS_DIR): Hono {
  const app = new Hono();
  const index = (): Html => {
    const pages = docPages(dir);
    return page({ title: 'Documentation', section: 'docs' }, pages.length ? html`<ul>${pages.map((p) => html`<li><a href="/docs/${p}">${p}</a></li>`)}</ul>` : html`<p class="empty">No documentation pages.</p>`);
  };
  app.get('/docs', (c) => c.redirect('/docs/'));
  app.get('/docs/', (c) => c.html(index(), 200, { 'Content-Security-Policy': CONTENT_SECURITY_POLICY }));
  app.get('/docs/:page', (c) => {
    const name = c.req.param('page').replace(/\.md$/, '');
    // Only a name docs/ lists: nothing else (no "..", no slash, no other directory) can be read.
    if (!PAGE_NAME.test(name) || !docPages(dir).includes(name)) {
      return c.html(page({ title: 'Not found', section: 'docs' }, html`<p>No documentation page "${c.req.param('page')}". <a href="/docs/">The pages there are</a>.</p>`), 404, { 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
    }
    const text = readFileSync(`${dir}${name}.md`, 'utf8');
    if (c.req.query('raw') === '1') return c.body(text, 200, { 'Content-Type': 'text/markdown; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    return c.html(page({ title: name, section: 'docs' }, html`<p class="sub"><a href="/docs/${name}?raw=1">Markdown source</a></p><article class="doc">${raw(renderMarkdown(text))}</article>`), 200, { 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
  });
  return app;
}
