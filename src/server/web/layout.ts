/**
 * The web UI's page shell and the small pieces every page uses. Every value goes through hono/html's
 * `html` template, which escapes it; `raw` is for markup made here only. No external assets: the style
 * sheet and the script are served by this server (assets.ts), and the Content-Security-Policy says so.
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { BuildState } from '../../core/build-state.js';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The docs pages the footer links to (served from the repository's docs/ by docs-route.ts). */
export const DOCS_PAGES = [
  ['packager', 'Packager guide'],
  ['administrator', 'Administrator guide'],
  ['reference', 'Reference'],
  ['architecture', 'Architecture'],
  ['performance', 'Performance'],
] as const;

/** Only scripts, styles and connections of this server; no inline script or style anywhere. */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export interface PageOptions {
  title: string;
  /** Where the page is, for the nav's current link. */
  section?: 'build-sets' | 'builders' | 'docs';
  /** Live updates over SSE: `all` build sets, or one by name. */
  live?: { namespace: string | null; mode: 'patch' | 'refresh' };
  /** Extra class on <body>. */
  bodyClass?: string;
}

/** A whole page. */
export function page(options: PageOptions, body: Html): Html {
  const live = options.live;
  const current = (s: PageOptions['section']) => (options.section === s ? raw(' aria-current="page"') : '');
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · quarters</title><link rel="stylesheet" href="/ui/assets/style.css"><script src="/ui/assets/app.js" defer></script></head>
<body class="${options.bodyClass ?? ''}"${live ? html` data-live="${live.mode}" data-live-namespace="${live.namespace ?? ''}"` : ''}>
<a class="skip" href="#main">Skip to content</a>
<header><nav aria-label="main"><a class="brand" href="/">quarters</a> <a href="/"${current('build-sets')}>Build sets</a> <a href="/ui/builders"${current('builders')}>Builders</a> <a href="/docs/"${current('docs')}>Docs</a></nav>
<form class="search" role="search" method="get" action="/ui/search"><label for="q" class="visually-hidden">Search build sets and packages</label><input id="q" name="q" type="search" placeholder="Search build sets and packages" autocomplete="off"><button type="submit">Search</button></form></header>
<main id="main" tabindex="-1"><h1>${options.title}</h1>
${live ? html`<p class="live-status" role="status" aria-live="polite" hidden>live</p>` : ''}
${body}</main>
<footer><nav aria-label="documentation">${DOCS_PAGES.map(([p, label]) => html`<a href="/docs/${p}">${label}</a> `)}· <a href="/api/v1/openapi.json">API (OpenAPI)</a></nav></footer>
</body></html>`;
}

/** The groups the progress bars and counts show. */
export const STATE_GROUPS = ['built', 'building', 'waiting', 'failed', 'cancelled'] as const;
export type StateGroup = (typeof STATE_GROUPS)[number];

/** Which group a build state counts in. */
export function groupOf(state: BuildState): StateGroup {
  if (state === 'built') return 'built';
  if (state === 'dispatched' || state === 'building') return 'building';
  if (state === 'blocked' || state === 'ready') return 'waiting';
  if (state === 'failed' || state === 'dependency-failed') return 'failed';
  return 'cancelled';
}

export type GroupCounts = Record<StateGroup, number> & { total: number };

/** Counts builds per group. */
export function countGroups(states: Iterable<{ state: BuildState; n?: number }>): GroupCounts {
  const counts: GroupCounts = { built: 0, building: 0, waiting: 0, failed: 0, cancelled: 0, total: 0 };
  for (const s of states) {
    counts[groupOf(s.state)] += s.n ?? 1;
    counts.total += s.n ?? 1;
  }
  return counts;
}

/** A stacked bar of the groups (SVG: widths are attributes, which the CSP allows) with the numbers beside it; `key` names the counters live updates patch. */
export function progressBar(counts: GroupCounts, key: string): Html {
  let x = 0;
  const total = Math.max(counts.total, 1);
  const rects = STATE_GROUPS.map((g) => {
    const width = (counts[g] / total) * 100;
    const rect = html`<rect class="g-${g}" data-bar="${key}:${g}" x="${x.toFixed(3)}" width="${width.toFixed(3)}" height="8"></rect>`;
    x += width;
    return rect;
  });
  const label = `${counts.built} built, ${counts.failed} failed, ${counts.building} building, ${counts.waiting} waiting, ${counts.cancelled} cancelled of ${counts.total}`;
  return html`<span class="progress" data-progress="${key}"><svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label="${label}">${rects}</svg>
<span class="counts"><span class="g-built" data-count="${key}:built">${counts.built}</span> built · <span class="g-failed" data-count="${key}:failed">${counts.failed}</span> failed · <span class="g-building" data-count="${key}:building">${counts.building}</span> building · <span class="g-waiting" data-count="${key}:waiting">${counts.waiting}</span> waiting · <span class="g-cancelled" data-count="${key}:cancelled">${counts.cancelled}</span> cancelled · <span data-count="${key}:total">${counts.total}</span> total</span></span>`;
}

/** A build state as a coloured label. */
export const stateLabel = (state: BuildState): Html => html`<span class="state s-${state}" data-state-label>${state}</span>`;

/** "1h 02m", "3m 05s", "42s", or "-". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Seconds between two ISO times (or until now). */
export function secondsBetween(from: string | null, to: string | null = null, now = Date.now()): number | null {
  if (!from) return null;
  return Math.max(0, ((to ? Date.parse(to) : now) - Date.parse(from)) / 1000);
}

/** 1.5 MiB, 734 KiB, 12 B. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** A URL from outside (GitLab's) as a link target only when it is http(s); anything else is no link. */
export function safeUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A link to a URL from outside, or the text alone when the URL is not http(s). */
export const externalLink = (url: string | null | undefined, text: string): Html => {
  const safe = safeUrl(url);
  return safe ? html`<a href="${safe}" rel="noreferrer">${text}</a>` : html`${text}`;
};

/** An ISO time as a <time> element (the script shows it relative; without it, the UTC time). */
export const time = (iso: string | null | undefined): Html => (iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>` : html`-`);

/** The UI's address of a build set. */
export const namespaceHref = (name: string, rest = ''): string => `/ui/namespaces/${encodeURIComponent(name)}${rest}`;
