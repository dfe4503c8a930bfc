/**
 * Turning the planner's answer into the builds of a new iteration: one build per planned package and
 * architecture, dependencies as edges, the closing edges of dependency cycles cut (the members build
 * in the planner's order, those dependencies satisfied from the distribution), optionally a second
 * pass over each cycle, and builds carried over from the previous iteration when their inputs
 * (commit, and the builds of their dependencies) did not change.
 */
import type { BuildState } from '../build-state.js';

/** The part of the graph engine's plan (`planBuildSet`) an iteration is made from. */
export interface PlanLike {
  packages: readonly { pkgbase: string; needs: readonly string[]; because?: Because | null }[];
  cycles: readonly { members: readonly string[]; buildOrder: readonly string[]; closingEdges: readonly { from: string; to: string }[] }[];
  /** Dependencies of planned packages that nothing satisfies on the architecture. */
  unresolved?: readonly { pkgbase: string; kind: string; clause: string }[];
}

/**
 * Why a package is in a build set: the first step of a shortest chain of needs back to an origin
 * ("pkgbase needs binary of `to`, by `clause`"); the next step is `to`'s own. Null for an origin.
 */
export interface Because {
  to: string;
  /** The kind of dependency: build, check, run (dependency-graph.ts's NeedKind). */
  kind: string;
  binary: string;
  clause: string;
  /** For run dependencies: the binary of the package whose dependency it is. */
  via?: string;
}

/**
 * How a dependency cycle is built. `none`: once, in the planner's order, the closing edges satisfied
 * from the distribution. `once`: then every member again, against the others' new packages (how
 * distributions bootstrap a cycle); dependants outside the cycle wait for the second pass.
 */
export type CycleRebuild = 'none' | 'once';
export const CYCLE_REBUILDS: readonly CycleRebuild[] = ['none', 'once'];

/** What a cycle of an iteration is recorded as: its members, the order they build in, the edges that were cut. */
export interface CycleFinding {
  arch: string;
  members: string[];
  build_order: string[];
  /** "from needs to", left to the distribution's packages in the first pass. */
  cut_edges: { from: string; to: string }[];
  rebuild: CycleRebuild;
}

/** Where a planned package's recipe is. */
export interface PlannedRecipe {
  pkgbase: string;
  projectId: number;
  projectPath: string;
  branch: string;
  sha: string;
  version: string;
}

/** A build of the previous iteration, as carry-over needs it. */
export interface PreviousBuild {
  id: number;
  pkgbase: string;
  arch: string;
  /** 1, or 2 for the second pass over a cycle. */
  pass: number;
  state: BuildState;
  sha: string;
  depends_on: readonly number[];
  reused_from: number | null;
}

/** A build to insert into a new iteration. `dependsOn` are indexes into the same list. */
export interface NewBuild<C extends PreviousBuild = PreviousBuild> {
  pkgbase: string;
  arch: string;
  pass: number;
  project_id: number;
  project_path: string;
  ref: string;
  sha: string;
  version: string;
  dependsOn: number[];
  input_key: string;
  state: BuildState;
  packager: string | null;
  /** Why the package is in the set (null for an origin; undefined when the planner did not say). */
  because?: Because | null;
  /** A build of an earlier iteration this one continues (same inputs): its state and work are taken over. */
  carried?: C;
}

export interface IterationPlanOptions<C extends PreviousBuild> {
  arch: string;
  plan: PlanLike;
  recipes: ReadonlyMap<string, PlannedRecipe>;
  /** The builds of the previous iteration (all architectures). */
  previous: readonly C[];
  /** Which states of a previous build may be carried over (built ones always; in-flight ones where their work goes on). */
  carriedStates: ReadonlySet<BuildState>;
  /**
   * Previous builds (ids) whose recipe is the planned one although its commit is another: the files are
   * the same at both commits (a bump merged with a merge commit). Carried over as if the commit were the same.
   */
  sameInputs?: ReadonlySet<number>;
  packager: string | null;
  cycleRebuild: CycleRebuild;
}

/** The builds of one architecture, and its cycles as recorded. */
export interface IterationPlan<C extends PreviousBuild> {
  builds: NewBuild<C>[];
  cycles: CycleFinding[];
}

const effectiveId = (b: PreviousBuild): number => b.reused_from ?? b.id;
const key = (pkgbase: string, pass: number): string => `${pkgbase}#${pass}`;

/** The builds of a new iteration for one architecture. */
export function iterationBuilds<C extends PreviousBuild>(options: IterationPlanOptions<C>): IterationPlan<C> {
  const { arch, plan, recipes } = options;
  const planned = new Set(plan.packages.map((p) => p.pkgbase));
  const becauseOf = new Map(plan.packages.map((p) => [p.pkgbase, p.because]));
  const cut = new Set(plan.cycles.flatMap((c) => c.closingEdges.map((e) => `${e.from}\n${e.to}`)));
  const secondPass = new Map<string, readonly string[]>();
  if (options.cycleRebuild === 'once') for (const c of plan.cycles) for (const m of c.members) secondPass.set(m, c.members);

  // Each package's dependencies in the set, with the cycles' closing edges cut: a DAG.
  const needsOf = new Map(plan.packages.map((p) => [p.pkgbase, [...new Set(p.needs)].filter((n) => n !== p.pkgbase && planned.has(n) && !cut.has(`${p.pkgbase}\n${n}`))]));
  // A dependency that is rebuilt in a second pass is taken from that pass, except by its own cycle's first pass.
  const passOf = (from: string, pass: number, need: string): number => {
    if (!secondPass.has(need)) return 1;
    if (pass === 1 && secondPass.get(from) === secondPass.get(need)) return 1;
    return 2;
  };
  const unordered = new Map<string, { pkgbase: string; pass: number; needs: string[] }>();
  for (const p of plan.packages) {
    unordered.set(key(p.pkgbase, 1), { pkgbase: p.pkgbase, pass: 1, needs: needsOf.get(p.pkgbase)!.map((n) => key(n, passOf(p.pkgbase, 1, n))) });
  }
  // Second passes: each needs its whole cycle's first pass, and its other needs as they stand.
  for (const cycle of plan.cycles) {
    if (!secondPass.has(cycle.members[0]!)) continue;
    for (const pkgbase of cycle.buildOrder) {
      const own = needsOf.get(pkgbase)!.filter((n) => !cycle.members.includes(n)).map((n) => key(n, passOf(pkgbase, 2, n)));
      unordered.set(key(pkgbase, 2), { pkgbase, pass: 2, needs: [...cycle.members.map((m) => key(m, 1)), ...own] });
    }
  }
  const nodes = topologicalOrder([...unordered.keys()], new Map([...unordered].map(([k, n]) => [k, n.needs]))).map((k) => unordered.get(k)!);
  const position = new Map(nodes.map((n, i) => [key(n.pkgbase, n.pass), i]));

  const previous = new Map(options.previous.filter((b) => b.arch === arch).map((b) => [key(b.pkgbase, b.pass), b]));
  const previousById = new Map(options.previous.map((b) => [b.id, b]));
  const carried = new Map<string, C>();
  const builds: NewBuild<C>[] = nodes.map((node) => {
    const recipe = recipes.get(node.pkgbase);
    if (!recipe) throw new Error(`no recipe for planned package ${node.pkgbase}`);
    const before = previous.get(key(node.pkgbase, node.pass));
    if (before && options.carriedStates.has(before.state) && (before.sha === recipe.sha || options.sameInputs?.has(before.id)) && node.needs.every((n) => carried.has(n))) {
      const now = new Set(node.needs.map((n) => effectiveId(carried.get(n)!)));
      const then = new Set(before.depends_on.map((id) => previousById.get(id)).filter((b) => b !== undefined).map(effectiveId));
      if (now.size === then.size && [...now].every((id) => then.has(id))) carried.set(key(node.pkgbase, node.pass), before);
    }
    const continues = carried.get(key(node.pkgbase, node.pass));
    return {
      pkgbase: node.pkgbase,
      arch,
      pass: node.pass,
      project_id: recipe.projectId,
      project_path: recipe.projectPath,
      ref: recipe.branch,
      sha: recipe.sha,
      version: recipe.version,
      dependsOn: node.needs.map((n) => position.get(n)!),
      input_key: recipe.sha,
      state: 'blocked',
      packager: options.packager,
      ...(becauseOf.get(node.pkgbase) !== undefined ? { because: becauseOf.get(node.pkgbase) } : {}),
      ...(continues ? { carried: continues } : {}),
    };
  });
  const cycles = plan.cycles.map((c): CycleFinding => ({
    arch,
    members: [...c.members],
    build_order: [...c.buildOrder],
    cut_edges: c.closingEdges.map((e) => ({ from: e.from, to: e.to })),
    rebuild: options.cycleRebuild,
  }));
  return { builds, cycles };
}

/** Keys in an order where each comes after what it needs (`needs` is acyclic), ties in the given order. */
function topologicalOrder(keys: readonly string[], needs: ReadonlyMap<string, readonly string[]>): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (p: string): void => {
    if (done.has(p)) return;
    if (visiting.has(p)) throw new Error(`the plan's dependencies still form a cycle through ${p} after its closing edges were cut`);
    visiting.add(p);
    for (const n of needs.get(p) ?? []) visit(n);
    visiting.delete(p);
    done.add(p);
    order.push(p);
  };
  keys.forEach(visit);
  return order;
}
