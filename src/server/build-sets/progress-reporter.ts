/**
 * Tells GitLab how build sets are doing, where packagers already look: a commit status per
 * architecture on each origin's commit (`quarters/<arch>`), and the merge request's one note.
 *
 * The engine only says "this build set may have changed"; reports are coalesced so that a build set
 * is reported at most once per interval (20 s), and at once when it settles. Only what changed is
 * sent: a note whose text is the same is not edited, a status in the same state is not posted again.
 * GitLab itself is the memory of what was sent (the note's hidden marker, the commit's statuses), so a
 * restarted server reads it back instead of repeating it. A GitLab failure here never touches a
 * build: the report is tried again later, with backoff.
 */
import type { Logger } from '../../common/log.js';
import { archProgress, isSettled, progressDescription, progressNote, progressState, statusName, type ProgressBuild, type ProgressState, type SigningKeyRef } from '../../core/build-set/progress.js';
import { parseOrigin } from '../../core/build-set/origin.js';
import type { Flavour } from '../../core/recipe/model.js';
import { GitLabApiError } from '../gitlab/errors.js';
import type { GitLabClient } from '../gitlab/client.js';
import type { BuildRow, BuildStore, NamespaceRow } from '../store/build-store.js';
import { namespaceHref } from '../web/layout.js';

/** Time and timers, injectable so that tests step through the throttle without waiting. */
export interface ReportClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: ReportClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => {
    const timer = setTimeout(run, ms);
    // A pending report must not keep the process alive.
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ProgressReporterOptions {
  gitlab: GitLabClient;
  store: BuildStore;
  publicUrl: string;
  flavour: Flavour;
  /** The repositories' signing key (the note's install snippet imports it); null or absent: not signed. */
  signing?: SigningKeyRef | null;
  log: Logger;
  /** The least time between two reports of one build set, unless it settled (ms; default 20 s). */
  intervalMs?: number;
  /** The longest wait before trying a failed report again (ms; default 10 min). */
  maxBackoffMs?: number;
  clock?: ReportClock;
}

/** Build sets whose last activity is older than this are not reported again at start-up. */
const CATCH_UP_WINDOW_MS = 24 * 60 * 60 * 1000;

/** What the reporter keeps about one build set between reports. */
interface Entry {
  /** When the last report started (clock ms), 0 before the first. */
  reportedAt: number;
  /** Whether the build set was settled at the last report. */
  settled: boolean;
  /** A change found the build set unsettled since the last report started. */
  sawUnsettled: boolean;
  /** Something changed since the last report started. */
  dirty: boolean;
  timer: unknown;
  running: Promise<void> | null;
  failures: number;
  /** The note text GitLab has, as far as this process knows. */
  note: string | null;
}

export class ProgressReporter {
  private readonly entries = new Map<number, Entry>();
  /** The state each status has in GitLab as far as this process knows, by `project:sha:name`. */
  private readonly statuses = new Map<string, string>();
  private readonly clock: ReportClock;
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;
  private stopped = false;
  /** Each build set's origin commits (`project:sha:ref`), made on first use and kept up to date by `changed`. */
  private originIndex: Map<number, Set<string>> | null = null;

  constructor(private readonly options: ProgressReporterOptions) {
    this.clock = options.clock ?? realClock;
    this.intervalMs = options.intervalMs ?? 20_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10 * 60_000;
  }

  /** The build set may have changed (the engine's observer): reported when the interval allows, at once when it settled. Never throws. */
  changed(namespaceId: number): void {
    this.originIndex?.set(namespaceId, this.originKeys(namespaceId));
    if (this.stopped) return;
    const entry = this.entry(namespaceId);
    entry.dirty = true;
    if (entry.running) return;
    const settled = this.settled(namespaceId);
    if (!settled) entry.sawUnsettled = true;
    if (settled && (entry.sawUnsettled || !entry.settled)) {
      void this.start(namespaceId, entry);
      return;
    }
    this.schedule(namespaceId, entry, Math.max(0, entry.reportedAt + this.intervalMs - this.clock.now()));
  }

  /** Reports a build set now (a merge request was opened or got new commits); waits for it, never throws. */
  async reportNow(namespaceId: number): Promise<void> {
    const entry = this.entry(namespaceId);
    entry.dirty = true;
    while (entry.running) await entry.running;
    if (entry.dirty && !this.stopped) await this.start(namespaceId, entry);
  }

  /**
   * Whether the build's pipeline may carry quarters' commit statuses: GitLab makes a status a job of
   * the newest pipeline at its commit and branch, so any pipeline at a build set's origin commit (a
   * package's own, or in a tree repository any package's at that commit) may have one, whose state
   * then counts in the pipeline's status.
   */
  mayCarryStatuses(build: Pick<BuildRow, 'project_id' | 'sha' | 'commit_sha' | 'ref'>): boolean {
    if (!this.originIndex) {
      this.originIndex = new Map(this.options.store.listNamespaces().map((ns) => [ns.id, this.originKeys(ns.id)]));
    }
    const key = originKey({ projectId: build.project_id, sha: build.commit_sha ?? build.sha, ref: build.ref });
    for (const keys of this.originIndex.values()) if (keys.has(key)) return true;
    return false;
  }

  private originKeys(namespaceId: number): Set<string> {
    const { store } = this.options;
    const ns = store.namespaceById(namespaceId);
    const iteration = ns && ns.kind !== 'local' ? store.latestIteration(ns.id) : undefined;
    return new Set(iteration ? originCommits(ns!, store.builds(iteration.id)).map(originKey) : []);
  }

  /** After a start: every build set that may have changed while the server was down is reported again. */
  catchUp(): void {
    const since = this.clock.now() - CATCH_UP_WINDOW_MS;
    const { store } = this.options;
    for (const ns of store.listNamespaces()) {
      if (ns.kind === 'local') continue;
      const iteration = store.latestIteration(ns.id);
      if (!iteration) continue;
      const recent = [iteration.created_at, ...store.builds(iteration.id).map((b) => b.finished_at)].some((t) => t !== null && Date.parse(t) >= since);
      if (ns.status === 'active' || recent) this.changed(ns.id);
    }
  }

  /** Resolves when no report is being made (timers may still be waiting). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.entries.values()].flatMap((e) => (e.running ? [e.running] : []));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Cancels waiting reports and waits for the ones under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) {
      if (entry.timer !== null) this.clock.clearTimeout(entry.timer);
      entry.timer = null;
    }
    await this.idle();
  }

  private entry(namespaceId: number): Entry {
    let entry = this.entries.get(namespaceId);
    if (!entry) {
      entry = { reportedAt: 0, settled: false, sawUnsettled: false, dirty: false, timer: null, running: null, failures: 0, note: null };
      this.entries.set(namespaceId, entry);
    }
    return entry;
  }

  private schedule(namespaceId: number, entry: Entry, delayMs: number): void {
    if (entry.timer !== null || this.stopped) return;
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = null;
      if (!entry.running) void this.start(namespaceId, entry);
    }, delayMs);
  }

  private start(namespaceId: number, entry: Entry): Promise<void> {
    if (entry.timer !== null) this.clock.clearTimeout(entry.timer);
    entry.timer = null;
    entry.dirty = false;
    entry.sawUnsettled = false;
    entry.reportedAt = this.clock.now();
    const run = this.report(namespaceId, entry).then(
      () => {
        entry.failures = 0;
      },
      (error: unknown) => {
        entry.failures += 1;
        entry.dirty = true;
        // GitLab's errors name the route and status, never the token.
        this.options.log.warn({ namespace: namespaceId, attempt: entry.failures, error: (error as Error).message }, 'cannot report build set progress to GitLab; trying again later');
      },
    ).finally(() => {
      entry.running = null;
      if (!entry.dirty || this.stopped) return;
      if (entry.failures > 0) {
        this.schedule(namespaceId, entry, Math.min(this.intervalMs * 2 ** (entry.failures - 1), this.maxBackoffMs));
      } else {
        this.changed(namespaceId);
      }
    });
    entry.running = run;
    return run;
  }

  private settled(namespaceId: number): boolean {
    const iteration = this.options.store.latestIteration(namespaceId);
    return iteration !== undefined && archProgress(this.options.store.builds(iteration.id).map(progressBuild)).every(isSettled);
  }

  /** Sends what changed since the last report: the statuses that moved, and the note when its text did. */
  private async report(namespaceId: number, entry: Entry): Promise<void> {
    const { store, publicUrl } = this.options;
    const ns = store.namespaceById(namespaceId);
    const iteration = ns && store.latestIteration(ns.id);
    if (!ns || !iteration || ns.kind === 'local') return;
    const builds = store.builds(iteration.id);
    const progress = archProgress(builds.map(progressBuild));
    entry.settled = progress.every(isSettled);
    const base = publicUrl.replace(/\/+$/, '');
    const pageUrl = `${base}${namespaceHref(ns.name)}`;
    // A retired merge request's set is of no interest on its commits any more (they may be built by another set now).
    if (ns.status !== 'retired') {
      for (const target of originCommits(ns, builds)) {
        for (const p of progress) {
          await this.setStatus(target, statusName(p.arch), progressState(p), { targetUrl: pageUrl, description: progressDescription(p) });
        }
      }
    }
    if (ns.mr_project_id !== null && ns.mr_iid !== null) {
      const body = progressNote({
        namespace: ns.name, iteration: iteration.number, pageUrl, repositoryUrl: `${base}/repos/${ns.name}/latest`, flavour: this.options.flavour, signing: this.options.signing ?? null,
        builds: builds.map(progressBuild), stopped: ns.status !== 'active',
      });
      if (body === entry.note) return;
      const { note } = await this.options.gitlab.upsertMergeRequestNote(ns.mr_project_id, ns.mr_iid, `namespace:${ns.name}`, body);
      entry.note = body;
      if (ns.mr_note_id !== note.id) store.setNoteId(ns.id, note.id);
    }
  }

  /** Posts a status unless GitLab has it in that state already (asked once per commit after a start). */
  private async setStatus(target: OriginCommit, name: string, state: ProgressState, details: { targetUrl: string; description: string }): Promise<void> {
    const { gitlab } = this.options;
    const key = `${target.projectId}:${target.sha}:${name}`;
    if (!this.statuses.has(key)) {
      const known = await gitlab.commitStatuses(target.projectId, target.sha, { name });
      const latest = known.filter((s) => s.name === name).at(-1);
      if (latest) this.statuses.set(key, latest.status);
    }
    if (this.statuses.get(key) === state) return;
    try {
      await gitlab.setCommitStatus(target.projectId, target.sha, { state, name, ref: target.ref, ...details });
      // Old commits' entries go; a forgotten one is read back from GitLab when needed.
      if (this.statuses.size >= 50_000) this.statuses.clear();
      this.statuses.set(key, state);
    } catch (error) {
      // GitLab refused the move (someone else set the status meanwhile): read it again next time.
      if (error instanceof GitLabApiError && error.status === 400) this.statuses.delete(key);
      throw error;
    }
  }
}

/** A commit an origin of the build set was pushed as. */
interface OriginCommit {
  projectId: number;
  sha: string;
  ref: string;
}

const originKey = (c: OriginCommit): string => `${c.projectId}:${c.sha}:${c.ref}`;

/** The commits of the build set's origins (the merge request's head, the pushed commit), one each. */
function originCommits(ns: NamespaceRow, builds: readonly BuildRow[]): OriginCommit[] {
  const found = new Map<string, OriginCommit>();
  for (const origin of ns.origin.map(parseOrigin)) {
    const build = builds.find((b) => b.pkgbase === origin.pkgbase && b.ref === origin.ref);
    if (!build) continue;
    const sha = build.commit_sha ?? build.sha;
    found.set(`${build.project_id}:${sha}`, { projectId: build.project_id, sha, ref: build.ref });
  }
  return [...found.values()];
}

function progressBuild(b: BuildRow): ProgressBuild {
  return { pkgbase: b.pkgbase, arch: b.arch, pass: b.pass, state: b.state, reason: b.reason, reused: b.reused_from !== null, pipelineUrl: b.pipeline_url };
}
