/**
 * Turning the planner's answer into the builds of a new iteration: one build per planned package and
 * architecture, dependencies as edges, and builds carried over from the previous iteration when their
 * inputs (commit, and the builds of their dependencies) did not change.
 */
import type { SourcePackage } from '../core/recipe/model.js';
import type { BuildRow, NewBuild } from './build-store.js';
import type { IndexedRecipe } from './source-index.js';

/** The part of the graph engine's plan (`planBuildSet`) an iteration is made from. */
export interface PlanLike {
  packages: { pkgbase: string; needs: string[] }[];
  cycles: { members: string[] }[];
  /** Dependencies of planned packages that nothing satisfies on the architecture. */
  unresolved?: { pkgbase: string; kind: string; clause: string }[];
}

/** The planner: the graph engine's `planBuildSet` in production. */
export type Planner = (universe: { flavour: SourcePackage['flavour']; sources: readonly SourcePackage[] }, options: { arch: string; origins: readonly string[] }) => PlanLike;

/** Build states whose work can be taken over by the next iteration when the inputs are the same. */
const CARRIED_STATES = new Set(['built', 'dispatched', 'building']);

const effectiveId = (b: BuildRow): number => b.reused_from ?? b.id;

/**
 * The builds of a new iteration for one architecture. `recipes` gives the recipe each planned pkgbase
 * is built from; `previous` are the builds of the previous iteration (all architectures).
 */
export function iterationBuilds(
  arch: string,
  plan: PlanLike,
  recipes: ReadonlyMap<string, IndexedRecipe>,
  previous: readonly BuildRow[],
  packager: string | null,
): NewBuild[] {
  const index = new Map(plan.packages.map((p, i) => [p.pkgbase, i]));
  const order = topologicalOrder(plan);
  const previousByName = new Map(previous.filter((b) => b.arch === arch).map((b) => [b.pkgbase, b]));
  const previousById = new Map(previous.map((b) => [b.id, b]));
  const carried = new Map<string, BuildRow>();
  const builds: NewBuild[] = [];
  const position = new Map<string, number>();

  for (const i of order) {
    const pkg = plan.packages[i]!;
    const recipe = recipes.get(pkg.pkgbase);
    if (!recipe) throw new Error(`no recipe for planned package ${pkg.pkgbase}`);
    const needs = pkg.needs.filter((n) => n !== pkg.pkgbase && index.has(n));
    const before = previousByName.get(pkg.pkgbase);
    if (before && CARRIED_STATES.has(before.state) && before.sha === recipe.sha && needs.every((n) => carried.has(n))) {
      const now = new Set(needs.map((n) => effectiveId(carried.get(n)!)));
      const then = new Set((JSON.parse(before.depends_on) as number[]).map((id) => previousById.get(id)).filter((b) => b !== undefined).map(effectiveId));
      if (now.size === then.size && [...now].every((id) => then.has(id))) carried.set(pkg.pkgbase, before);
    }
    position.set(pkg.pkgbase, builds.length);
    builds.push({
      pkgbase: pkg.pkgbase,
      arch,
      project_id: recipe.projectId,
      project_path: recipe.projectPath,
      ref: recipe.branch,
      sha: recipe.sha,
      version: recipe.recipe.version.text,
      dependsOn: [],
      input_key: recipe.sha,
      state: 'blocked',
      packager,
      ...(carried.has(pkg.pkgbase) ? { carried: carried.get(pkg.pkgbase)! } : {}),
    });
  }
  for (const build of builds) {
    const pkg = plan.packages[index.get(build.pkgbase)!]!;
    build.dependsOn = pkg.needs.filter((n) => n !== pkg.pkgbase && position.has(n)).map((n) => position.get(n)!);
  }
  return builds;
}

/** Plan packages in an order where every package comes after what it needs (cycle closing edges ignored). */
function topologicalOrder(plan: PlanLike): number[] {
  const index = new Map(plan.packages.map((p, i) => [p.pkgbase, i]));
  const state = new Uint8Array(plan.packages.length);
  const order: number[] = [];
  const visit = (i: number): void => {
    if (state[i] !== 0) return;
    state[i] = 1;
    for (const need of plan.packages[i]!.needs) {
      const j = index.get(need);
      if (j !== undefined && state[j] === 0) visit(j);
    }
    state[i] = 2;
    order.push(i);
  };
  plan.packages.forEach((_, i) => visit(i));
  return order;
}
