/**
 * Merge requests: the MR's source branch is planned as its own build set (`mr-<project>-<iid>`),
 * with one note on the MR (edited in place) giving the rebuild count per architecture. Merge or
 * close retires the set.
 */
import type { Logger } from '../../common/log.js';
import { BuildSetError } from '../../core/build-set/origin.js';
import type { BuildSetControl } from '../build-sets/control.js';
import type { BuildSets } from '../build-sets/planning.js';
import type { BuildStore, NamespaceRow } from '../store/build-store.js';
import type { GitLabClient } from '../gitlab/client.js';
import type { SourceIndex } from '../sources/source-index.js';
import type { MergeRequestHook } from './payloads.js';

/** The build set name of a merge request. */
export const mergeRequestNamespace = (projectId: number, iid: number): string => `mr-${projectId}-${iid}`;

/** The note's text: rebuild counts per architecture, and where the repository is. */
export function noteBody(ns: NamespaceRow, iteration: number, perArch: Map<string, number>, publicUrl: string): string {
  const lines = [...perArch.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([arch, n]) => `| ${arch} | ${n} |`);
  return [
    `**quarters** plans this merge request as build set \`${ns.name}\` (iteration ${iteration}).`,
    '',
    '| architecture | rebuilds |',
    '| --- | --- |',
    ...(lines.length ? lines : ['| (none) | 0 |']),
    '',
    `Repository: ${publicUrl.replace(/\/$/, '')}/repos/${ns.name}/latest/`,
  ].join('\n');
}

/** "Name <email>" of the MR's updater; the head commit's author when GitLab hides the user's email. */
export function packagerOfMergeRequest(hook: MergeRequestHook): string | null {
  const email = hook.user.email && hook.user.email !== '[REDACTED]' ? hook.user.email : null;
  if (email) return `${hook.user.name} <${email}>`;
  const author = hook.object_attributes.last_commit?.author;
  return author?.email ? `${author.name} <${author.email}>` : null;
}

export class MergeRequests {
  constructor(
    private readonly deps: { gitlab: GitLabClient; index: SourceIndex; store: BuildStore; buildSets: BuildSets; control: BuildSetControl; publicUrl: string; log: Logger },
  ) {}

  /** Handles a Merge Request Hook. */
  async handle(hook: MergeRequestHook): Promise<void> {
    const mr = hook.object_attributes;
    const action = mr.action ?? '';
    const name = mergeRequestNamespace(mr.target_project_id, mr.iid);
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
    await this.postNote(ns);
  }

  private async changedPaths(projectId: number, targetBranch: string, sha: string): Promise<string[] | 'all'> {
    const comparison = await this.deps.gitlab.compare(projectId, targetBranch, sha);
    return comparison.timedOut ? 'all' : comparison.changes.flatMap((c) => [c.oldPath, c.newPath]);
  }

  /** Creates or edits the MR's one note (the client finds it by its hidden marker, so a crash cannot make a second). */
  private async postNote(ns: NamespaceRow): Promise<void> {
    const iteration = this.deps.store.latestIteration(ns.id)!;
    const perArch = new Map<string, number>();
    for (const b of this.deps.store.builds(iteration.id)) if (b.reused_from === null || b.state !== 'built') perArch.set(b.arch, (perArch.get(b.arch) ?? 0) + 1);
    const body = noteBody(ns, iteration.number, perArch, this.deps.publicUrl);
    const { note } = await this.deps.gitlab.upsertMergeRequestNote(ns.mr_project_id!, ns.mr_iid!, `namespace:${ns.name}`, body);
    this.deps.store.setNoteId(ns.id, note.id);
  }
}
