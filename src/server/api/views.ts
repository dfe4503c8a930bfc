/** The JSON shapes the API answers with, made from store rows. */
import { type BuildRow, type BuildStore, type IterationRow, type NamespaceRow } from '../store/build-store.js';

/** One build as the API shows it. */
export function buildView(b: BuildRow, artifacts: { filename: string; sha256: string; size: number }[] = []) {
  const started = b.started_at ? Date.parse(b.started_at) : null;
  const finished = b.finished_at ? Date.parse(b.finished_at) : null;
  return {
    id: b.id,
    pkgbase: b.pkgbase,
    arch: b.arch,
    version: b.version,
    state: b.state,
    reason: b.reason,
    packager: b.packager,
    project: b.project_path,
    ref: b.ref,
    sha: b.sha,
    commit: b.commit_sha,
    pass: b.pass,
    depends_on: b.depends_on,
    carried_from: b.reused_from,
    pipeline_id: b.pipeline_id,
    pipeline_url: b.pipeline_url,
    created_at: b.created_at,
    started_at: b.started_at,
    finished_at: b.finished_at,
    duration_seconds: started !== null && finished !== null ? Math.round((finished - started) / 1000) : null,
    // Reported after every build stage: failed builds have it too.
    resource_usage: b.resource_usage,
    artifacts,
  };
}

/** An iteration's summary. */
export function iterationView(i: IterationRow, builds: BuildRow[]) {
  const states: Record<string, number> = {};
  for (const b of builds) states[b.state] = (states[b.state] ?? 0) + 1;
  return { number: i.number, reason: i.reason, created_at: i.created_at, superseded_at: i.superseded_at, expired_at: i.expired_at, cycles: i.cycles, unresolved: i.unresolved, states };
}

/** A build set with its latest iteration's builds. */
export function namespaceView(store: BuildStore, ns: NamespaceRow, withBuilds = true) {
  const latest = store.latestIteration(ns.id);
  const builds = latest ? store.builds(latest.id) : [];
  return {
    name: ns.name,
    kind: ns.kind,
    status: ns.status,
    origin_changesets: ns.origin,
    packager: ns.packager,
    target_branch: ns.target_branch,
    merge_request: ns.mr_iid === null ? null : { project_id: ns.mr_project_id, iid: ns.mr_iid, note_id: ns.mr_note_id },
    created_at: ns.created_at,
    iteration: latest ? iterationView(latest, builds) : null,
    ...(withBuilds ? { builds: builds.map((b) => buildView(b, store.artifacts(b.id))) } : {}),
  };
}
