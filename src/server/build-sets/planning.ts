/**
 * Build sets made from the source index: created through the API, automatically on pushes, and for
 * merge requests; a new iteration whenever an origin's branch or a package the set builds changes.
 */
import { accountsForRecipe } from '../../core/build-state.js';
import { BUMP_BRANCH_PREFIX } from '../../core/bump/bump-request.js';
import { BuildSetError, checkBuildSetName, parseOrigin, type Origin } from '../../core/build-set/origin.js';
import type { Logger } from '../../common/log.js';
import type { BuildStore, NamespaceKind, NamespaceRow } from '../store/build-store.js';
import type { IndexedRecipe, RecipeTable, SourceIndex } from '../sources/source-index.js';
import type { BranchOverride } from '../store/bump-store.js';
import type { BuildSetEngine } from './engine.js';

export class BuildSets {
  /** The recipes a build set builds from another branch than its distribution branch (its open bump merge requests'). */
  branchOverrides: (namespaceId: number) => readonly BranchOverride[] = () => [];

  constructor(
    private readonly engine: BuildSetEngine,
    private readonly recipes: RecipeTable,
    private readonly index: SourceIndex,
    private readonly log: Logger,
  ) {}

  /** The store the engine keeps build sets in. */
  get store(): BuildStore {
    return this.engine.store;
  }

  /** Creates a build set and plans its first iteration. */
  async create(input: { name?: string | undefined; origins: string[]; packager: string | null; kind: NamespaceKind; targetBranch?: string; mergeRequest?: { projectId: number; iid: number } }): Promise<NamespaceRow> {
    const origins = input.origins.map(parseOrigin);
    if (origins.length === 0) throw new BuildSetError('no_origins', 'origin_changesets: give at least one pkgbase@ref');
    const name = input.name ?? `${origins[0]!.pkgbase}-${Date.now().toString(36)}`;
    checkBuildSetName(name);
    if (this.store.namespaceByName(name)) throw new BuildSetError('name_taken', `a build set named "${name}" exists already`);
    const recipes = await this.originRecipes(origins);
    // The distribution branch the builds target: the origin project's default branch, unless given (an MR's target).
    const first = origins[0]!.pkgbase;
    const targetBranch = input.targetBranch ?? this.recipes.getDefault(first)?.branch ?? recipes.get(first)!.branch;
    const ns = this.store.createNamespace({
      name, origin: input.origins, kind: input.kind, packager: input.packager, target_branch: targetBranch,
      mr_project_id: input.mergeRequest?.projectId ?? null, mr_iid: input.mergeRequest?.iid ?? null,
    });
    try {
      await this.newIteration(ns.id, 'created');
    } catch (error) {
      // A build set that cannot be planned is not kept half-made: the same request may be sent again.
      this.store.deleteNamespaceWithoutIterations(ns.id);
      throw error;
    }
    return this.store.namespaceById(ns.id)!;
  }

  /** Creates the build set `name`, or makes a new iteration of it with these origins when it exists. */
  async startOrIterate(name: string, origins: string[], packager: string | null, kind: NamespaceKind, extra: { targetBranch?: string; mergeRequest?: { projectId: number; iid: number } } = {}): Promise<NamespaceRow> {
    const existing = this.store.namespaceByName(name);
    if (!existing) return this.create({ name, origins, packager, kind, ...extra });
    origins.forEach(parseOrigin);
    this.store.updateNamespaceOrigin(existing.id, origins, packager);
    this.store.setNamespaceStatus(existing.id, 'active');
    await this.newIteration(existing.id, `new commits on ${origins.join(', ')}`);
    return this.store.namespaceById(existing.id)!;
  }

  /**
   * After a push of `pkgbases` on `branch`: every active build set with one of them as an origin on
   * that branch, or (for a default branch) building one of them, gets a new iteration, unless its latest
   * iteration already builds it at the commit `indexed` gives (pkgbase → recipe commit; a pkgbase not in
   * it, or no map, counts as changed). Returns the pkgbases that are origins of some build set, and the
   * build sets that got a new iteration.
   */
  async onRecipesChanged(pkgbases: string[], branch: string, isDefault: boolean, packager: string | null, indexed?: ReadonlyMap<string, string>): Promise<{ origins: Set<string>; advanced: string[] }> {
    const changed = new Set(pkgbases);
    const asOrigin = new Set<string>();
    const advanced: string[] = [];
    for (const ns of this.store.activeNamespaces()) {
      const latest = this.store.latestIteration(ns.id);
      const latestBuilds = latest ? this.store.builds(latest.id) : [];
      const accounted = new Set(latestBuilds.filter((b) => accountsForRecipe(b.state, true)).map((b) => `${b.pkgbase}@${b.sha}`));
      const news = new Set(pkgbases.filter((p) => indexed?.get(p) === undefined || !accounted.has(`${p}@${indexed.get(p)}`)));
      const origins = ns.origin.map(parseOrigin);
      const hit = origins.filter((o) => o.ref === branch && changed.has(o.pkgbase)).map((o) => o.pkgbase);
      hit.forEach((p) => asOrigin.add(p));
      const moved = hit.filter((p) => news.has(p));
      let reason: string | null = moved.length ? `new commits on ${moved.map((p) => `${p}@${branch}`).join(', ')}` : null;
      if (!reason && isDefault) {
        const dependency = latestBuilds.map((b) => b.pkgbase).find((p) => news.has(p) && !origins.some((o) => o.pkgbase === p));
        if (dependency) reason = `dependency ${dependency} changed on ${branch}`;
      }
      if (!reason) continue;
      if (moved.length && packager) this.store.updateNamespaceOrigin(ns.id, ns.origin, packager);
      try {
        await this.newIteration(ns.id, reason);
        advanced.push(ns.name);
      } catch (error) {
        this.log.warn({ namespace: ns.name, reason, error: (error as Error).message }, 'cannot plan the new iteration');
      }
    }
    return { origins: asOrigin, advanced };
  }

  /** The recipes of the origins, read from GitLab when the index has not seen that ref yet. */
  private async originRecipes(origins: Origin[]): Promise<Map<string, IndexedRecipe>> {
    const found = new Map<string, IndexedRecipe>();
    for (const origin of origins) {
      let recipe: IndexedRecipe | null | undefined = this.recipes.get(origin.pkgbase, origin.ref);
      if (!recipe) {
        const home = this.recipes.getDefault(origin.pkgbase) ?? this.recipes.defaults().find((r) => r.pkgbase === origin.pkgbase);
        if (!home) throw new BuildSetError('unknown_package', `${origin.pkgbase} is not in the source index; run "quarters index sync" or check the name`);
        recipe = await this.index.readAt(home.projectId, home.dir, origin.ref);
        if (!recipe || recipe.pkgbase !== origin.pkgbase) throw new BuildSetError('unknown_ref', `${origin.pkgbase}@${origin.ref}: no recipe of ${origin.pkgbase} at that ref`);
      }
      found.set(origin.pkgbase, recipe);
    }
    return found;
  }

  /** Has the planner build its dependency graphs of the current index (see BuildSetEngine.preparePlanner); returns how many recipes it holds. */
  preparePlanner(): number {
    const sources = this.recipes.defaults().map((r) => r.recipe);
    this.engine.preparePlanner(sources);
    return sources.length;
  }

  /**
   * The latest iteration's builds of a bump branch whose package is now planned from another commit with
   * the same files (the bump merged with a merge commit, GitLab's default merge method): the engine
   * carries them over, as it would at the same commit, rather than build the same recipe again.
   */
  private async mergedBumps(namespaceId: number, universe: ReadonlyMap<string, IndexedRecipe>): Promise<Set<number>> {
    const same = new Set<number>();
    const latest = this.store.latestIteration(namespaceId);
    if (!latest) return same;
    const compared = new Map<string, boolean>();
    for (const build of this.store.builds(latest.id)) {
      const recipe = universe.get(build.pkgbase);
      if (!build.ref.startsWith(BUMP_BRANCH_PREFIX) || !recipe || recipe.sha === build.sha || recipe.projectId !== build.project_id) continue;
      const key = `${build.project_id} ${recipe.dir} ${build.sha} ${recipe.sha}`;
      if (!compared.has(key)) compared.set(key, await this.index.sameFiles(build.project_id, recipe.dir, build.sha, recipe.sha));
      if (compared.get(key)) same.add(build.id);
    }
    return same;
  }

  /** Plans a new iteration of a build set from the current index (the engine cancels, carries over and dispatches). */
  newIteration(namespaceId: number, reason: string): Promise<void> {
    return this.engine.locked(namespaceId, async () => {
      const ns = this.store.namespaceById(namespaceId)!;
      const originRecipes = await this.originRecipes(ns.origin.map(parseOrigin));
      const universe = new Map(this.recipes.defaults().map((r) => [r.pkgbase, r]));
      for (const o of this.branchOverrides(namespaceId)) {
        const recipe = this.recipes.get(o.pkgbase, o.branch) ?? (await this.index.readAt(o.projectId, o.dir, o.branch));
        if (recipe?.pkgbase === o.pkgbase) universe.set(o.pkgbase, recipe);
        else this.log.warn({ namespace: ns.name, pkgbase: o.pkgbase, branch: o.branch }, 'the bump branch has no recipe of the package; building it from its distribution branch');
      }
      for (const [pkgbase, recipe] of originRecipes) universe.set(pkgbase, recipe);
      const sameInputs = await this.mergedBumps(namespaceId, universe);
      await this.engine.planIteration(ns, { recipes: universe, origins: [...originRecipes.keys()], reason, sameInputs });
      await this.engine.settle(ns.id);
    });
  }
}
