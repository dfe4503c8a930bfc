/**
 * The server's planner keeps its dependency graphs: built from the index when the server starts
 * (BuildSetEngine.preparePlanner), then only updated by the iterations that follow.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KeptGraphs } from '../../src/core/graph/kept-graphs.js';
import type { PlanOptions } from '../../src/core/graph/plan.js';
import type { Universe } from '../../src/core/graph/universe.js';
import type { SourcePackage } from '../../src/core/recipe/model.js';
import { Repositories } from '../../src/server/artifacts/repository.js';
import { BuildSetEngine, type PlanningRecipe } from '../../src/server/build-sets/engine.js';
import { BuildStore } from '../../src/server/store/build-store.js';
import { openDatabase } from '../../src/server/store/database.js';
import { binary, clauses, source } from '../support/universe-builder.js';
import { tempDir } from './http-harness.js';

const recipe = (pkgbase: string, version: string, parts: Parameters<typeof source>[3] = {}): SourcePackage => source('pkgbuild', pkgbase, version, parts);
const planning = (sources: SourcePackage[]): Map<string, PlanningRecipe> =>
  new Map(sources.map((r, i) => [r.pkgbase, { pkgbase: r.pkgbase, projectId: i + 1, projectPath: `packages/${r.pkgbase}`, branch: 'main', sha: 'a'.repeat(40), recipe: r }]));

describe('the planner kept by the engine', () => {
  it('builds the graphs of every architecture before the first iteration, which then only updates them for the recipes that changed', async () => {
    const db = openDatabase(tempDir());
    try {
      const store = new BuildStore(db);
      const kept = new KeptGraphs();
      const calls: { options: PlanOptions; resolved: number }[] = [];
      const planner = (universe: Universe, options: PlanOptions) => {
        const plan = kept.plan(universe, options);
        calls.push({ options, resolved: kept.graphFor(universe, options.arch, options.profiles).resolvedSources });
        return plan;
      };
      const dispatcher = { carriesInFlight: true, dispatch: async () => {}, cancel: async () => {} };
      const engine = new BuildSetEngine(store, new Repositories(tempDir(), 'pkgbuild'), planner, { flavour: 'pkgbuild', architectures: ['x86_64', 'aarch64'], maxInFlight: 4, cycleRebuild: 'none' }, dispatcher, pino({ level: 'silent' }));
      const index = [
        recipe('zlib', '1.3-1'),
        recipe('curl', '8.11-1', { binaries: [binary('curl', { depends: clauses('zlib') })] }),
        recipe('hello', '2.12-1'),
        recipe('python', '3.12-1', { buildDepends: clauses('curl') }),
      ];

      engine.preparePlanner(index);
      expect(calls.map((c) => [c.options.arch, c.options.origins, c.resolved])).toEqual([['x86_64', [], 4], ['aarch64', [], 4]]);

      // A push of zlib: a new recipe object; every other recipe is the object the index held.
      const pushed = index.map((r) => (r.pkgbase === 'zlib' ? recipe('zlib', '1.3.1-1') : r));
      const ns = store.createNamespace({ name: 'zlib', origin: ['zlib@main'], kind: 'auto', packager: null, target_branch: 'main', mr_project_id: null, mr_iid: null });
      calls.length = 0;
      const iteration = await engine.planIteration(ns, { recipes: planning(pushed), origins: ['zlib'], reason: 'push' });
      // zlib and curl (whose binary depends on zlib) resolved again, on each architecture; hello and python taken from the kept graphs.
      expect(calls.map((c) => [c.options.arch, c.resolved])).toEqual([['x86_64', 2], ['aarch64', 2]]);
      expect(store.builds(iteration.id).map((b) => `${b.arch} ${b.pkgbase} ${b.version}`).sort()).toEqual([
        'aarch64 curl 8.11-1', 'aarch64 python 3.12-1', 'aarch64 zlib 1.3.1-1', 'x86_64 curl 8.11-1', 'x86_64 python 3.12-1', 'x86_64 zlib 1.3.1-1',
      ]);
    } finally {
      db.close();
    }
  });
});
