/** Namespaces (build sets), their iterations and builds, as rows in SQLite. Every write is one transaction. */
import { dependantsOf, labelOf, type BuildNode, type BuildState } from '../../core/build-state.js';
import type { BuildProduct } from '../../core/build-set/build-products.js';
import type { Because, CycleFinding, NewBuild } from '../../core/build-set/iteration.js';
import { resourceUsageSchema, type ResourceUsageReport } from '../../core/resource-usage.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

export type { NewBuild };

/** `local`: made by `quarters build` from bundles on disk, never planned or dispatched by the server. */
export type NamespaceKind = 'api' | 'auto' | 'merge-request' | 'local';
export type NamespaceStatus = 'active' | 'cancelled' | 'retired';

export interface NamespaceRow {
  id: number;
  name: string;
  /** "pkgbase@ref" each. */
  origin: string[];
  kind: NamespaceKind;
  status: NamespaceStatus;
  packager: string | null;
  target_branch: string;
  mr_project_id: number | null;
  mr_iid: number | null;
  mr_note_id: number | null;
  created_at: string;
  /** When `status` last changed (null: never, or before it was recorded). */
  status_changed_at: string | null;
}

export interface IterationRow {
  id: number;
  namespace_id: number;
  number: number;
  reason: string;
  /** The dependency cycles of the plan, per architecture, with the edges cut to build them. */
  cycles: CycleFinding[];
  /** The planner's unresolved dependencies, per architecture. */
  unresolved: { arch: string; pkgbase: string; kind: string; clause: string }[];
  created_at: string;
  superseded_at: string | null;
  /** When retention expired it: its repository, the package files only it named and its logs are gone. */
  expired_at: string | null;
}

export interface BuildRow {
  id: number;
  iteration_id: number;
  pkgbase: string;
  arch: string;
  project_id: number;
  project_path: string;
  ref: string;
  sha: string;
  version: string;
  /** 1, or 2 for the second pass over a dependency cycle (`cycle_rebuild = "once"`). */
  pass: number;
  /** Build ids (same iteration) built before this one. */
  depends_on: number[];
  input_key: string;
  state: BuildState;
  reason: string | null;
  packager: string | null;
  reused_from: number | null;
  dispatch_started_at: string | null;
  /** The commit the pipeline runs at (the build's commit; in a tree repository, the branch head when dispatched). */
  commit_sha: string | null;
  /** What the executor reported after the build's stages (src/core/resource-usage.ts), failed builds too. */
  resource_usage: ResourceUsageReport | null;
  /** The packages the build may publish (its recipe's, as planned); null for builds planned before they were recorded. */
  products: BuildProduct[] | null;
  /** Why the build is in its set: the planner's first step back to an origin; null for an origin or a build planned before it was recorded. */
  because: Because | null;
  pipeline_id: number | null;
  pipeline_url: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const now = (): string => new Date().toISOString();

type Stored<T, K extends keyof T> = Omit<T, K> & Record<K, string | null>;

/** A row of `builds` as typed values. */
function buildOf(row: StoredBuild | undefined): BuildRow | undefined {
  if (!row) return undefined;
  const usage = row.resource_usage === null ? null : resourceUsageSchema.safeParse(JSON.parse(row.resource_usage));
  const products = row.products === null ? null : JSON.parse(row.products) as BuildProduct[];
  const because = row.because === null || row.because === undefined ? null : JSON.parse(row.because) as Because;
  return { ...row, depends_on: JSON.parse(row.depends_on ?? '[]') as number[], resource_usage: usage?.success ? usage.data : null, products, because };
}

type StoredBuild = Stored<BuildRow, 'depends_on' | 'resource_usage' | 'products' | 'because'>;

/** A build's state changed (or a new iteration was planned): what a live page is told. */
export type BuildChange = { kind: 'build'; buildId: number } | { kind: 'iteration'; namespaceId: number };

/** The planner's step, as stored: without the `from` the row already names. */
const becauseText = (b: Because | null | undefined): string | null =>
  b ? JSON.stringify({ to: b.to, kind: b.kind, binary: b.binary, clause: b.clause, ...(b.via !== undefined ? { via: b.via } : {}) }) : null;

/** What a scheduling pass reads of a build: its place in the graph (as propagation sees it) and its state. */
export type SchedulingBuild = Pick<BuildRow, 'id' | 'pkgbase' | 'arch' | 'pass' | 'state' | 'reason'> & BuildNode;

/** An iteration's builds as a scheduling pass sees them (see BuildStore.schedulingView). */
export interface SchedulingView {
  /** Oldest first, with the states as stored now: the store keeps them current as it writes. */
  builds: readonly SchedulingBuild[];
  byId: ReadonlyMap<number, SchedulingBuild>;
  /** Each build's dependants. */
  dependants: ReadonlyMap<number, readonly number[]>;
  /**
   * The builds whose state was written since the previous view of the iteration; null when the states
   * were read afresh (the first view, or another connection wrote to the database), so that no earlier pass can be relied on.
   */
  moved: number[] | null;
}

/** A kept view: the builds, and those written since it was last handed out (null until it first was). */
interface KeptView {
  builds: SchedulingBuild[];
  byId: Map<number, SchedulingBuild>;
  dependants: Map<number, number[]>;
  written: Set<number> | null;
}

/** How many iterations' builds schedulingView keeps. */
const KEPT_SHAPES = 16;

/** A build to add: as the planner made it, with the packages it may publish. */
export type PlannedBuild = NewBuild<BuildRow> & { products?: BuildProduct[] | null };

function namespaceOf(row: Stored<NamespaceRow, 'origin'> | undefined): NamespaceRow | undefined {
  return row && { ...row, origin: JSON.parse(row.origin ?? '[]') as string[] };
}

function iterationOf(row: Stored<IterationRow, 'cycles' | 'unresolved'> | undefined): IterationRow | undefined {
  return row && { ...row, cycles: JSON.parse(row.cycles ?? '[]') as CycleFinding[], unresolved: JSON.parse(row.unresolved ?? '[]') as IterationRow['unresolved'] };
}

/** A build of one recipe version, with where it belongs: what decides whether a push of that version needs a build. */
export interface RecipeBuild {
  id: number;
  state: BuildState;
  namespace: string;
  iterationId: number;
  iteration: number;
  /** Whether its iteration is the latest of its build set (not superseded). */
  live: boolean;
}

/** The build-set tables, as operations. */
export class BuildStore {
  /** The builds of recent iterations as scheduling passes see them, by iteration (see schedulingView). */
  private readonly views = new Map<number, KeptView>();
  /** `PRAGMA data_version` when the kept views were last known current: it changes when another connection commits. */
  private dataVersion: number | null = null;
  private setStateStatement: Statement | undefined;

  private readonly listeners = new Set<(change: BuildChange) => void>();
  private pending: BuildChange[] = [];

  constructor(readonly db: Db) {}

  /** Calls `listener` with every change, after the transaction that made it (a rolled-back one is told too: it reads what is stored). Returns the unsubscribe. */
  onChange(listener: (change: BuildChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues a change; they are told in a microtask, once the synchronous transaction that made them ended. */
  private changed(change: BuildChange): void {
    if (this.listeners.size === 0) return;
    if (this.pending.length === 0) {
      queueMicrotask(() => {
        const changes = this.pending;
        this.pending = [];
        for (const c of changes) for (const listener of this.listeners) listener(c);
      });
    }
    this.pending.push(change);
  }

  /** The build set a build belongs to. */
  namespaceOfBuild(build: Pick<BuildRow, 'iteration_id'>): NamespaceRow {
    return this.namespaceById(this.iterationById(build.iteration_id)!.namespace_id)!;
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (error) {
      // Rolled back: the kept views may hold states written inside it.
      this.views.clear();
      throw error;
    }
  }

  createNamespace(ns: Omit<NamespaceRow, 'id' | 'created_at' | 'status' | 'mr_note_id' | 'status_changed_at'>): NamespaceRow {
    const id = this.db
      .prepare(
        `INSERT INTO namespaces (name, origin, kind, packager, target_branch, mr_project_id, mr_iid, created_at)
         VALUES (@name, @origin, @kind, @packager, @target_branch, @mr_project_id, @mr_iid, @created_at)`,
      )
      .run({ ...ns, origin: JSON.stringify(ns.origin), created_at: now() }).lastInsertRowid;
    return this.namespaceById(Number(id))!;
  }

  /** Removes a build set that never got an iteration (its planning failed). */
  deleteNamespaceWithoutIterations(id: number): void {
    this.db.prepare('DELETE FROM namespaces WHERE id = ? AND NOT EXISTS (SELECT 1 FROM iterations WHERE namespace_id = ?)').run(id, id);
  }

  /**
   * Removes the build sets a crash left between recording them and planning their first iteration, so
   * that the create sent again makes them. Not local ones: `quarters build` may be making one. Only at
   * start-up, before any create runs. Returns their names.
   */
  deleteHalfMadeNamespaces(): string[] {
    const rows = this.db.prepare("SELECT id, name FROM namespaces n WHERE kind != 'local' AND NOT EXISTS (SELECT 1 FROM iterations WHERE namespace_id = n.id)").all() as { id: number; name: string }[];
    for (const row of rows) this.deleteNamespaceWithoutIterations(row.id);
    return rows.map((r) => r.name);
  }

  namespaceById(id: number): NamespaceRow | undefined {
    return namespaceOf(this.db.prepare('SELECT * FROM namespaces WHERE id = ?').get(id) as Stored<NamespaceRow, 'origin'> | undefined);
  }

  namespaceByName(name: string): NamespaceRow | undefined {
    return namespaceOf(this.db.prepare('SELECT * FROM namespaces WHERE name = ?').get(name) as Stored<NamespaceRow, 'origin'> | undefined);
  }

  namespaceForMergeRequest(projectId: number, iid: number): NamespaceRow | undefined {
    return namespaceOf(this.db.prepare('SELECT * FROM namespaces WHERE mr_project_id = ? AND mr_iid = ?').get(projectId, iid) as Stored<NamespaceRow, 'origin'> | undefined);
  }

  listNamespaces(): NamespaceRow[] {
    return (this.db.prepare('SELECT * FROM namespaces ORDER BY id').all() as Stored<NamespaceRow, 'origin'>[]).map((r) => namespaceOf(r)!);
  }

  /** Active build sets the server advances on pushes (local ones are `quarters build`'s alone). */
  activeNamespaces(): NamespaceRow[] {
    return (this.db.prepare("SELECT * FROM namespaces WHERE status = 'active' AND kind != 'local' ORDER BY id").all() as Stored<NamespaceRow, 'origin'>[]).map((r) => namespaceOf(r)!);
  }

  setNamespaceStatus(id: number, status: NamespaceStatus): void {
    this.db.prepare('UPDATE namespaces SET status = ?, status_changed_at = ? WHERE id = ? AND status != ?').run(status, now(), id, status);
  }

  updateNamespaceOrigin(id: number, origin: string[], packager: string | null): void {
    this.db.prepare('UPDATE namespaces SET origin = ?, packager = coalesce(?, packager) WHERE id = ?').run(JSON.stringify(origin), packager, id);
  }

  setNoteId(id: number, noteId: number): void {
    this.db.prepare('UPDATE namespaces SET mr_note_id = ? WHERE id = ?').run(noteId, id);
  }

  latestIteration(namespaceId: number): IterationRow | undefined {
    return iterationOf(this.db.prepare('SELECT * FROM iterations WHERE namespace_id = ? ORDER BY number DESC LIMIT 1').get(namespaceId) as Stored<IterationRow, 'cycles' | 'unresolved'> | undefined);
  }

  /** The latest iteration's id and number, without its findings (a build set's cycles can be thousands of names, read on every scheduling pass otherwise). */
  latestIterationRef(namespaceId: number): Pick<IterationRow, 'id' | 'number'> | undefined {
    return this.db.prepare('SELECT id, number FROM iterations WHERE namespace_id = ? ORDER BY number DESC LIMIT 1').get(namespaceId) as Pick<IterationRow, 'id' | 'number'> | undefined;
  }

  /** The build set an iteration belongs to, by id. */
  namespaceIdOfIteration(iterationId: number): number | undefined {
    return (this.db.prepare('SELECT namespace_id FROM iterations WHERE id = ?').get(iterationId) as { namespace_id: number } | undefined)?.namespace_id;
  }

  iteration(namespaceId: number, number: number): IterationRow | undefined {
    return iterationOf(this.db.prepare('SELECT * FROM iterations WHERE namespace_id = ? AND number = ?').get(namespaceId, number) as Stored<IterationRow, 'cycles' | 'unresolved'> | undefined);
  }

  iterationById(id: number): IterationRow | undefined {
    return iterationOf(this.db.prepare('SELECT * FROM iterations WHERE id = ?').get(id) as Stored<IterationRow, 'cycles' | 'unresolved'> | undefined);
  }

  iterations(namespaceId: number): IterationRow[] {
    return (this.db.prepare('SELECT * FROM iterations WHERE namespace_id = ? ORDER BY number').all(namespaceId) as Stored<IterationRow, 'cycles' | 'unresolved'>[]).map((r) => iterationOf(r)!);
  }

  /**
   * Adds an iteration with its builds, superseding the previous one: its unfinished builds become
   * superseded (those carried over hand their pipeline to their successor). Returns the new iteration.
   */
  addIteration(namespaceId: number, reason: string, findings: Pick<IterationRow, 'cycles' | 'unresolved'>, builds: PlannedBuild[], cancel: BuildRow[] = []): IterationRow {
    return this.transaction(() => {
      for (const b of cancel) this.requestCancellation(b.project_id, b.pipeline_id!);
      const previous = this.latestIteration(namespaceId);
      const number = (previous?.number ?? 0) + 1;
      const at = now();
      if (previous) this.db.prepare('UPDATE iterations SET superseded_at = ? WHERE id = ?').run(at, previous.id);
      const iterationId = Number(
        this.db
          .prepare('INSERT INTO iterations (namespace_id, number, reason, cycles, unresolved, created_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(namespaceId, number, reason, JSON.stringify(findings.cycles), JSON.stringify(findings.unresolved), at).lastInsertRowid,
      );
      const insert = this.db.prepare(
        `INSERT INTO builds (iteration_id, pkgbase, arch, pass, project_id, project_path, ref, sha, version, input_key, state, reason, packager,
                             reused_from, dispatch_started_at, commit_sha, resource_usage, products, because, pipeline_id, pipeline_url, created_at, started_at, finished_at)
         VALUES (@iteration_id, @pkgbase, @arch, @pass, @project_id, @project_path, @ref, @sha, @version, @input_key, @state, @reason, @packager,
                 @reused_from, @dispatch_started_at, @commit_sha, @resource_usage, @products, @because, @pipeline_id, @pipeline_url, @created_at, @started_at, @finished_at)`,
      );
      const ids: number[] = [];
      for (const b of builds) {
        const c = b.carried;
        const id = insert.run({
          iteration_id: iterationId, pkgbase: b.pkgbase, arch: b.arch, pass: b.pass, project_id: b.project_id, project_path: b.project_path,
          ref: b.ref, sha: b.sha, version: b.version, input_key: b.input_key, state: c?.state ?? b.state, reason: c?.reason ?? null,
          packager: c?.packager ?? b.packager, reused_from: c ? (c.reused_from ?? c.id) : null,
          dispatch_started_at: c?.dispatch_started_at ?? null, commit_sha: c?.commit_sha ?? null, resource_usage: c?.resource_usage ? JSON.stringify(c.resource_usage) : null,
          products: b.products ? JSON.stringify(b.products) : null, because: becauseText(b.because), pipeline_id: c?.pipeline_id ?? null, pipeline_url: c?.pipeline_url ?? null,
          created_at: at, started_at: c?.started_at ?? null, finished_at: c?.finished_at ?? null,
        }).lastInsertRowid;
        ids.push(Number(id));
      }
      const setDeps = this.db.prepare('UPDATE builds SET depends_on = ? WHERE id = ?');
      builds.forEach((b, i) => setDeps.run(JSON.stringify(b.dependsOn.map((d) => ids[d]!)), ids[i]!));
      if (previous) {
        this.db
          .prepare("UPDATE builds SET state = 'superseded', reason = ? WHERE iteration_id = ? AND state NOT IN ('built', 'superseded')")
          .run(`superseded by iteration ${number}`, previous.id);
        this.views.delete(previous.id);
      }
      this.changed({ kind: 'iteration', namespaceId });
      return this.iterationById(iterationId)!;
    });
  }

  builds(iterationId: number): BuildRow[] {
    return (this.db.prepare('SELECT * FROM builds WHERE iteration_id = ? ORDER BY id').all(iterationId) as StoredBuild[]).map((r) => buildOf(r)!);
  }

  /**
   * The builds of an iteration as a scheduling pass needs them, with the builds written since the
   * previous view. An iteration's builds and their dependencies are written once, with the iteration
   * (addIteration), and every state change goes through this store, so the view is read once and kept
   * current as the store writes: a pass then reads nothing and looks only at what moved, which is what
   * keeps a pass over thousands of builds short. It is read again when another connection (say
   * `quarters build`) committed in between, or a transaction was rolled back.
   */
  schedulingView(iterationId: number): SchedulingView {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version !== this.dataVersion) {
      this.views.clear();
      this.dataVersion = version;
    }
    let view = this.views.get(iterationId);
    if (!view) {
      const rows = this.db.prepare('SELECT id, pkgbase, arch, pass, state, reason, depends_on FROM builds WHERE iteration_id = ? ORDER BY id').all(iterationId) as Stored<Pick<BuildRow, 'id' | 'pkgbase' | 'arch' | 'pass' | 'state' | 'reason' | 'depends_on'>, 'depends_on'>[];
      const builds = rows.map(({ depends_on: dependsOn, ...row }) => ({ ...row, label: labelOf(row), dependsOn: JSON.parse(dependsOn ?? '[]') as number[] }));
      view = { builds, byId: new Map(builds.map((b) => [b.id, b])), dependants: dependantsOf(builds), written: null };
      if (this.views.size >= KEPT_SHAPES) this.views.delete(this.views.keys().next().value!);
      this.views.set(iterationId, view);
    }
    const moved = view.written ? [...view.written] : null;
    view.written = new Set();
    return { builds: view.builds, byId: view.byId, dependants: view.dependants, moved };
  }

  /** An iteration's builds with their dependencies and states, read afresh (for pages: unlike schedulingView, it leaves the scheduling pass's record of moved builds alone). */
  graphBuilds(iterationId: number): Pick<BuildRow, 'id' | 'pkgbase' | 'arch' | 'pass' | 'state' | 'reason' | 'depends_on'>[] {
    const rows = this.db.prepare('SELECT id, pkgbase, arch, pass, state, reason, depends_on FROM builds WHERE iteration_id = ? ORDER BY id').all(iterationId) as Stored<Pick<BuildRow, 'id' | 'pkgbase' | 'arch' | 'pass' | 'state' | 'reason' | 'depends_on'>, 'depends_on'>[];
    return rows.map((row) => ({ ...row, depends_on: JSON.parse(row.depends_on ?? '[]') as number[] }));
  }

  /** Says that the writes to these builds are taken into account already (by the pass that made them): the next view need not name them. */
  scheduled(iterationId: number, ids: readonly number[]): void {
    const written = this.views.get(iterationId)?.written;
    if (written) for (const id of ids) written.delete(id);
  }

  /** Keeps the views current after this connection wrote a build's state. */
  private wrote(id: number, state: BuildState, reason: string | null): void {
    for (const view of this.views.values()) {
      const build = view.byId.get(id);
      if (!build) continue;
      build.state = state;
      build.reason = reason;
      view.written?.add(id);
      return;
    }
  }

  build(id: number): BuildRow | undefined {
    return buildOf(this.db.prepare('SELECT * FROM builds WHERE id = ?').get(id) as StoredBuild | undefined);
  }

  /** The live build a pipeline belongs to: the newest non-superseded build with that pipeline. */
  buildForPipeline(projectId: number, pipelineId: number): BuildRow | undefined {
    return buildOf(this.db
      .prepare("SELECT * FROM builds WHERE project_id = ? AND pipeline_id = ? AND state != 'superseded' ORDER BY id DESC LIMIT 1")
      .get(projectId, pipelineId) as StoredBuild | undefined);
  }

  /** The live build that continues build `id` (itself when it is not superseded). */
  liveBuild(id: number): BuildRow | undefined {
    const build = this.build(id);
    if (!build || build.state !== 'superseded') return build;
    const root = build.reused_from ?? build.id;
    return buildOf(this.db
      .prepare("SELECT * FROM builds WHERE (reused_from = ? OR id = ?) AND state != 'superseded' ORDER BY id DESC LIMIT 1")
      .get(root, root) as StoredBuild | undefined);
  }

  /** Builds with a pipeline that is, as far as we know, still running. */
  inFlight(): BuildRow[] {
    return (this.db.prepare("SELECT * FROM builds WHERE state IN ('dispatched', 'building') ORDER BY id").all() as StoredBuild[]).map((r) => buildOf(r)!);
  }

  /** Sets a build's state, reason and timestamps. */
  setState(id: number, state: BuildState, reason: string | null): void {
    // Prepared once: a pass that marks thousands of dependants dependency-failed runs it for each.
    this.setStateStatement ??= this.db.prepare(
      `UPDATE builds SET state = @state, reason = @reason,
         started_at = CASE WHEN @state = 'building' THEN coalesce(started_at, @at) ELSE started_at END,
         finished_at = CASE WHEN @state IN ('built', 'failed', 'cancelled') THEN @at WHEN @state IN ('building', 'blocked', 'ready') THEN NULL ELSE finished_at END
       WHERE id = @id`,
    );
    this.setStateStatement.run({ id, state, reason, at: now() });
    this.wrote(id, state, reason);
    this.changed({ kind: 'build', buildId: id });
  }

  /** Records that a pipeline is about to be created for a build (before the call, so a crash can find it again). */
  markDispatching(id: number): void {
    this.db.prepare("UPDATE builds SET state = 'dispatched', reason = NULL, dispatch_started_at = ?, commit_sha = NULL WHERE id = ?").run(now(), id);
    this.wrote(id, 'dispatched', null);
    this.changed({ kind: 'build', buildId: id });
  }

  /** Records the commit the build's pipeline is created at (before the call). */
  setCommit(id: number, sha: string): void {
    this.db.prepare('UPDATE builds SET commit_sha = ? WHERE id = ?').run(sha, id);
  }

  /** Records the pipeline made for a build. */
  setPipeline(id: number, pipelineId: number, url: string | null): void {
    this.db.prepare('UPDATE builds SET pipeline_id = ?, pipeline_url = ? WHERE id = ?').run(pipelineId, url, id);
    this.changed({ kind: 'build', buildId: id });
  }

  /** Forgets the pipeline of a build about to be dispatched again (an API retry makes a new pipeline). */
  clearPipeline(id: number): void {
    this.db.prepare('UPDATE builds SET pipeline_id = NULL, pipeline_url = NULL, dispatch_started_at = NULL, commit_sha = NULL WHERE id = ?').run(id);
  }

  /** The artifacts uploaded for a build (or for the build it continues). */
  artifacts(buildId: number): { filename: string; sha256: string; size: number }[] {
    const build = this.build(buildId);
    const owner = build?.reused_from ?? buildId;
    return this.db.prepare('SELECT filename, sha256, size FROM artifacts WHERE build_id = ? ORDER BY filename').all(owner) as { filename: string; sha256: string; size: number }[];
  }

  /** The GitLab job that last uploaded for a build (or for the build it continues), if any did. */
  lastUploadJob(buildId: number): number | null {
    const owner = this.build(buildId)?.reused_from ?? buildId;
    const row = this.db.prepare('SELECT job_id FROM artifacts WHERE build_id = ? ORDER BY uploaded_at DESC, job_id DESC LIMIT 1').get(owner) as { job_id: number | null } | undefined;
    return row?.job_id ?? null;
  }

  /** Records the resource usage the executor reported for a build. */
  setResourceUsage(id: number, usage: ResourceUsageReport): void {
    this.db.prepare('UPDATE builds SET resource_usage = ? WHERE id = ?').run(JSON.stringify(usage), id);
  }

  /** Records an uploaded artifact (replacing an earlier upload of the same file). */
  putArtifact(buildId: number, a: { filename: string; sha256: string; size: number; jobId: number }): void {
    this.db
      .prepare(
        `INSERT INTO artifacts (build_id, filename, sha256, size, job_id, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (build_id, filename) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, job_id = excluded.job_id, uploaded_at = excluded.uploaded_at`,
      )
      .run(buildId, a.filename, a.sha256, a.size, a.jobId, now());
  }

  /** Records that a pipeline is to be cancelled (before GitLab is asked, so that a crash cannot forget it). */
  requestCancellation(projectId: number, pipelineId: number): void {
    this.db
      .prepare('INSERT INTO pipeline_cancellations (project_id, pipeline_id, requested_at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET requested_at = excluded.requested_at, done_at = NULL')
      .run(projectId, pipelineId, now());
  }

  /** Marks a cancellation carried out (or no longer wanted). */
  cancellationDone(projectId: number, pipelineId: number): void {
    this.db.prepare('UPDATE pipeline_cancellations SET done_at = ? WHERE project_id = ? AND pipeline_id = ?').run(now(), projectId, pipelineId);
  }

  /** Cancellations requested and not yet carried out. */
  pendingCancellations(): { project_id: number; pipeline_id: number }[] {
    return this.db.prepare('SELECT project_id, pipeline_id FROM pipeline_cancellations WHERE done_at IS NULL ORDER BY requested_at').all() as { project_id: number; pipeline_id: number }[];
  }

  /** The states of an iteration's builds of one architecture, in id order. */
  archStates(iterationId: number, arch: string): [number, BuildState, string | null][] {
    return this.db.prepare('SELECT id, state, reason FROM builds WHERE iteration_id = ? AND arch = ? ORDER BY id').raw().all(iterationId, arch) as [number, BuildState, string | null][];
  }

  /** The architectures an iteration builds for, sorted. */
  archsOf(iterationId: number): string[] {
    return (this.db.prepare('SELECT DISTINCT arch FROM builds WHERE iteration_id = ? ORDER BY arch').raw().all(iterationId) as [string][]).map((r) => r[0]);
  }

  /** An iteration's builds counted by architecture and state. */
  stateCounts(iterationId: number): { arch: string; state: BuildState; n: number }[] {
    return this.db.prepare('SELECT arch, state, count(*) AS n FROM builds WHERE iteration_id = ? GROUP BY arch, state ORDER BY arch').all(iterationId) as { arch: string; state: BuildState; n: number }[];
  }

  /** Builds of live iterations whose pkgbase contains `text` (at most `limit`), with their build set's name. */
  searchBuilds(text: string, limit: number): { id: number; pkgbase: string; arch: string; pass: number; state: BuildState; version: string; namespace: string }[] {
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.db
      .prepare(
        `SELECT b.id AS id, b.pkgbase AS pkgbase, b.arch AS arch, b.pass AS pass, b.state AS state, b.version AS version, n.name AS namespace
         FROM builds b JOIN iterations i ON i.id = b.iteration_id JOIN namespaces n ON n.id = i.namespace_id
         WHERE i.superseded_at IS NULL AND b.pkgbase LIKE ? ESCAPE '\\' ORDER BY b.pkgbase = ? DESC, b.pkgbase, n.id DESC LIMIT ?`,
      )
      .all(pattern, text, limit) as { id: number; pkgbase: string; arch: string; pass: number; state: BuildState; version: string; namespace: string }[];
  }

  /** The builds of an iteration that need build `id`, directly. */
  dependantsOf(build: Pick<BuildRow, 'id' | 'iteration_id'>): Pick<BuildRow, 'id' | 'pkgbase' | 'arch' | 'pass' | 'state'>[] {
    return this.graphBuilds(build.iteration_id).filter((b) => b.depends_on.includes(build.id));
  }

  /** Counts of builds by state over live iterations, for /metrics. */
  countByState(): { state: string; n: number }[] {
    return this.db
      .prepare('SELECT b.state AS state, count(*) AS n FROM builds b JOIN iterations i ON i.id = b.iteration_id WHERE i.superseded_at IS NULL GROUP BY b.state')
      .all() as { state: string; n: number }[];
  }

  /**
   * The builds of `pkgbase` at recipe commit `sha` made from `branch` in the server's build sets (local ones
   * aside), newest first. A merge request's builds are of its source branch: once merged, the target branch
   * builds the same commit in its own build set, whose repository outlives the merge request's. A bump's
   * builds (branch `quarters/bump/…`) count for the distribution branch: they are in the build set that asked
   * for the bump, and once its merge request is merged (fast-forward) the distribution branch has that commit
   * (merged with a merge commit, it has the same files at another: bumpBuildsOfPackage).
   */
  buildsOfRecipe(pkgbase: string, sha: string, branch: string): RecipeBuild[] {
    const rows = this.db
      .prepare(
        `SELECT b.id AS id, b.state AS state, n.name AS namespace, i.id AS iteration_id, i.number AS iteration, i.superseded_at IS NULL AS live
         FROM builds b JOIN iterations i ON i.id = b.iteration_id JOIN namespaces n ON n.id = i.namespace_id
         WHERE b.pkgbase = ? AND b.sha = ? AND (b.ref = ? OR b.ref LIKE 'quarters/bump/%') AND n.kind != 'local' ORDER BY b.id DESC`,
      )
      .all(pkgbase, sha, branch) as { id: number; state: BuildState; namespace: string; iteration_id: number; iteration: number; live: number }[];
    return rows.map((r) => ({ id: r.id, state: r.state, namespace: r.namespace, iterationId: r.iteration_id, iteration: r.iteration, live: r.live === 1 }));
  }

  /**
   * The builds of `pkgbase` from a bump branch (`quarters/bump/…`) of `projectId`, newest first, with the
   * commit each built: what a merge of the bump with a merge commit (a new commit, the same files) is built by.
   */
  bumpBuildsOfPackage(pkgbase: string, projectId: number): (RecipeBuild & { sha: string })[] {
    const rows = this.db
      .prepare(
        `SELECT b.id AS id, b.state AS state, b.sha AS sha, n.name AS namespace, i.id AS iteration_id, i.number AS iteration, i.superseded_at IS NULL AS live
         FROM builds b JOIN iterations i ON i.id = b.iteration_id JOIN namespaces n ON n.id = i.namespace_id
         WHERE b.pkgbase = ? AND b.project_id = ? AND b.ref LIKE 'quarters/bump/%' AND n.kind != 'local' ORDER BY b.id DESC`,
      )
      .all(pkgbase, projectId) as { id: number; state: BuildState; sha: string; namespace: string; iteration_id: number; iteration: number; live: number }[];
    return rows.map((r) => ({ id: r.id, state: r.state, sha: r.sha, namespace: r.namespace, iterationId: r.iteration_id, iteration: r.iteration, live: r.live === 1 }));
  }
}
