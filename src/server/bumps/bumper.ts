/**
 * Mass rebuilds with version bumps (`quarters ns bump`): for the packages a build set rebuilds without
 * their packager changing them, one branch, commit and merge request per repository that bumps their
 * release; the set's next iteration builds them from those branches. Every step looks for its result
 * in GitLab before making it, so a second request (after a failure, a crash, or just twice) finds what
 * the first made instead of making it again. A few repositories at a time, with backoff on 429 and 5xx.
 */
import { branchNameProblem, bumpBranch, bumpDescription, bumpedPackages, bumpTitle } from '../../core/bump/bump-request.js';
import { BumpError, bumpedFiles, bumpRecipe } from '../../core/bump/release-bump.js';
import { parseOrigin } from '../../core/build-set/origin.js';
import type { Flavour } from '../../core/recipe/model.js';
import type { Logger } from '../../common/log.js';
import type { BuildSets } from '../build-sets/planning.js';
import type { GitLabClient, MergeRequest } from '../gitlab/client.js';
import { GitLabApiError, GitLabUnavailableError } from '../gitlab/errors.js';
import { DEFAULT_RETRY_POLICY, nextDelayMs, type RetryPolicy } from '../gitlab/retry-policy.js';
import type { BuildStore, NamespaceRow } from '../store/build-store.js';
import type { BumpedPackage, BumpRepositoryRow, BumpRow, BumpStore } from '../store/bump-store.js';
import type { RecipeTable, SourceIndex } from '../sources/source-index.js';
import { inDir } from '../sources/recipe-files.js';
import { namespaceHref } from '../web/layout.js';

/** Why a bump cannot be requested; routes choose the HTTP status. */
export class BumpRefused extends Error {
  override name = 'BumpRefused';
  constructor(readonly code: 'nothing_to_bump' | 'bump_in_progress' | 'no_iteration' | 'not_active' | 'invalid_branch', message: string) {
    super(message);
  }
}

/** A bump as the API shows it. */
export interface BumpView extends Omit<BumpRow, 'id' | 'namespace_id'> {
  namespace: string;
  /** `running` while quarters works on it; `interrupted`: repositories are pending and nothing works on them (the set is not active; ask again). */
  state: 'running' | 'done' | 'interrupted';
  counts: Record<BumpRepositoryRow['state'], number>;
  repositories: {
    project: string;
    project_id: number;
    target_branch: string;
    state: BumpRepositoryRow['state'];
    error: string | null;
    packages: BumpedPackage[];
    commit: string | null;
    merge_request: { iid: number; url: string | null } | null;
  }[];
}

/** Repositories a bump works on at once, unless the settings say otherwise: a few, to stay well under GitLab's rate limits. */
export const BUMP_CONCURRENCY = 4;

export interface BumperSettings {
  flavour: Flavour;
  publicUrl: string;
  /** Repositories worked on at once (BUMP_CONCURRENCY). */
  concurrency?: number;
  /** The backoff between attempts at one repository (the GitLab client's own retries come first). */
  retry?: Partial<RetryPolicy>;
}

const isTransient = (error: unknown): boolean =>
  error instanceof GitLabUnavailableError || (error instanceof GitLabApiError && (error.status === 429 || error.status >= 500));

export class Bumper {
  /** The work under way per build set; a second request while it runs joins it. */
  private readonly running = new Map<number, Promise<void>>();
  private readonly policy: RetryPolicy;

  constructor(
    private readonly deps: { store: BuildStore; bumps: BumpStore; recipes: RecipeTable; index: SourceIndex; buildSets: BuildSets; gitlab: GitLabClient; log: Logger },
    private readonly settings: BumperSettings,
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...settings.retry };
  }

  /**
   * Starts a bump of the build set's latest iteration, or resumes its open one (failed repositories are
   * tried again; nothing done is done twice). Returns at once; the work goes on in the background.
   */
  request(ns: NamespaceRow, input: { reason: string; maintainer: string | null; actor: string }): BumpView {
    if (ns.status !== 'active') throw new BumpRefused('not_active', `build set "${ns.name}" is ${ns.status}: resume it first`);
    const { bumps } = this.deps;
    let bump = bumps.latest(ns.id);
    const open = bump && bumps.repositories(bump.id).some((r) => r.state === 'pending' || r.state === 'failed' || r.state === 'opened');
    if (bump && open) {
      if (bump.reason !== input.reason.trim()) {
        throw new BumpRefused('bump_in_progress', `build set "${ns.name}" has an open bump (iteration ${bump.iteration}, "${bump.reason}"): ask again with that reason to resume it, or merge or close its merge requests first`);
      }
      bumps.retryFailed(bump.id);
    } else {
      bump = this.start(ns, input);
    }
    this.run(ns, bump.id);
    return this.view(ns)!;
  }

  /** Goes on with the bumps a stop interrupted (repositories still pending), e.g. at start-up. */
  resumeInterrupted(): void {
    for (const bump of this.deps.bumps.withPending()) {
      const ns = this.deps.store.namespaceById(bump.namespace_id)!;
      if (ns.status !== 'active') continue;
      this.deps.log.info({ namespace: ns.name, iteration: bump.iteration }, 'resuming an interrupted bump');
      this.run(ns, bump.id);
    }
  }

  /** Starts the work on a bump unless the build set's is under way. */
  private run(ns: NamespaceRow, bumpId: number): void {
    if (this.running.has(ns.id)) return;
    const work = this.work(ns.id, bumpId)
      .catch((error: unknown) => this.deps.log.error({ namespace: ns.name, error: (error as Error).message }, 'bump stopped'))
      .finally(() => this.running.delete(ns.id));
    this.running.set(ns.id, work);
  }

  /** Records a new bump of the latest iteration: its rebuilt packages, grouped by repository. */
  private start(ns: NamespaceRow, input: { reason: string; maintainer: string | null; actor: string }): BumpRow {
    const { store, recipes } = this.deps;
    const iteration = store.latestIteration(ns.id);
    if (!iteration) throw new BumpRefused('no_iteration', `build set "${ns.name}" has no iteration to bump`);
    const previous = this.deps.bumps.latest(ns.id);
    if (previous?.iteration === iteration.number) {
      throw new BumpRefused('nothing_to_bump', `iteration ${iteration.number} of "${ns.name}" was bumped already and its merge requests are merged or closed; a new iteration can be bumped again`);
    }
    const branch = bumpBranch(ns.name, iteration.number);
    const problem = branchNameProblem(branch);
    if (problem) throw new BumpRefused('invalid_branch', `${problem}: the bump branch is named after the build set; bump a build set with another name`);
    const builds = store.builds(iteration.id);
    const pkgbases = bumpedPackages(builds, ns.origin.map((o) => parseOrigin(o).pkgbase));
    if (pkgbases.length === 0) throw new BumpRefused('nothing_to_bump', `build set "${ns.name}" rebuilds nothing its packagers did not change: only its origins are in it`);
    const byProject = new Map<number, { project_id: number; project_path: string; target_branch: string; packages: BumpedPackage[] }>();
    for (const pkgbase of pkgbases) {
      const build = builds.find((b) => b.pkgbase === pkgbase)!;
      const dir = recipes.getDefault(pkgbase)?.dir ?? recipes.get(pkgbase, build.ref)?.dir ?? '';
      const entry = byProject.get(build.project_id) ?? { project_id: build.project_id, project_path: build.project_path, target_branch: build.ref, packages: [] };
      entry.packages.push({ pkgbase, dir, from: null, to: null });
      byProject.set(build.project_id, entry);
    }
    const bump = this.deps.bumps.create(
      { namespace_id: ns.id, iteration: iteration.number, reason: input.reason.trim(), branch, maintainer: input.maintainer ?? ns.packager, actor: input.actor },
      [...byProject.values()],
    );
    this.deps.log.info({ namespace: ns.name, iteration: iteration.number, repositories: byProject.size, packages: pkgbases.length }, 'bump requested');
    return bump;
  }

  /** The latest bump of a build set, or null. */
  view(ns: NamespaceRow): BumpView | null {
    const bump = this.deps.bumps.latest(ns.id);
    if (!bump) return null;
    const repositories = this.deps.bumps.repositories(bump.id);
    const counts = { pending: 0, opened: 0, merged: 0, closed: 0, failed: 0 };
    for (const r of repositories) counts[r.state] += 1;
    return {
      namespace: ns.name, iteration: bump.iteration, reason: bump.reason, branch: bump.branch, maintainer: bump.maintainer, actor: bump.actor, created_at: bump.created_at,
      state: this.running.has(ns.id) ? 'running' : counts.pending > 0 ? 'interrupted' : 'done',
      counts,
      repositories: repositories.map((r) => ({
        project: r.project_path, project_id: r.project_id, target_branch: r.target_branch, state: r.state, error: r.error, packages: r.packages,
        commit: r.commit_sha, merge_request: r.mr_iid === null ? null : { iid: r.mr_iid, url: r.mr_url },
      })),
    };
  }

  /** Resolves when the build set's bump work (if any) is done; for tests and shutdown. */
  async idle(namespaceId?: number): Promise<void> {
    const work = namespaceId === undefined ? [...this.running.values()] : [this.running.get(namespaceId)];
    await Promise.all(work);
  }

  /** Works on the pending repositories, `concurrency` at a time, then plans the iteration that builds the bumps. */
  private async work(namespaceId: number, bumpId: number): Promise<void> {
    const bump = this.deps.bumps.get(bumpId)!;
    const pending = this.deps.bumps.repositories(bumpId).filter((r) => r.state === 'pending');
    let next = 0;
    const worker = async () => {
      while (next < pending.length) {
        const repository = pending[next++]!;
        await this.bumpRepository(bump, repository);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency ?? BUMP_CONCURRENCY, pending.length) }, worker));
    await this.planIfChanged(namespaceId, `bump: ${bump.reason}`);
  }

  /** Plans a new iteration when the builds of the latest one are not those the open bumps ask for. */
  private async planIfChanged(namespaceId: number, reason: string): Promise<void> {
    const { store, bumps, buildSets } = this.deps;
    const ns = store.namespaceById(namespaceId)!;
    if (ns.status !== 'active') return;
    const latest = store.latestIteration(namespaceId);
    const builds = latest ? store.builds(latest.id) : [];
    const bump = bumps.latest(namespaceId);
    const wanted = bump ? bumps.repositories(bump.id).filter((r) => r.state === 'opened' && r.commit_sha !== null) : [];
    const planned = wanted.every((r) => r.packages.every((p) => builds.some((b) => b.pkgbase === p.pkgbase && b.ref === bump!.branch && b.sha === r.commit_sha)));
    const stale = builds.some((b) => b.ref.startsWith('quarters/bump/') && !wanted.some((r) => r.project_id === b.project_id && b.sha === r.commit_sha));
    if (planned && !stale) return;
    await buildSets.newIteration(namespaceId, reason);
  }

  /** One repository: find or make its branch, commit and merge request; the outcome is recorded. */
  private async bumpRepository(bump: BumpRow, repository: BumpRepositoryRow): Promise<void> {
    const started = performance.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.openMergeRequest(bump, repository);
        return;
      } catch (error) {
        const delay = isTransient(error) ? nextDelayMs(this.policy, attempt, performance.now() - started, undefined, Math.random) : undefined;
        if (delay === undefined) {
          const message = error instanceof Error ? error.message : String(error);
          this.deps.bumps.update(bump.id, repository.project_id, { state: 'failed', error: message });
          this.deps.log.warn({ project: repository.project_path, branch: bump.branch, error: message }, 'bump failed; request the bump again to resume');
          if (!(error instanceof BumpError) && !(error instanceof GitLabApiError) && !(error instanceof GitLabUnavailableError)) throw error;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async openMergeRequest(bump: BumpRow, repository: BumpRepositoryRow): Promise<void> {
    const { gitlab, bumps, store } = this.deps;
    const project = repository.project_id;
    const found = (await gitlab.mergeRequestsFrom(project, bump.branch, repository.target_branch))[0];
    if (found) {
      this.record(bump, repository, found, found.sha ?? (await gitlab.branchHead(project, bump.branch)));
      return;
    }
    // The release change, read from the target branch now (also when the branch exists: the description names it).
    const base = await gitlab.branchHead(project, repository.target_branch);
    if (base === null) throw new BumpError(`${repository.project_path} has no branch ${repository.target_branch}`);
    const files: { path: string; content: string }[] = [];
    const packages: BumpedPackage[] = [];
    for (const p of repository.packages) {
      const read = new Map<string, string>();
      for (const path of bumpedFiles(this.flavour())) {
        const text = await gitlab.readFile(project, inDir(p.dir, path), base);
        if (text !== null) read.set(path, text);
      }
      try {
        const bumped = bumpRecipe(this.flavour(), read, { reason: bump.reason, maintainer: bump.maintainer, at: new Date() });
        files.push(...bumped.files.map((f) => ({ path: inDir(p.dir, f.path), content: f.content })));
        packages.push({ ...p, from: bumped.from, to: bumped.to });
      } catch (error) {
        if (error instanceof BumpError) throw new BumpError(`${p.pkgbase}: ${error.message}`);
        throw error;
      }
    }
    bumps.update(bump.id, project, { state: 'pending', packages });
    const title = bumpTitle(packages.map((p) => p.pkgbase), bump.reason);
    let head = await gitlab.branchHead(project, bump.branch);
    if (head === null) {
      const author = bump.maintainer ? /^(.+) <([^<>]+)>$/.exec(bump.maintainer) : null;
      const commit = await gitlab.createCommit(project, {
        branch: bump.branch, startSha: base, message: `${title}\n\nNo-change rebuild for build set ${this.nsName(bump)}.`, files,
        ...(author ? { author: { name: author[1]!, email: author[2]! } } : {}),
      });
      head = commit.sha;
    }
    bumps.update(bump.id, project, { state: 'pending', commit_sha: head });
    const ns = store.namespaceById(bump.namespace_id)!;
    const description = bumpDescription({
      reason: bump.reason, namespace: ns.name, iteration: bump.iteration, changes: packages.map((p) => ({ pkgbase: p.pkgbase, from: p.from!, to: p.to! })),
      buildSetUrl: `${this.settings.publicUrl.replace(/\/+$/, '')}${namespaceHref(ns.name)}`,
    });
    const created = await gitlab.createMergeRequest(project, { sourceBranch: bump.branch, targetBranch: repository.target_branch, title, description, removeSourceBranch: true });
    this.record(bump, repository, created, head);
  }

  /** Records what GitLab says of a bump's merge request. */
  private record(bump: BumpRow, repository: BumpRepositoryRow, mr: MergeRequest, head: string | null): void {
    const state = mr.state === 'opened' || mr.state === 'locked' ? 'opened' : mr.state;
    this.deps.bumps.update(bump.id, repository.project_id, { state, error: null, commit_sha: head, mr_iid: mr.iid, mr_url: mr.webUrl });
  }

  /**
   * A Merge Request Hook: when it is of a bump's merge request, records it and (merged or closed) plans
   * the build set again, and returns true; false for any other merge request.
   */
  async onMergeRequest(projectId: number, sourceBranch: string, event: { iid: number; url: string | null; state: string; action: string; head: string | null }): Promise<boolean> {
    const found = this.deps.bumps.byBranch(projectId, sourceBranch);
    if (!found) return false;
    const { bump, repository } = found;
    const ns = this.deps.store.namespaceById(bump.namespace_id)!;
    const finished = event.action === 'merge' || event.state === 'merged' ? 'merged' : event.action === 'close' || event.state === 'closed' ? 'closed' : null;
    if (!finished) {
      // Opened by the bump itself (or reopened): tracked already; a push to the branch is built from its new head.
      if (repository.state === 'closed' && event.action === 'reopen') this.deps.bumps.update(bump.id, projectId, { state: 'opened', mr_iid: event.iid, mr_url: event.url });
      const moved = event.head !== null && event.head !== repository.commit_sha && (repository.state === 'opened' || event.action === 'reopen');
      if (moved) this.deps.bumps.update(bump.id, projectId, { state: 'opened', commit_sha: event.head });
      if (moved || event.action === 'reopen') {
        for (const p of repository.packages) await this.deps.index.readAt(projectId, p.dir, bump.branch);
        await this.planIfChanged(ns.id, `bump merge request !${event.iid} of ${repository.project_path} changed`);
      }
      return true;
    }
    if (repository.state === finished) return true;
    this.deps.bumps.update(bump.id, projectId, { state: finished, mr_iid: event.iid, mr_url: event.url });
    this.deps.log.info({ namespace: ns.name, project: repository.project_path, mr: event.iid, state: finished }, 'bump merge request finished');
    if (finished === 'merged') {
      // The distribution branch has the bump now: read it at once rather than wait for the push's hook.
      for (const p of repository.packages) await this.deps.index.readAt(projectId, p.dir, repository.target_branch);
    }
    await this.planIfChanged(ns.id, `bump merge request !${event.iid} of ${repository.project_path} ${finished}`);
    return true;
  }

  private flavour(): Flavour {
    return this.settings.flavour;
  }

  private nsName(bump: BumpRow): string {
    return this.deps.store.namespaceById(bump.namespace_id)!.name;
  }
}
