/**
 * `/ui/namespaces/:name`: a build set's origins and packager, its iterations and what changed between
 * them, per architecture its builds (state, version, commit, pipeline, duration, resource usage, why it is
 * in the set), filtered by `?state=` and `?arch=`, its cycles and cut edges, and the install snippet.
 */
import { html } from 'hono/html';
import { BUILD_STATES } from '../../../core/build-state.js';
import { whyChains, type WhyStep } from '../../../core/build-set/graph-view.js';
import { iterationChanges } from '../../../core/build-set/iteration-changes.js';
import { parseOrigin } from '../../../core/build-set/origin.js';
import { installText } from '../../../core/build-set/progress.js';
import type { BuildRow, IterationRow, NamespaceRow } from '../../store/build-store.js';
import { ApiError } from '../../http/http-error.js';
import type { WebDeps } from '../deps.js';
import { bytes, countGroups, duration, externalLink, namespaceHref, page, progressBar, secondsBetween, stateLabel, time, type Html } from '../layout.js';

/** Rows shown per architecture unless `?all=1`. */
export const ROWS_SHOWN = 500;
/** Iterations whose changes are shown (the newest). */
const ITERATIONS_SHOWN = 10;

/** A why-chain as text: "cairo needs libpng (build: libpng) → libpng needs zlib (run: zlib)". */
export function whyText(steps: readonly WhyStep[]): Html {
  if (steps.length === 0) return html`<span class="origin">origin</span>`;
  return html`${steps.map((s, i) => html`${i === 0 ? '' : ' → '}<span class="why-step">${s.to}</span>${s.kind ? html` <span class="sub">(${s.kind}${s.clause ? `: ${s.clause}` : ''})</span>` : ''}`)}`;
}

const short = (sha: string | null) => (sha ? sha.slice(0, 10) : '-');

/** One build's row. */
function buildRow(b: BuildRow, why: WhyStep[]): Html {
  const usage = b.resource_usage;
  return html`<tr data-build="${b.id}" data-state="${b.state}"><th scope="row"><a href="/ui/builds/${b.id}">${b.pkgbase}</a>${b.pass > 1 ? html` <span class="sub">pass ${b.pass}</span>` : ''}${b.reused_from !== null ? html` <span class="tag" title="carried over from an earlier iteration">carried</span>` : ''}</th>
<td>${stateLabel(b.state)}${b.reason ? html`<div class="sub reason">${b.reason}</div>` : ''}</td><td>${b.version}</td><td><code title="${b.commit_sha ?? b.sha}">${short(b.commit_sha ?? b.sha)}</code></td>
<td>${b.pipeline_id === null ? '-' : externalLink(b.pipeline_url, `#${b.pipeline_id}`)}</td><td>${b.started_at ? duration(secondsBetween(b.started_at, b.finished_at)) : '-'}</td>
<td>${usage ? html`${duration(usage.cpu_seconds)} CPU, ${bytes(usage.peak_memory_bytes)}` : '-'}</td><td class="why">${whyText(why)}</td></tr>`;
}

/** The iterations and what changed between them (the newest first). */
function iterationsSection(deps: WebDeps, ns: NamespaceRow, iterations: IterationRow[]): Html {
  const shown = iterations.slice(-ITERATIONS_SHOWN).reverse();
  return html`<section aria-labelledby="iterations-h"><h2 id="iterations-h">Iterations</h2><ol class="iterations" reversed>
${shown.map((it) => {
    const previous = iterations.find((p) => p.number === it.number - 1);
    const c = previous ? iterationChanges(deps.store.builds(previous.id), deps.store.builds(it.id)) : null;
    return html`<li value="${it.number}"><strong>Iteration ${it.number}</strong> · ${time(it.created_at)} · ${it.reason}${it.superseded_at ? html` · superseded ${time(it.superseded_at)}` : html` · <span class="tag">latest</span>`}
${c ? html`<ul class="changes">
${c.moved.length ? html`<li>Moved: ${c.moved.map((m, i) => html`${i ? ', ' : ''}${m.pkgbase}/${m.arch} <code>${short(m.from)}</code> → <code>${short(m.to)}</code> (${m.version})`)}</li>` : ''}
${c.added.length ? html`<li>Added: ${c.added.join(', ')}</li>` : ''}${c.dropped.length ? html`<li>Dropped: ${c.dropped.join(', ')}</li>` : ''}
<li>${c.carried} carried over, ${c.fresh} built anew; iteration ${previous!.number} had ${c.superseded} superseded and ${c.cancelled} cancelled</li></ul>` : ''}</li>`;
  })}</ol>${iterations.length > ITERATIONS_SHOWN ? html`<p class="sub">${iterations.length - ITERATIONS_SHOWN} older iterations not shown; see <a href="/api/v1/namespaces/${encodeURIComponent(ns.name)}/iterations">the API</a>.</p>` : ''}</section>`;
}

/** The page. */
/** The latest iteration's disk images, with their files and logs; nothing when it has none. */
function imagesSection(deps: WebDeps, ns: NamespaceRow, latest: IterationRow | undefined): Html | '' {
  const rows = latest && deps.images ? deps.images.ofIteration(latest.id) : [];
  if (!latest || !rows.length) return '';
  const base = (arch: string, name: string) => `/images/${encodeURIComponent(ns.name)}/${latest.number}/${encodeURIComponent(arch)}/${encodeURIComponent(name)}`;
  return html`<section aria-labelledby="images-h"><h2 id="images-h">Images</h2><div class="scroll"><table><thead><tr><th scope="col">Image</th><th scope="col">Arch</th><th scope="col">State</th><th scope="col">File</th><th scope="col">Log</th></tr></thead>
<tbody>${rows.map((i) => html`<tr><td>${i.name}</td><td>${i.arch}</td><td>${i.state}${i.reason ? html`: ${i.reason}` : ''}</td>
<td>${i.filename && i.state === 'built' ? html`<a href="${base(i.arch, i.name)}/${encodeURIComponent(i.filename)}">${i.filename}</a>` : '-'}</td>
<td>${i.state === 'building' ? '-' : html`<a href="${base(i.arch, i.name)}/build.log">log</a>`}</td></tr>`)}</tbody></table></div></section>`;
}

export function buildSetPage(deps: WebDeps, name: string, query: { state?: string | undefined; arch?: string | undefined; all?: string | undefined }): Html {
  const ns: NamespaceRow | undefined = deps.store.namespaceByName(name);
  if (!ns) throw new ApiError(404, 'not_found', `no build set named "${name}"`);
  const stateFilter = query.state && query.state !== '' ? query.state : undefined;
  if (stateFilter !== undefined && !(BUILD_STATES as readonly string[]).includes(stateFilter)) throw new ApiError(400, 'invalid_request', `state must be one of ${BUILD_STATES.join(', ')}, not "${stateFilter}"`);
  const iterations = deps.store.iterations(ns.id);
  const latest = iterations[iterations.length - 1];
  const builds = latest ? deps.store.builds(latest.id) : [];
  const archs = [...new Set(builds.map((b) => b.arch))].sort();
  const archFilter = query.arch && query.arch !== '' ? query.arch : undefined;
  const origins = new Set(ns.origin.map((o) => parseOrigin(o).pkgbase));
  const repositoryUrl = `${deps.publicUrl.replace(/\/$/, '')}/repos/${encodeURIComponent(ns.name)}/latest`;
  const snippet = installText(deps.flavour, repositoryUrl, archs, deps.signing);
  const all = query.all === '1';

  const sections = archs.filter((a) => archFilter === undefined || a === archFilter).map((arch) => {
    const ofArch = builds.filter((b) => b.arch === arch);
    const why = whyChains(ofArch, origins);
    const rows = ofArch.filter((b) => stateFilter === undefined || b.state === stateFilter);
    const shown = all ? rows : rows.slice(0, ROWS_SHOWN);
    const cycles = (latest?.cycles ?? []).filter((c) => c.arch === arch);
    const unresolved = (latest?.unresolved ?? []).filter((u) => u.arch === arch);
    const params = (extra: Record<string, string>) => `?${new URLSearchParams({ ...(stateFilter ? { state: stateFilter } : {}), ...(archFilter ? { arch: archFilter } : {}), ...extra }).toString()}`;
    return html`<section class="arch" aria-labelledby="arch-${arch}"><h2 id="arch-${arch}">${arch}</h2>${progressBar(countGroups(ofArch), `${ns.name}/${arch}`)}
<p><a href="${namespaceHref(ns.name, `/graph?arch=${encodeURIComponent(arch)}`)}">Graph of ${arch}</a></p>
${cycles.length ? html`<h3>Dependency cycles</h3><ul class="cycles">${cycles.map((c) => html`<li>${c.members.join(' ⇄ ')}: built in the order ${c.build_order.join(', ')}; cut edges ${c.cut_edges.map((e, i) => html`${i ? ', ' : ''}<span class="edge">${e.from} → ${e.to}</span>`)} (satisfied from the distribution)${c.rebuild === 'once' ? ', then every member once more' : ''}</li>`)}</ul>` : ''}
${unresolved.length ? html`<h3>Unresolved dependencies</h3><ul>${unresolved.slice(0, 50).map((u) => html`<li>${u.pkgbase}: ${u.kind} ${u.clause}</li>`)}</ul>` : ''}
<div class="scroll"><table class="builds"><caption>${rows.length} build${rows.length === 1 ? '' : 's'}${stateFilter ? ` ${stateFilter}` : ''}${shown.length < rows.length ? `, the first ${shown.length} shown` : ''}</caption>
<thead><tr><th scope="col">Package</th><th scope="col">State</th><th scope="col">Version</th><th scope="col">Commit</th><th scope="col">Pipeline</th><th scope="col">Duration</th><th scope="col">Used</th><th scope="col">Why in the set</th></tr></thead>
<tbody>${shown.map((b) => buildRow(b, why(b.id)))}</tbody></table></div>
${shown.length < rows.length ? html`<p><a href="${namespaceHref(ns.name, params({ all: '1' }))}">Show all ${rows.length}</a></p>` : ''}</section>`;
  });

  const stateOptions = BUILD_STATES.map((s) => html`<option value="${s}"${s === stateFilter ? ' selected' : ''}>${s}</option>`);
  const archOptions = archs.map((a) => html`<option value="${a}"${a === archFilter ? ' selected' : ''}>${a}</option>`);
  return page(
    { title: ns.name, section: 'build-sets', live: { namespace: ns.name, mode: 'patch' } },
    html`<dl class="facts"><dt>Origins</dt><dd>${ns.origin.map((o, i) => html`${i ? ', ' : ''}<code>${o}</code>`)}</dd><dt>Packager</dt><dd>${ns.packager ?? '-'}</dd>
<dt>Status</dt><dd><span class="status st-${ns.status}">${ns.status}</span> · ${ns.kind}${ns.mr_iid !== null ? ` · merge request !${ns.mr_iid}` : ''}</dd><dt>Target branch</dt><dd>${ns.target_branch}</dd><dt>Created</dt><dd>${time(ns.created_at)}</dd>
<dt>Repository</dt><dd><a href="/repos/${encodeURIComponent(ns.name)}/latest/">/repos/${ns.name}/latest/</a></dd></dl>
<section aria-labelledby="install-h"><h2 id="install-h">Install</h2><p>${deps.flavour === 'pkgbuild' ? 'Add to /etc/pacman.conf:' : 'Add to /etc/apt/sources.list.d/quarters.list:'}</p>
<div class="snippet"><pre id="install-snippet" tabindex="0">${snippet}</pre><button type="button" class="copy" data-copy="install-snippet" hidden>Copy</button></div></section>
${imagesSection(deps, ns, latest)}
${iterationsSection(deps, ns, iterations)}
<form class="filters" method="get" action="${namespaceHref(ns.name)}"><label>State <select name="state"><option value="">all</option>${stateOptions}</select></label>
<label>Architecture <select name="arch"><option value="">all</option>${archOptions}</select></label><button type="submit">Filter</button>
${stateFilter || archFilter ? html`<a href="${namespaceHref(ns.name)}">Clear</a>` : ''}</form>
${sections.length ? sections : html`<p class="empty">No builds.</p>`}`,
  );
}
