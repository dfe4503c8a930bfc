/** The home page (build sets with their progress, builds running now) and the search page. */
import { html } from 'hono/html';
import type { NamespaceRow } from '../../store/build-store.js';
import { buildersView } from '../../api/builders.js';
import type { RunningBuild } from '../../../core/builders-view.js';
import type { WebDeps } from '../deps.js';
import { countGroups, duration, externalLink, namespaceHref, page, progressBar, stateLabel, type Html } from '../layout.js';

/** Finished build sets shown on the home page besides the active ones. */
const RECENT = 30;
/** Running builds listed on the home page (the longest running); the builders page lists them all. */
const RUNNING_SHOWN = 20;

/** Rows of builds running now (home and builders pages). */
export function runningTable(running: readonly (RunningBuild & { runner?: string })[], withRunner: boolean): Html {
  if (running.length === 0) return html`<p class="empty">Nothing is building.</p>`;
  return html`<div class="scroll"><table><thead><tr><th scope="col">Build</th><th scope="col">Build set</th>${withRunner ? html`<th scope="col">Runner</th>` : ''}<th scope="col">Elapsed</th><th scope="col">Job</th></tr></thead><tbody>
${running.map((r) => html`<tr><td><a href="/ui/builds/${r.build_id}">${r.pkgbase}/${r.arch}${r.pass > 1 ? ` (pass ${r.pass})` : ''}</a></td><td><a href="${namespaceHref(r.namespace)}">${r.namespace}</a></td>${withRunner ? html`<td>${r.runner ?? '-'}</td>` : ''}
<td><span data-elapsed-since="${r.started_at ?? ''}">${duration(r.elapsed_seconds)}</span></td><td>${r.job_id !== null ? externalLink(r.job_url, `job ${r.job_id}`) : externalLink(r.pipeline_url, 'pipeline')}</td></tr>`)}
</tbody></table></div>`;
}

/** One build set's row: name, status, iteration, packager, a bar per architecture. */
function namespaceRow(deps: WebDeps, ns: NamespaceRow): Html {
  const latest = deps.store.latestIteration(ns.id);
  const counts = latest ? deps.store.stateCounts(latest.id) : [];
  const archs = [...new Set(counts.map((c) => c.arch))];
  return html`<tr data-namespace="${ns.name}"><th scope="row"><a href="${namespaceHref(ns.name)}">${ns.name}</a><div class="sub">${ns.kind} · ${ns.origin.join(', ')}</div></th>
<td><span class="status st-${ns.status}">${ns.status}</span></td><td>${latest?.number ?? '-'}</td><td>${ns.packager ?? '-'}</td>
<td>${archs.map((arch) => html`<div class="arch-progress"><span class="arch">${arch}</span> ${progressBar(countGroups(counts.filter((c) => c.arch === arch)), `${ns.name}/${arch}`)}</div>`)}</td></tr>`;
}

function namespacesTable(deps: WebDeps, list: readonly NamespaceRow[], caption: string): Html {
  return html`<div class="scroll"><table class="sets"><caption>${caption}</caption><thead><tr><th scope="col">Build set</th><th scope="col">Status</th><th scope="col">Iteration</th><th scope="col">Packager</th><th scope="col">Progress per architecture</th></tr></thead>
<tbody>${list.map((ns) => namespaceRow(deps, ns))}</tbody></table></div>`;
}

/** `/`. */
export function homePage(deps: WebDeps): Html {
  const all = deps.store.listNamespaces();
  const active = all.filter((ns) => ns.status === 'active').reverse();
  const recent = all.filter((ns) => ns.status !== 'active').reverse().slice(0, RECENT);
  const view = buildersView(deps.store, deps.jobs);
  const running = view.builders.flatMap((b) => b.running.map((r) => ({ ...r, runner: b.runner ? `#${b.runner.id} ${b.runner.description ?? ''}`.trim() : undefined })));
  return page(
    { title: 'Build sets', section: 'build-sets', live: { namespace: null, mode: 'refresh' } },
    html`<section aria-labelledby="running-h"><h2 id="running-h">Building now${running.length ? ` (${running.length})` : ''}</h2>${runningTable(running.sort((a, b) => (b.elapsed_seconds ?? 0) - (a.elapsed_seconds ?? 0)).slice(0, RUNNING_SHOWN), true)}
${running.length > RUNNING_SHOWN ? html`<p><a href="/ui/builders">All ${running.length} on the builders page</a></p>` : ''}
${view.queue.length ? html`<p><a href="/ui/builders#queue">${view.queue.length} dispatched, waiting for a runner</a></p>` : ''}</section>
<section aria-labelledby="sets-h"><h2 id="sets-h">Build sets</h2>
${active.length ? namespacesTable(deps, active, 'Active') : html`<p class="empty">No active build set.</p>`}
${recent.length ? namespacesTable(deps, recent, 'Recent (cancelled or retired)') : ''}</section>`,
  );
}

/** `/ui/search?q=`: build sets by name, origin or packager; builds of live iterations by pkgbase. */
export function searchPage(deps: WebDeps, query: string): Html {
  const q = query.trim();
  if (q === '') return page({ title: 'Search', section: 'build-sets' }, html`<p>Type part of a build set's name, an origin, a packager or a package name.</p>`);
  const needle = q.toLowerCase();
  const sets = deps.store.listNamespaces().filter((ns) => [ns.name, ns.packager ?? '', ...ns.origin].some((t) => t.toLowerCase().includes(needle))).reverse();
  const builds = deps.store.searchBuilds(q, 200);
  return page(
    { title: `Search: ${q}`, section: 'build-sets' },
    html`<section aria-labelledby="sets-h"><h2 id="sets-h">Build sets (${sets.length})</h2>
${sets.length ? html`<ul class="results">${sets.map((ns) => html`<li><a href="${namespaceHref(ns.name)}">${ns.name}</a> <span class="sub">${ns.status} · ${ns.origin.join(', ')}${ns.packager ? ` · ${ns.packager}` : ''}</span></li>`)}</ul>` : html`<p class="empty">None.</p>`}</section>
<section aria-labelledby="builds-h"><h2 id="builds-h">Packages (${builds.length}${builds.length === 200 ? '+' : ''})</h2>
${builds.length ? html`<div class="scroll"><table><thead><tr><th scope="col">Package</th><th scope="col">Build set</th><th scope="col">Version</th><th scope="col">State</th></tr></thead><tbody>
${builds.map((b) => html`<tr><td><a href="/ui/builds/${b.id}">${b.pkgbase}/${b.arch}${b.pass > 1 ? ` (pass ${b.pass})` : ''}</a></td><td><a href="${namespaceHref(b.namespace)}">${b.namespace}</a></td><td>${b.version}</td><td>${stateLabel(b.state)}</td></tr>`)}
</tbody></table></div>` : html`<p class="empty">No build of a package named like that.</p>`}</section>`,
  );
}


