/**
 * A push to a package repository: refresh exactly the recipes it changed, at the pushed commit, then
 * start or advance the build sets it concerns.
 */
import type { Logger } from '../common/log.js';
import { BuildSetError } from '../core/build-set/origin.js';
import type { BuildSets } from './build-sets/planning.js';
import type { GitLabClient, Project } from './gitlab/client.js';
import type { RecipeTable, SourceIndex } from './source-index.js';
import { ZERO_SHA, type PushHook } from './webhooks/payloads.js';

/** The newest commits a Push Hook lists; a longer push must be read through the compare API. */
export const PUSH_HOOK_COMMITS = 20;

/** "Name <email>" of whoever pushed; the newest commit's author when GitLab hides the pusher's email; null when neither is known. */
export function packagerOf(push: Pick<PushHook, 'user_name' | 'user_email' | 'commits'>): string | null {
  if (push.user_email && push.user_email !== '[REDACTED]') return `${push.user_name} <${push.user_email}>`;
  const author = push.commits.at(-1)?.author;
  return author?.email ? `${author.name} <${author.email}>` : null;
}

/** The paths a push touched: from the hook when it lists every commit, else through the compare API. */
export async function changedPaths(gitlab: GitLabClient, push: PushHook, project: Project): Promise<string[] | 'all'> {
  if (push.before === ZERO_SHA) {
    // A new branch: what differs from the default branch (or everything, when there is none to compare with).
    if (!project.defaultBranch || push.ref === `refs/heads/${project.defaultBranch}`) return 'all';
    const comparison = await gitlab.compare(project.id, project.defaultBranch, push.after);
    return comparison.timedOut ? 'all' : comparison.changes.flatMap((c) => [c.oldPath, c.newPath]);
  }
  if (push.total_commits_count > PUSH_HOOK_COMMITS || push.commits.length < push.total_commits_count) {
    const comparison = await gitlab.compare(project.id, push.before, push.after);
    return comparison.timedOut ? 'all' : [...new Set(comparison.changes.flatMap((c) => [c.oldPath, c.newPath]))];
  }
  return [...new Set(push.commits.flatMap((c) => [...c.added, ...c.modified, ...c.removed]))];
}

export interface PushSettings {
  autoRebuild: boolean;
}

/** Handles a Push Hook. */
export async function handlePush(
  push: PushHook,
  deps: { gitlab: GitLabClient; index: SourceIndex; recipes: RecipeTable; buildSets: BuildSets; settings: PushSettings; log: Logger },
): Promise<void> {
  if (!push.ref.startsWith('refs/heads/')) return;
  const branch = push.ref.slice('refs/heads/'.length);
  const project = await deps.gitlab.getProject(push.project_id);
  if (!deps.index.holds(project)) {
    deps.log.info({ project: project.path }, 'push to a project outside the package repositories; ignored');
    return;
  }
  if (push.after === ZERO_SHA) {
    const removed = deps.recipes.removeBranch(project.id, branch);
    deps.log.info({ project: project.path, branch, removed }, 'branch deleted; its recipes forgotten');
    return;
  }
  const paths = await changedPaths(deps.gitlab, push, project);
  // Read at the branch's head: when this event is processed late (a retry after a failure), a newer
  // push may have been indexed already, and reading at this push's own commit would undo it.
  const head = await deps.index.commitOf(project.id, branch);
  if (!head) return;
  const result = await deps.index.refresh(project, branch, head, paths);
  const changed = [...result.updated.map((r) => r.pkgbase), ...result.removed.flatMap((r) => (r.pkgbase ? [r.pkgbase] : []))];
  deps.log.info({ project: project.path, branch, after: push.after, updated: result.updated.length, removed: result.removed.length }, 'push indexed');
  if (changed.length === 0) return;
  const packager = packagerOf(push);
  const isDefault = branch === project.defaultBranch;
  const advanced = await deps.buildSets.onRecipesChanged(changed, branch, isDefault, packager);
  if (!isDefault || !deps.settings.autoRebuild) return;
  const fresh = result.updated.map((r) => r.pkgbase).filter((p) => !advanced.has(p));
  if (fresh.length === 0) return;
  const name = fresh.length === 1 ? `auto-${fresh[0]}` : `auto-${push.after.slice(0, 12)}`;
  try {
    await deps.buildSets.startOrIterate(name, fresh.map((p) => `${p}@${branch}`), packager, 'auto');
  } catch (error) {
    // A push that cannot be planned (say, a package not built on any configured architecture) is not retried.
    if (!(error instanceof BuildSetError)) throw error;
    deps.log.warn({ namespace: name, error: error.message }, 'cannot plan the automatic rebuild');
  }
}
