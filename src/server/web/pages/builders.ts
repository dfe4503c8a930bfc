/** `/ui/builders`: the runners that took quarters jobs recently, what each builds now, the queue with waiting times. */
import { html } from 'hono/html';
import { buildersView } from '../../api/builders.js';
import type { WebDeps } from '../deps.js';
import { duration, externalLink, namespaceHref, page, time, type Html } from '../layout.js';
import { runningTable } from './home.js';

/** The page. */
export function buildersPage(deps: WebDeps): Html {
  const view = buildersView(deps.store, deps.jobs);
  return page(
    { title: 'Builders', section: 'builders', live: { namespace: null, mode: 'refresh' } },
    html`<p>Runners that took a quarters job since ${time(view.since)} (from GitLab's Job Hooks and the executors' reports). Also as JSON: <a href="/api/v1/builders">/api/v1/builders</a>.</p>
<section aria-labelledby="runners-h"><h2 id="runners-h">Runners</h2>
${view.builders.length === 0 ? html`<p class="empty">No runner took a quarters job in that time.</p>` : view.builders.map((b) => html`<article class="builder"><h3>${b.runner ? `Runner #${b.runner.id}${b.runner.description ? ` · ${b.runner.description}` : ''}` : 'Runner not reported yet'}</h3>
<p class="sub">${b.recent_jobs} job${b.recent_jobs === 1 ? '' : 's'} recently${b.last_seen_at ? html`, last seen ${time(b.last_seen_at)}` : ''}</p>${runningTable(b.running, false)}</article>`)}</section>
<section aria-labelledby="queue"><h2 id="queue">Queue</h2><p class="sub">Builds whose pipeline was created and whose job has not started, longest waiting first.</p>
${view.queue.length === 0 ? html`<p class="empty">Nothing waits for a runner.</p>` : html`<div class="scroll"><table><thead><tr><th scope="col">Build</th><th scope="col">Build set</th><th scope="col">Waiting</th><th scope="col">Pipeline</th></tr></thead><tbody>
${view.queue.map((q) => html`<tr><td><a href="/ui/builds/${q.build_id}">${q.pkgbase}/${q.arch}${q.pass > 1 ? ` (pass ${q.pass})` : ''}</a></td><td><a href="${namespaceHref(q.namespace)}">${q.namespace}</a></td><td><span data-elapsed-since="${q.dispatched_at ?? ''}">${duration(q.waiting_seconds)}</span></td><td>${q.pipeline_id === null ? '-' : externalLink(q.pipeline_url, `#${q.pipeline_id}`)}</td></tr>`)}
</tbody></table></div>`}</section>`,
  );
}
