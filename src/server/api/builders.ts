/**
 * What the runners are doing, from what the server knows: the jobs of builds' pipelines that GitLab's
 * Job Hooks and the executors' authenticated reports named (job-store.ts), and the builds in flight.
 * `GET /api/v1/builders`, the builders page and the home page's "building now" read it.
 */
import type { BuildStore } from '../store/build-store.js';
import type { JobStore, JobWithBuild } from '../store/job-store.js';
import { jobUrl } from '../build-sets/job-reports.js';
import { BUILDERS_WINDOW_HOURS, type Builder, type BuildersView, type QueuedBuild } from '../../core/builders-view.js';

export type { BuildersView };

const secondsSince = (iso: string | null, now: number): number | null => (iso === null ? null : Math.max(0, Math.round((now - Date.parse(iso)) / 1000)));

/** The builders view at `now`. */
export function buildersView(store: BuildStore, jobs: JobStore, now = Date.now(), windowHours = BUILDERS_WINDOW_HOURS): BuildersView {
  const since = new Date(now - windowHours * 3600_000).toISOString();
  const recent = jobs.recent(since);
  const inFlight = store.inFlight();
  const namespaces = new Map<number, string>();
  const namespaceOf = (iterationId: number): string => {
    let name = namespaces.get(iterationId);
    if (name === undefined) namespaces.set(iterationId, (name = store.namespaceOfBuild({ iteration_id: iterationId }).name));
    return name;
  };
  // The newest job of each build in flight (recent() is newest first).
  const jobOf = new Map<number, JobWithBuild>();
  for (const job of recent) if (!jobOf.has(job.build_id)) jobOf.set(job.build_id, job);

  const builders = new Map<string, Builder>();
  const builderOf = (runner: Builder['runner']): Builder => {
    const key = runner ? String(runner.id) : '-';
    let b = builders.get(key);
    if (!b) builders.set(key, (b = { runner, last_seen_at: null, recent_jobs: 0, running: [] }));
    return b;
  };
  for (const job of recent) {
    if (job.runner_id === null) continue;
    const b = builderOf({ id: job.runner_id, description: job.runner_description });
    b.recent_jobs += 1;
    if (b.last_seen_at === null || job.updated_at > b.last_seen_at) b.last_seen_at = job.updated_at;
  }
  const queue: QueuedBuild[] = [];
  for (const build of inFlight) {
    const job = jobOf.get(build.id) ?? null;
    const where = { build_id: build.id, namespace: namespaceOf(build.iteration_id), pkgbase: build.pkgbase, arch: build.arch, pass: build.pass };
    if (build.state === 'dispatched' && job?.status !== 'running') {
      queue.push({
        ...where, pipeline_id: build.pipeline_id, pipeline_url: build.pipeline_url, job_id: job?.job_id ?? null,
        dispatched_at: build.dispatch_started_at, waiting_seconds: secondsSince(build.dispatch_started_at, now),
      });
      continue;
    }
    const running = job?.status === 'running' ? job : null;
    const started = running?.started_at ?? build.started_at;
    builderOf(running && running.runner_id !== null ? { id: running.runner_id, description: running.runner_description } : null).running.push({
      ...where, job_id: running?.job_id ?? null, job_url: jobUrl(build.pipeline_url, running?.job_id ?? null), pipeline_url: build.pipeline_url,
      started_at: started, elapsed_seconds: secondsSince(started, now),
    });
  }
  queue.sort((a, b) => (b.waiting_seconds ?? 0) - (a.waiting_seconds ?? 0));
  const list = [...builders.values()].sort((a, b) => (a.runner === null ? 1 : b.runner === null ? -1 : (b.last_seen_at ?? '').localeCompare(a.last_seen_at ?? '')));
  return { generated_at: new Date(now).toISOString(), since, builders: list, queue };
}
