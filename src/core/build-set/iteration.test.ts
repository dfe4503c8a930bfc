import { describe, expect, it } from 'vitest';
import type { BuildState } from '../build-state.js';
import { iterationBuilds, type CycleRebuild, type PlanLike, type PlannedRecipe, type PreviousBuild } from './iteration.js';

const recipe = (pkgbase: string, sha = `${pkgbase}-sha`): PlannedRecipe => ({ pkgbase, projectId: 1, projectPath: `packages/${pkgbase}`, branch: 'main', sha, version: '1-1' });
const recipes = (...names: string[]) => new Map(names.map((n) => [n, recipe(n)]));
const BUILT: ReadonlySet<BuildState> = new Set(['built']);

/** a ⇄ b (a needs b, b needs a; the planner cut a → b, so a builds first), c needs a. */
const CYCLE: PlanLike = {
  packages: [
    { pkgbase: 'a', needs: ['b'] },
    { pkgbase: 'b', needs: ['a'] },
    { pkgbase: 'c', needs: ['a'] },
  ],
  cycles: [{ members: ['a', 'b'], buildOrder: ['a', 'b'], closingEdges: [{ from: 'a', to: 'b' }] }],
};

function plan(p: PlanLike, cycleRebuild: CycleRebuild = 'none', previous: PreviousBuild[] = []) {
  return iterationBuilds({ arch: 'x86_64', plan: p, recipes: recipes('a', 'b', 'c'), previous, carriedStates: BUILT, packager: null, cycleRebuild });
}

/** Each build as "pkgbase#pass <- deps". */
function edges(builds: ReturnType<typeof plan>['builds']): string[] {
  const name = (i: number) => `${builds[i]!.pkgbase}#${builds[i]!.pass}`;
  return builds.map((b, i) => `${name(i)} <- ${b.dependsOn.map(name).sort().join(',')}`);
}

describe('iterationBuilds', () => {
  it('cuts the closing edges of a cycle, so that its members build in the planner order', () => {
    const { builds, cycles } = plan(CYCLE);
    expect(edges(builds).sort()).toEqual(['a#1 <- ', 'b#1 <- a#1', 'c#1 <- a#1']);
    expect(cycles).toEqual([{ arch: 'x86_64', members: ['a', 'b'], build_order: ['a', 'b'], cut_edges: [{ from: 'a', to: 'b' }], rebuild: 'none' }]);
    // Every build comes after what it depends on.
    builds.forEach((b, i) => b.dependsOn.forEach((d) => expect(d).toBeLessThan(i)));
  });

  it('with cycle_rebuild once, builds every member again after the whole cycle, and dependants wait for that pass', () => {
    const { builds, cycles } = plan(CYCLE, 'once');
    expect(edges(builds).sort()).toEqual(['a#1 <- ', 'a#2 <- a#1,b#1', 'b#1 <- a#1', 'b#2 <- a#1,b#1', 'c#1 <- a#2']);
    expect(cycles[0]!.rebuild).toBe('once');
    builds.forEach((b, i) => b.dependsOn.forEach((d) => expect(d).toBeLessThan(i)));
  });

  it('leaves a plan without cycles as it is, whatever cycle_rebuild says', () => {
    const chain: PlanLike = { packages: [{ pkgbase: 'c', needs: ['b'] }, { pkgbase: 'b', needs: ['a', 'b'] }, { pkgbase: 'a', needs: [] }], cycles: [] };
    expect(edges(plan(chain, 'once').builds)).toEqual(['a#1 <- ', 'b#1 <- a#1', 'c#1 <- b#1']);
  });

  it('carries over a built build whose commit and dependency builds are unchanged, and rebuilds its dependants when a dependency changed', () => {
    const chain: PlanLike = { packages: [{ pkgbase: 'a', needs: [] }, { pkgbase: 'b', needs: ['a'] }, { pkgbase: 'c', needs: ['b'] }], cycles: [] };
    const previous: PreviousBuild[] = [
      { id: 10, pkgbase: 'a', arch: 'x86_64', pass: 1, state: 'built', sha: 'a-sha', depends_on: [], reused_from: null },
      { id: 11, pkgbase: 'b', arch: 'x86_64', pass: 1, state: 'built', sha: 'b-sha', depends_on: [10], reused_from: null },
      { id: 12, pkgbase: 'c', arch: 'x86_64', pass: 1, state: 'failed', sha: 'c-sha', depends_on: [11], reused_from: null },
    ];
    const same = iterationBuilds({ arch: 'x86_64', plan: chain, recipes: recipes('a', 'b', 'c'), previous, carriedStates: BUILT, packager: null, cycleRebuild: 'none' });
    expect(same.builds.map((b) => b.carried?.id ?? null)).toEqual([10, 11, null]);
    const changed = new Map([...recipes('a', 'b', 'c'), ['a', recipe('a', 'a-new')]]);
    const after = iterationBuilds({ arch: 'x86_64', plan: chain, recipes: changed, previous, carriedStates: BUILT, packager: null, cycleRebuild: 'none' });
    expect(after.builds.map((b) => b.carried?.id ?? null)).toEqual([null, null, null]);
    // At another commit with the same files (sameInputs names the previous build): carried over, at the new commit, with its dependants.
    const merged = iterationBuilds({ arch: 'x86_64', plan: chain, recipes: changed, previous, carriedStates: BUILT, packager: null, cycleRebuild: 'none', sameInputs: new Set([10]) });
    expect(merged.builds.map((b) => b.carried?.id ?? null)).toEqual([10, 11, null]);
    expect(merged.builds[0]).toMatchObject({ sha: 'a-new', input_key: 'a-new' });
  });

  it('carries over a second pass only onto a second pass', () => {
    const previous: PreviousBuild[] = [
      { id: 1, pkgbase: 'a', arch: 'x86_64', pass: 1, state: 'built', sha: 'a-sha', depends_on: [], reused_from: null },
      { id: 2, pkgbase: 'b', arch: 'x86_64', pass: 1, state: 'built', sha: 'b-sha', depends_on: [1], reused_from: null },
      { id: 3, pkgbase: 'a', arch: 'x86_64', pass: 2, state: 'built', sha: 'a-sha', depends_on: [1, 2], reused_from: null },
      { id: 4, pkgbase: 'b', arch: 'x86_64', pass: 2, state: 'built', sha: 'b-sha', depends_on: [1, 2], reused_from: null },
      { id: 5, pkgbase: 'c', arch: 'x86_64', pass: 1, state: 'built', sha: 'c-sha', depends_on: [3], reused_from: null },
    ];
    const { builds } = plan(CYCLE, 'once', previous);
    expect(Object.fromEntries(builds.map((b) => [`${b.pkgbase}#${b.pass}`, b.carried?.id]))).toEqual({ 'a#1': 1, 'b#1': 2, 'a#2': 3, 'b#2': 4, 'c#1': 5 });
    // Without the second pass in the previous iteration, c (which then needed a's first pass) is rebuilt.
    const again = plan(CYCLE, 'once', previous.filter((b) => b.pass === 1 && b.pkgbase !== 'c').concat({ ...previous[4]!, depends_on: [1] }));
    expect(Object.fromEntries(again.builds.map((b) => [`${b.pkgbase}#${b.pass}`, b.carried?.id]))).toEqual({ 'a#1': 1, 'b#1': 2, 'a#2': undefined, 'b#2': undefined, 'c#1': undefined });
  });

  it('refuses a plan whose dependencies still form a cycle once the closing edges are cut', () => {
    const broken: PlanLike = { packages: [{ pkgbase: 'a', needs: ['b'] }, { pkgbase: 'b', needs: ['a'] }], cycles: [] };
    expect(() => plan(broken)).toThrow(/still form a cycle/);
  });
});
