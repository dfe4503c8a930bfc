/** `/ui/builds/:id`: one build: where it is, why, its jobs and runner, its log (or where it is), its artifacts, what it used. */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { html } from 'hono/html';
import { whyChain } from '../../../core/build-set/graph-view.js';
import { buildLogPath } from '../../../core/build-set/log-path.js';
import { parseOrigin } from '../../../core/build-set/origin.js';
import { jobUrl } from '../../build-sets/job-reports.js';
import { ApiError } from '../../http/http-error.js';
import type { WebDeps } from '../deps.js';
import { bytes, duration, externalLink, namespaceHref, page, secondsBetween, stateLabel, time, type Html } from '../layout.js';
import { whyText } from './build-set.js';

/** The end of a local build's log the page shows. */
export const LOG_TAIL_BYTES = 64 * 1024;

/** How long the page waits for GitLab's job log before showing only the link. */
const GITLAB_LOG_WAIT_MS = 3000;

/** The end of a text, at most `max` bytes, from a line start. */
function tailOf(text: string, max: number): { text: string; cut: boolean } {
  const bytesOf = Buffer.from(text, 'utf8');
  if (bytesOf.length <= max) return { text, cut: false };
  const end = bytesOf.subarray(bytesOf.length - max).toString('utf8');
  return { text: end.slice(end.indexOf('\n') + 1), cut: true };
}

/** The job's log from GitLab, or why not (within GITLAB_LOG_WAIT_MS). */
async function gitlabLog(deps: WebDeps, projectId: number, jobId: number): Promise<{ text: string } | { missing: string }> {
  if (!deps.gitlab) return { missing: 'this server has no GitLab' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`GitLab did not answer within ${GITLAB_LOG_WAIT_MS / 1000} s`)), GITLAB_LOG_WAIT_MS)));
  try {
    const log = await Promise.race([deps.gitlab.jobLog(projectId, jobId), timeout]);
    return log === null || log === '' ? { missing: 'GitLab has no log for the job yet' } : { text: log };
  } catch (error) {
    return { missing: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** The last `max` bytes of a file, from a line start. */
async function tail(file: string, max: number): Promise<{ text: string; cut: boolean }> {
  const size = statSync(file).size;
  const start = Math.max(0, size - max);
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { start })) chunks.push(chunk as Buffer);
  let text = Buffer.concat(chunks).toString('utf8');
  if (start > 0) text = text.slice(text.indexOf('\n') + 1);
  return { text, cut: start > 0 };
}

/** The page. */
export async function buildPage(deps: WebDeps, idText: string): Promise<Html> {
  if (!/^[1-9]\d{0,15}$/.test(idText)) throw new ApiError(400, 'invalid_request', 'the build id must be a positive integer');
  const b = deps.store.build(Number(idText));
  if (!b) throw new ApiError(404, 'not_found', `no build ${idText}`);
  const { store } = deps;
  const ns = store.namespaceOfBuild(b);
  const iteration = store.iterationById(b.iteration_id)!;
  const owner = b.reused_from !== null ? (store.build(b.reused_from) ?? b) : b;
  const ofArch = store.builds(b.iteration_id).filter((x) => x.arch === b.arch);
  const byId = new Map(ofArch.map((x) => [x.id, x]));
  const why = whyChain(ofArch, b.id, new Set(ns.origin.map((o) => parseOrigin(o).pkgbase)));
  const dependants = store.dependantsOf(b);
  const artifacts = store.artifacts(b.id);
  const jobs = deps.jobs.ofBuild([...new Set([b.id, owner.id])]);
  const usage = b.resource_usage ?? owner.resource_usage;
  const label = `${b.pkgbase}/${b.arch}${b.pass > 1 ? ` (pass ${b.pass})` : ''}`;

  let log: Html;
  if (ns.kind === 'local') {
    const file = join(deps.dataDir, buildLogPath(ns.name, store.iterationById(owner.iteration_id)!.number, owner.arch, owner.pkgbase));
    if (existsSync(file)) {
      const { text, cut } = await tail(file, LOG_TAIL_BYTES);
      log = html`${cut ? html`<p class="sub">The last ${bytes(LOG_TAIL_BYTES)}; <a href="/api/v1/builds/${b.id}/log">the whole log</a>.</p>` : html`<p class="sub"><a href="/api/v1/builds/${b.id}/log">As text</a>.</p>`}<pre class="log" tabindex="0">${text}</pre>`;
    } else log = html`<p class="empty">No log: the build never started.</p>`;
  } else {
    const lastJob = jobs[0]?.job_id ?? store.lastUploadJob(b.id);
    const where = jobUrl(owner.pipeline_url, lastJob) ?? owner.pipeline_url;
    const fetched = lastJob !== null ? await gitlabLog(deps, owner.project_id, lastJob) : null;
    const link = where ? html`<p>GitLab keeps this build's log: ${externalLink(where, lastJob !== null ? `job ${lastJob}` : `pipeline ${owner.pipeline_id}`)}.</p>` : html`<p class="empty">No pipeline yet, so no log.</p>`;
    if (fetched && 'text' in fetched) {
      const { text, cut } = tailOf(fetched.text, LOG_TAIL_BYTES);
      // GitLab's traces carry ANSI colours and section markers; the text shows without them.
      // eslint-disable-next-line no-control-regex -- ANSI escapes start with ESC
      const plain = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/section_(?:start|end):\d+:[\w.-]+\r?/g, '');
      log = html`${link}${cut ? html`<p class="sub">The last ${bytes(LOG_TAIL_BYTES)}.</p>` : ''}<pre class="log" tabindex="0">${plain}</pre>`;
    } else log = html`${link}${fetched ? html`<p class="sub">No log shown: ${fetched.missing}.</p>` : ''}`;
  }
  const repo = `/repos/${encodeURIComponent(ns.name)}/${iteration.number}/${encodeURIComponent(b.arch)}/`;
  return page(
    { title: label, section: 'build-sets', live: { namespace: ns.name, mode: 'patch' } },
    html`<dl class="facts" data-build="${b.id}" data-state="${b.state}"><dt>State</dt><dd>${stateLabel(b.state)}${b.reason ? html` <span class="reason">${b.reason}</span>` : ''}</dd>
<dt>Build set</dt><dd><a href="${namespaceHref(ns.name)}">${ns.name}</a>, iteration ${iteration.number}${b.reused_from !== null ? html` (carried over from <a href="/ui/builds/${b.reused_from}">build ${b.reused_from}</a>)` : ''}</dd>
<dt>Version</dt><dd>${b.version}</dd><dt>Recipe</dt><dd>${b.project_path} @ ${b.ref} <code>${b.sha}</code></dd><dt>Commit built</dt><dd><code>${b.commit_sha ?? '-'}</code></dd>
<dt>Packager</dt><dd>${b.packager ?? '-'}</dd><dt>Pipeline</dt><dd>${owner.pipeline_id === null ? '-' : externalLink(owner.pipeline_url, `#${owner.pipeline_id}`)}</dd>
<dt>Started</dt><dd>${time(b.started_at)}</dd><dt>Finished</dt><dd>${time(b.finished_at)}</dd><dt>Duration</dt><dd>${b.started_at ? duration(secondsBetween(b.started_at, b.finished_at)) : '-'}</dd>
<dt>Why in the set</dt><dd>${b.pkgbase} → ${whyText(why)}</dd></dl>
<section aria-labelledby="usage-h"><h2 id="usage-h">Resource usage</h2>${usage ? html`<dl class="facts"><dt>Wall time</dt><dd>${duration(usage.wall_seconds)}</dd><dt>CPU time</dt><dd>${duration(usage.cpu_seconds)}</dd><dt>Peak memory</dt><dd>${bytes(usage.peak_memory_bytes)}</dd><dt>Disk</dt><dd>${bytes(usage.disk_bytes)}</dd></dl>` : html`<p class="empty">Not reported yet.</p>`}</section>
<section aria-labelledby="jobs-h"><h2 id="jobs-h">Jobs</h2>${jobs.length ? html`<div class="scroll"><table><thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Runner</th><th scope="col">Started</th><th scope="col">Finished</th></tr></thead><tbody>
${jobs.map((j) => html`<tr><td>${externalLink(jobUrl(owner.pipeline_url, j.job_id), `${j.name} #${j.job_id}`)}</td><td>${j.status}</td><td>${j.runner_id === null ? '-' : `#${j.runner_id} ${j.runner_description ?? ''}`}</td><td>${time(j.started_at)}</td><td>${time(j.finished_at)}</td></tr>`)}</tbody></table></div>` : html`<p class="empty">No job reported.</p>`}</section>
<section aria-labelledby="artifacts-h"><h2 id="artifacts-h">Artifacts</h2>${artifacts.length ? html`<div class="scroll"><table><thead><tr><th scope="col">File</th><th scope="col">Size</th><th scope="col">SHA-256</th></tr></thead><tbody>
${artifacts.map((a) => html`<tr><td><a href="${repo}${encodeURIComponent(a.filename)}">${a.filename}</a></td><td>${bytes(a.size)}</td><td><code class="sha">${a.sha256}</code></td></tr>`)}</tbody></table></div>` : html`<p class="empty">None uploaded.</p>`}</section>
<section aria-labelledby="deps-h"><h2 id="deps-h">Dependencies in the set</h2>
<p>Needs: ${b.depends_on.length ? b.depends_on.map((d, i) => { const x = byId.get(d); return html`${i ? ', ' : ''}<a href="/ui/builds/${d}">${x ? x.pkgbase : d}</a>${x ? html` ${stateLabel(x.state)}` : ''}`; }) : 'nothing in the set'}</p>
<p>Needed by: ${dependants.length ? dependants.slice(0, 100).map((x, i) => html`${i ? ', ' : ''}<a href="/ui/builds/${x.id}">${x.pkgbase}</a>`) : 'nothing in the set'}${dependants.length > 100 ? ` and ${dependants.length - 100} more` : ''}</p>
<p><a href="${namespaceHref(ns.name, `/graph?arch=${encodeURIComponent(b.arch)}&focus=${encodeURIComponent(b.pkgbase)}`)}">Neighbourhood in the graph</a></p></section>
<section aria-labelledby="log-h"><h2 id="log-h">Log</h2>${log}</section>`,
  );
}
