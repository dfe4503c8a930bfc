/**
 * `/ui/namespaces/:name/graph`: the latest iteration's dependency DAG of one architecture. An overview of
 * every build on a <canvas> (drawn by the script from graph.json, in the wave layout laid out on the
 * server), a build's neighbourhood n levels up and down as server-made SVG (the script fetches the same
 * fragment without reloading), the waves, and the critical path. All but the overview work without JavaScript.
 */
import { html, raw } from 'hono/html';
import { BUILD_STATES, type BuildState } from '../../../core/build-state.js';
import { neighbourhood, type GraphBuild } from '../../../core/build-set/graph-view.js';
import type { NamespaceRow } from '../../store/build-store.js';
import { ApiError } from '../../http/http-error.js';
import type { WebDeps } from '../deps.js';
import type { ArchGraph } from '../graph-data.js';
import { countGroups, namespaceHref, page, progressBar, stateLabel, type Html } from '../layout.js';

/** The most levels a neighbourhood goes up or down. */
export const MAX_LEVELS = 10;
/** Builds drawn per level of a neighbourhood before "and N more". */
const PER_LEVEL = 60;
/** Boxes per row of a level. */
const PER_ROW = 8;

export interface GraphQuery {
  arch?: string | undefined;
  focus?: string | undefined;
  up?: string | undefined;
  down?: string | undefined;
  wave?: string | undefined;
}

const levels = (text: string | undefined, what: string): number => {
  if (text === undefined || text === '') return 2;
  if (!/^\d{1,2}$/.test(text) || Number(text) > MAX_LEVELS) throw new ApiError(400, 'invalid_request', `${what} must be a whole number from 0 to ${MAX_LEVELS}, not "${text}"`);
  return Number(text);
};

/** The build set, its latest iteration's graph of the chosen architecture, and the architectures there are. */
export function graphOf(deps: WebDeps, name: string, arch: string | undefined): { ns: NamespaceRow; iteration: number; graph: ArchGraph | null; archs: string[] } {
  const ns = deps.store.namespaceByName(name);
  if (!ns) throw new ApiError(404, 'not_found', `no build set named "${name}"`);
  const latest = deps.store.latestIteration(ns.id);
  if (!latest) return { ns, iteration: 0, graph: null, archs: [] };
  const archs = deps.store.archsOf(latest.id);
  const chosen = arch && arch !== '' ? arch : archs[0];
  if (chosen !== undefined && !archs.includes(chosen)) throw new ApiError(404, 'not_found', `build set "${name}" builds nothing for ${chosen}`);
  return { ns, iteration: latest.number, graph: chosen === undefined ? null : deps.graphs.graph(latest.id, chosen), archs };
}

const href = (ns: NamespaceRow, arch: string, extra: Record<string, string>) => namespaceHref(ns.name, `/graph?${new URLSearchParams({ arch, ...extra }).toString()}`);

/** The neighbourhood of `focus` as an SVG (levels as rows: dependants above, dependencies below). */
export function neighbourhoodSection(ns: NamespaceRow, graph: ArchGraph, query: GraphQuery): Html {
  const focusName = query.focus?.trim() ?? '';
  if (focusName === '') return html`<div id="neighbourhood"><p class="empty">Choose a package to see what it needs and what needs it.</p></div>`;
  const up = levels(query.up, 'up');
  const down = levels(query.down, 'down');
  const focus = graph.builds.find((b) => b.pkgbase === focusName && b.pass === 1) ?? graph.builds.find((b) => b.pkgbase === focusName);
  if (!focus) {
    const like = graph.builds.filter((b) => b.pkgbase.includes(focusName)).slice(0, 20);
    return html`<div id="neighbourhood"><p class="empty">No build of "${focusName}" for ${graph.arch}.${like.length ? html` Did you mean ${like.map((b, i) => html`${i ? ', ' : ''}<a href="${href(ns, graph.arch, { focus: b.pkgbase, up: String(up), down: String(down) })}">${b.pkgbase}</a>`)}?` : ''}</p></div>`;
  }
  const byId = { get: (id: number) => { const i = graph.index.get(id); return i === undefined ? undefined : graph.builds[i]; }, has: (id: number) => graph.index.has(id) } as ReadonlyMap<number, GraphBuild>;
  const n = neighbourhood(graph.builds, focus.id, up, down, { byId, dependantsOf: graph.dependants });
  const byLevel = new Map<number, number[]>();
  for (const [id, level] of n.level) (byLevel.get(level) ?? byLevel.set(level, []).get(level)!).push(id);
  const build = (id: number) => graph.builds[graph.index.get(id)!]!;
  const nameOf = (id: number) => { const b = build(id); return b.pass > 1 ? `${b.pkgbase} (pass ${b.pass})` : b.pkgbase; };
  const rows = [...byLevel.keys()].sort((a, b) => a - b);
  const boxW = 150;
  const boxH = 26;
  const gapX = 12;
  const gapY = 56;
  // Levels as bands of rows of at most PER_ROW boxes, dependants above the package, dependencies below.
  const position = new Map<number, { x: number; y: number }>();
  const hidden = new Map<number, number>();
  let width = 0;
  let y = 8;
  for (const level of rows) {
    const ids = byLevel.get(level)!.sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
    const shown = ids.slice(0, PER_LEVEL);
    if (ids.length > shown.length) hidden.set(level, ids.length - shown.length);
    shown.forEach((id, i) => position.set(id, { x: (i % PER_ROW) * (boxW + gapX) + 8, y: y + Math.floor(i / PER_ROW) * (boxH + 10) }));
    width = Math.max(width, Math.min(shown.length, PER_ROW) * (boxW + gapX) + 8);
    y += Math.ceil(shown.length / PER_ROW) * (boxH + 10) + gapY - 10 + (hidden.has(level) ? 18 : 0);
  }
  const height = y - gapY + 18;
  const edges = n.edges.filter(([a, b]) => position.has(a) && position.has(b)).map(([a, b]) => {
    const from = position.get(a)!;
    const to = position.get(b)!;
    return html`<line x1="${from.x + boxW / 2}" y1="${from.y + boxH}" x2="${to.x + boxW / 2}" y2="${to.y}"></line>`;
  });
  const nodes = [...position].map(([id, p]) => {
    const b = build(id);
    const label = nameOf(id);
    return html`<a href="${href(ns, graph.arch, { focus: b.pkgbase, up: String(up), down: String(down) })}" data-focus="${b.pkgbase}" data-build="${id}" data-state="${b.state}"><title>${label}: ${b.state}</title>
<rect class="node s-${b.state}${id === focus.id ? ' focus' : ''}" x="${p.x}" y="${p.y}" width="${boxW}" height="${boxH}" rx="4"></rect><text x="${p.x + 6}" y="${p.y + 17}">${label.length > 20 ? `${label.slice(0, 19)}…` : label}</text></a>`;
  });
  const more = [...hidden].map(([level, count]) => html`<p class="sub">Level ${level}: ${count} more not drawn.</p>`);
  const levelName = (l: number) => (l === 0 ? 'the package' : l < 0 ? `${-l} up (needs it)` : `${l} down (it needs)`);
  return html`<div id="neighbourhood" data-focus="${focus.pkgbase}"><h3>${nameOf(focus.id)} ${stateLabel(focus.state)}: ${n.level.size - 1} builds within ${up} up and ${down} down</h3>
<p class="sub"><a href="/ui/builds/${focus.id}">Build page</a> · ${n.truncatedUp ? html`<a href="${href(ns, graph.arch, { focus: focus.pkgbase, up: String(Math.min(up + 1, MAX_LEVELS)), down: String(down) })}">one more level up</a> · ` : ''}${n.truncatedDown ? html`<a href="${href(ns, graph.arch, { focus: focus.pkgbase, up: String(up), down: String(Math.min(down + 1, MAX_LEVELS)) })}">one more level down</a>` : ''}</p>
<div class="scroll"><svg class="hood" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="group" aria-label="${levelName(0)} ${focus.pkgbase} with the builds around it">${edges}${nodes}</svg></div>${more}</div>`;
}

/** The page. */
export function graphPage(deps: WebDeps, name: string, query: GraphQuery): Html {
  const { ns, iteration, graph, archs } = graphOf(deps, name, query.arch);
  if (!graph) return page({ title: `${ns.name}: graph`, section: 'build-sets' }, html`<p class="empty">No builds.</p>`);
  const { layout, builds } = graph;
  const waveCount = layout.waveSizes.length;
  const wave = query.wave !== undefined && query.wave !== '' ? Number(query.wave) : null;
  if (wave !== null && !(Number.isInteger(wave) && wave >= 0 && wave < waveCount)) throw new ApiError(400, 'invalid_request', `wave must be a whole number from 0 to ${waveCount - 1}`);
  const byWave: number[][] = Array.from({ length: waveCount }, () => []);
  builds.forEach((_, i) => byWave[layout.wave[i]!]!.push(i));
  const link = (i: number) => html`<a href="${href(ns, graph.arch, { focus: builds[i]!.pkgbase })}" data-focus="${builds[i]!.pkgbase}">${builds[i]!.pkgbase}${builds[i]!.pass > 1 ? ` (pass ${builds[i]!.pass})` : ''}</a>`;
  const legend = BUILD_STATES.map((s: BuildState) => html`<li><span class="swatch s-${s}"></span>${s}</li>`);
  return page(
    { title: `${ns.name}: graph of ${graph.arch}`, section: 'build-sets', live: { namespace: ns.name, mode: 'patch' }, bodyClass: 'graph-page' },
    html`<p><a href="${namespaceHref(ns.name)}">${ns.name}</a>, iteration ${iteration}: ${builds.length} builds in ${waveCount} waves. ${progressBar(countGroups(builds), `${ns.name}/${graph.arch}`)}</p>
<form class="filters" method="get" action="${namespaceHref(ns.name, '/graph')}" id="hood-form">
<label>Architecture <select name="arch">${archs.map((a) => html`<option value="${a}"${a === graph.arch ? ' selected' : ''}>${a}</option>`)}</select></label>
<label>Package <input name="focus" id="focus-input" value="${query.focus ?? ''}" required list="${builds.length <= 2000 ? 'pkgbases' : ''}" autocomplete="off"></label>
<label>Up <input name="up" type="number" min="0" max="${MAX_LEVELS}" value="${query.up ?? '2'}"></label><label>Down <input name="down" type="number" min="0" max="${MAX_LEVELS}" value="${query.down ?? '2'}"></label>
<button type="submit">Show neighbourhood</button></form>
${builds.length <= 2000 ? html`<datalist id="pkgbases">${builds.map((b) => html`<option value="${b.pkgbase}">`)}</datalist>` : ''}
<section aria-labelledby="hood-h"><h2 id="hood-h">Neighbourhood</h2>${neighbourhoodSection(ns, graph, query)}</section>
<section aria-labelledby="overview-h" class="overview"><h2 id="overview-h">Overview</h2>
<p class="sub">Every build, one column per wave, coloured by state; the critical path is outlined. Drag to pan, wheel or +/− to zoom, click a build for its neighbourhood.</p>
<ul class="legend">${legend}<li><span class="swatch critical"></span>critical path</li></ul>
<div class="canvas-wrap"><canvas id="overview" data-src="${namespaceHref(ns.name, `/graph.json?arch=${encodeURIComponent(graph.arch)}`)}" data-hood="${namespaceHref(ns.name, '/graph/neighbourhood')}" data-arch="${graph.arch}" tabindex="0" aria-label="overview of the graph; use the package field for a neighbourhood" width="800" height="500"></canvas></div>
<noscript><p>The overview needs JavaScript; the neighbourhood, the waves and the critical path do not.</p></noscript></section>
<section aria-labelledby="critical-h"><h2 id="critical-h">Critical path (${layout.critical.length} builds)</h2><ol class="critical">${layout.critical.map((i) => html`<li>${link(i)} ${stateLabel(builds[i]!.state)}</li>`)}</ol></section>
<section aria-labelledby="waves-h"><h2 id="waves-h">Waves</h2><div class="scroll"><table><thead><tr><th scope="col">Wave</th><th scope="col">Builds</th><th scope="col">Progress</th></tr></thead><tbody>
${byWave.map((list, w) => html`<tr${w === wave ? raw(' class="selected"') : ''}><th scope="row"><a href="${href(ns, graph.arch, { wave: String(w) })}#wave">${w}</a></th><td>${list.length}</td><td>${progressBar(countGroups(list.map((i) => builds[i]!)), `${ns.name}/${graph.arch}/wave-${w}`)}</td></tr>`)}
</tbody></table></div>
${wave !== null ? html`<h3 id="wave">Wave ${wave}</h3><ul class="wave-list">${byWave[wave]!.sort((a, b) => builds[a]!.pkgbase.localeCompare(builds[b]!.pkgbase)).map((i) => html`<li data-build="${builds[i]!.id}" data-state="${builds[i]!.state}">${link(i)} ${stateLabel(builds[i]!.state)}</li>`)}</ul>` : ''}</section>`,
  );
}
