/**
 * A push to a package repository: refresh the recipes it touched, at the branch head, then build what
 * no build accounts for yet. The decision rests on the builds quarters has (built, or on their way),
 * never on what this delivery changed in the index: a push whose commit was read already (by an index
 * sync, an earlier delivery of the same push, or an earlier attempt of the same event) is still built,
 * and never twice.
 */
import { accountsForRecipe } from '../../core/build-state.js';
import type { Logger } from '../../common/log.js';
import { BuildSetError } from '../../core/build-set/origin.js';
import type { BuildSets } from '../build-sets/planning.js';
import type { BuildStore, RecipeBuild } from '../store/build-store.js';
import type { GitLabClient, Project } from '../gitlab/client.js';
import { GitLabApiError } from '../gitlab/errors.js';
import { describeUnreadable, type IndexedRecipe, type RecipeTable, type RefreshResult, type SourceIndex } from '../sources/source-index.js';
import { ZERO_SHA, type PushHook } from './payloads.js';

/** "Name <email>" of whoever pushed; the newest commit's author when GitLab hides the pusher's email; null when neither is known. */
export function packagerOf(push: Pick<PushHook, 'user_name' | 'user_email' | 'commits'>): string | null {
  if (push.user_email && push.user_email !== '[REDACTED]') return `${push.user_name} <${push.user_email}>`;
  const author = push.commits.at(-1)?.author;
  return author?.email ? `${author.name} <${author.email}>` : null;
}

const pathsOf = (changes: { oldPath: string; newPath: string }[]): string[] => [...new Set(changes.flatMap((c) => [c.oldPath, c.newPath]))];

/** The paths a push changed, through the compare API ('all' when GitLab cannot tell). */
export async function changedPaths(gitlab: GitLabClient, push: PushHook, project: Project): Promise<string[] | 'all'> {
  if (push.before === ZERO_SHA) {
    // A new branch: what differs from the default branch (or everything, when there is none to compare with).
    if (!project.defaultBranch || push.ref === `refs/heads/${project.defaultBranch}`) return 'all';
    const comparison = await gitlab.compare(project.id, project.defaultBranch, push.after);
    return comparison.timedOut ? 'all' : pathsOf(comparison.changes);
  }
  // The direct difference between the old head and the new one. The hook's commits[] lists at most 20
  // commits, and after a force push only the new history since the merge base: neither it nor a
  // merge-base compare shows what the discarded commits had changed, which the index still holds.
  try {
    const comparison = await gitlab.compare(project.id, push.before, push.after, { straight: true });
    return comparison.timedOut ? 'all' : pathsOf(comparison.changes);
  } catch (error) {
    // The old head is gone (pruned after a force push): every recipe is read again.
    if (error instanceof GitLabApiError && error.status === 404) return 'all';
    throw error;
  }
}

/** The build that accounts for a recipe version (built in any iteration, or on its way in a live one), if any. */
export function accountingBuild(store: BuildStore, recipe: Pick<IndexedRecipe, 'pkgbase' | 'sha' | 'branch'>): RecipeBuild | undefined {
  return store.buildsOfRecipe(recipe.pkgbase, recipe.sha, recipe.branch).find((b) => accountsForRecipe(b.state, b.live));
}

/**
 * The build of a bump branch that accounts for a distribution branch's recipe at another commit with the
 * same files (the bump merged with a merge commit), if any; with the commit it built.
 */
async function mergedBumpBuild(store: BuildStore, index: SourceIndex, recipe: IndexedRecipe): Promise<(RecipeBuild & { sha: string }) | undefined> {
  // Every iteration since the bump has rows of its build at the same commit: one compare per commit.
  const compared = new Map<string, boolean>();
  for (const build of store.bumpBuildsOfPackage(recipe.pkgbase, recipe.projectId)) {
    if (!accountsForRecipe(build.state, build.live)) continue;
    if (!compared.has(build.sha)) compared.set(build.sha, await index.sameFiles(recipe.projectId, recipe.dir, build.sha, recipe.sha));
    if (compared.get(build.sha)) return build;
  }
  return undefined;
}

export interface PushSettings {
  autoRebuild: boolean;
}

export interface PushDeps {
  gitlab: GitLabClient;
  index: SourceIndex;
  recipes: RecipeTable;
  buildSets: BuildSets;
  settings: PushSettings;
  log: Logger;
}

/** Handles a Push Hook. */
export async function handlePush(push: PushHook, deps: PushDeps): Promise<void> {
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
  const at = { project: project.path, branch, after: push.after };
  const paths = await changedPaths(deps.gitlab, push, project);
  // Read at the branch's head: when this event is processed late (a retry after a failure), a newer
  // push may have been indexed already, and reading at this push's own commit would undo it.
  const head = await deps.index.commitOf(project.id, branch);
  if (!head) {
    deps.log.info({ ...at, why: `${branch} no longer exists` }, 'push builds nothing');
    return;
  }
  const result = await deps.index.refresh(project, branch, head, paths);
  deps.log.info({ ...at, head, updated: result.updated.length, removed: result.removed.length, current: result.current.length }, 'push indexed');

  const isDefault = branch === project.defaultBranch;
  const packager = packagerOf(push);
  const store = deps.buildSets.store;
  // Looked up before any build set moves, so that what this push plans cannot count as built already.
  const accounted = new Map(result.current.map((r) => [r.pkgbase, accountingBuild(store, r)]));
  // A bump merged with a merge commit: its build accounts for the new commit, and build sets that build the
  // bump's commit count it as that one.
  const builtAs = new Map(result.current.map((r) => [r.pkgbase, r.sha]));
  for (const r of isDefault ? result.current : []) {
    if (accounted.get(r.pkgbase)) continue;
    const bump = await mergedBumpBuild(store, deps.index, r);
    if (!bump) continue;
    accounted.set(r.pkgbase, bump);
    builtAs.set(r.pkgbase, bump.sha);
  }
  const touched = [...result.current.map((r) => r.pkgbase), ...result.removed.map((r) => r.pkgbase)];
  const { origins, advanced } = touched.length
    ? await deps.buildSets.onRecipesChanged(touched, branch, isDefault, packager, builtAs)
    : { origins: new Set<string>(), advanced: [] };
  // A build set with the package as an origin rebuilds it; unless it could not be planned (an origin of
  // it is gone, say), and then the automatic build set does.
  const fresh = isDefault && deps.settings.autoRebuild
    ? result.current.filter((r) => !accounted.get(r.pkgbase) && !(origins.has(r.pkgbase) && accountingBuild(store, r))).map((r) => r.pkgbase)
    : [];
  const started = fresh.length ? await startAutoRebuild(fresh, branch, push, packager, deps) : false;
  if (advanced.length === 0 && !started) {
    deps.log.info({ ...at, why: whyNothing(result, accounted, origins, { branch, project, autoRebuild: deps.settings.autoRebuild }) }, 'push builds nothing');
  }
}

/** Makes or advances the automatic build set of `pkgbases`; false when it cannot be planned. */
async function startAutoRebuild(pkgbases: string[], branch: string, push: PushHook, packager: string | null, deps: PushDeps): Promise<boolean> {
  const name = pkgbases.length === 1 ? `auto-${pkgbases[0]}` : `auto-${push.after.slice(0, 12)}`;
  try {
    await deps.buildSets.startOrIterate(name, pkgbases.map((p) => `${p}@${branch}`), packager, 'auto');
    return true;
  } catch (error) {
    // A push that cannot be planned (say, a package not built on any configured architecture) is not retried.
    if (!(error instanceof BuildSetError)) throw error;
    deps.log.warn({ namespace: name, error: error.message }, 'cannot plan the automatic rebuild');
    return false;
  }
}

/** Why a push built nothing, one clause per recipe it touched. */
function whyNothing(
  result: RefreshResult,
  accounted: ReadonlyMap<string, RecipeBuild | undefined>,
  origins: ReadonlySet<string>,
  context: { branch: string; project: Project; autoRebuild: boolean },
): string {
  const { branch, project } = context;
  const clauses = result.current.map((r) => {
    const build = accounted.get(r.pkgbase);
    if (build) return `${r.pkgbase}@${r.sha.slice(0, 12)} is ${build.state} in ${build.namespace} iteration ${build.iteration}`;
    const automatic = branch === project.defaultBranch && context.autoRebuild;
    if (origins.has(r.pkgbase) && !automatic) return `${r.pkgbase}@${branch}: the build sets with it as origin could not be planned`;
    if (branch !== project.defaultBranch) return `${branch} is not the default branch (${project.defaultBranch ?? 'none'}), and no build set has ${r.pkgbase}@${branch} as origin`;
    if (!context.autoRebuild) return `auto_rebuild is off, and no build set builds ${r.pkgbase}`;
    return `${r.pkgbase}: the automatic rebuild could not be planned`;
  });
  clauses.push(...result.removed.map((r) => `${r.pkgbase} is no longer on ${branch}`));
  clauses.push(...result.unreadable.map((u) => `unreadable: ${describeUnreadable(u)}`));
  return clauses.length ? clauses.join('; ') : 'the push changed no recipe';
}
