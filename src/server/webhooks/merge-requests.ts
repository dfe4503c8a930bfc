/**
 * Merge requests: the MR's source branch is planned as its own build set (`mr-<project>-<iid>`),
 * with one note on the MR (edited in place as the set progresses, see ProgressReporter). Merge or
 * close retires the set. A bump's merge request (`quarters ns bump`) is the bump's (Bumper.onMergeRequest):
 * the build set that asked for it builds it.
 */
import type { Logger } from '../../common/log.js';
import { BuildSetError } from '../../core/build-set/origin.js';
import type { BuildSetControl } from '../build-sets/control.js';
import type { Bumper } from '../bumps/bumper.js';
import type { BuildSets } from '../build-sets/planning.js';
import type { ProgressReporter } from '../build-sets/progress-reporter.js';
import type { BuildStore, NamespaceRow } from '../store/build-store.js';
import type { GitLabClient } from '../gitlab/client.js';
import type { SourceIndex } from '../sources/source-index.js';
import type { MergeRequestHook } from './payloads.js';

/** The build set name of a merge request. */
export const mergeRequestNamespace = (projectId: number, iid: number): string => `mr-${projectId}-${iid}`;

/** "Name <email>" of the MR's updater; the head commit's author when GitLab hides the user's email. */
export function packagerOfMergeRequest(hook: MergeRequestHook): string | null {
  const email = hook.user.email && hook.user.email !== '[REDACTED]' ? hook.user.email : null;
  if (email) return `${hook.user.name} <${email}>`;
  const author = hook.object_attributes.last_commit?.author;
  return author?.email ? `${author.name} <${author.email}>` : null;
}

export class MergeRequests {
  constructor(
    private readonly deps: { gitlab: GitLabClient; index: SourceIndex; store: BuildStore; buildSets: BuildSets; control: BuildSetControl; progress: ProgressReporter; bumper?: Bumper; log: Logger },
  ) {}

  /** Handles a Merge Request Hook. */
  async handle(hook: MergeRequestHook): Promise<void> {
    const mr = hook.object_attributes;
    const action = mr.action ?? '';
    const name = mergeRequestNamespace(mr.target_project_id, mr.iid);
    // A bump's merge request is built in the build set that asked for it, not as a set of its own.
    const bump = { iid: mr.iid, url: mr.url ?? null, state: mr.state, action, head: mr.last_commit?.id ?? null };
    if (mr.source_project_id === mr.target_project_id && (await this.deps.bumper?.onMergeRequest(mr.target_project_id, mr.source_branch, bump))) return;
    if (action === 'merge' || action === 'close' || mr.state === 'merged' || mr.state === 'closed') {
      const ns = this.deps.store.namespaceByName(name);
      if (ns && ns.status !== 'retired') await this.deps.control.cancel(ns.id, 'retired');
      return;
    }
    const codeChanged = action === 'open' || action === 'reopen' || (action === 'update' && mr.oldrev !== undefined);
    if (!codeChanged) return;
    const source = await this.deps.gitlab.getProject(mr.source_project_id);
    if (!this.deps.index.holds(source)) {
      this.deps.log.info({ mr: name, project: source.path }, 'merge request from a project outside the package repositories; ignored');
      return;
    }
    const sha = mr.last_commit?.id ?? (await this.deps.gitlab.getCommit(source.id, mr.source_branch)).sha;
    const paths = source.defaultBranch ? await this.changedPaths(source.id, mr.target_branch, sha) : 'all';
    const refreshed = await this.deps.index.refresh(source, mr.source_branch, sha, paths);
    // What the MR changes, read now or already (a push to the source branch is usually processed before the MR's hook).
    const origins = refreshed.current.map((r) => `${r.pkgbase}@${mr.source_branch}`);
    if (origins.length === 0) {
      this.deps.log.info({ mr: name }, 'merge request changes no recipe');
      return;
    }
    const packager = packagerOfMergeRequest(hook);
    let ns: NamespaceRow;
    try {
      ns = await this.deps.buildSets.startOrIterate(name, origins, packager, 'merge-request', {
        targetBranch: mr.target_branch,
        mergeRequest: { projectId: mr.target_project_id, iid: mr.iid },
      });
    } catch (error) {
      if (error instanceof BuildSetError) {
        this.deps.log.warn({ mr: name, error: error.message }, 'cannot plan the merge request');
        return;
      }
      throw error;
    }
    // The packager just pushed: the note and statuses say at once what this iteration rebuilds.
    await this.deps.progress.reportNow(ns.id);
  }

  private async changedPaths(projectId: number, targetBranch: string, sha: string): Promise<string[] | 'all'> {
    const comparison = await this.deps.gitlab.compare(projectId, targetBranch, sha);
    return comparison.timedOut ? 'all' : comparison.changes.flatMap((c) => [c.oldPath, c.newPath]);
  }
}
