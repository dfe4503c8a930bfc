/**
 * The incremental scheduling pass against the full one, on a real build set: the AOSC abbs tree's
 * libconfig on amd64 and arm64 (4,858 builds). The engine, with its SQLite store, takes random
 * events (pipelines starting, succeeding, failing, cancelled; retries; a build cancelled by hand;
 * a state written by another connection, as `quarters build` would) and settles after each, looking
 * only at what moved. After every step the stored states and reasons of every build must be exactly
 * what a full pass (`propagate` over every build, then `selectForDispatch`) makes of the states
 * before it with the same event applied. SCHEDULING_RUNS and SCHEDULING_SEED make it longer or replay it.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUniverse } from '../../src/cli/universe-load.js';
import { labelOf, propagate, selectForDispatch, transition, type BuildEvent, type BuildNode, type BuildState } from '../../src/core/build-state.js';
import { planBuildSet } from '../../src/core/graph/plan.js';
import type { Universe } from '../../src/core/graph/universe.js';
import { Repositories } from '../../src/server/artifacts/repository.js';
import { BuildSetEngine, type PlanningRecipe } from '../../src/server/build-sets/engine.js';
import { BuildStore } from '../../src/server/store/build-store.js';
import { openDatabase, type Db } from '../../src/server/store/database.js';

const SHARED = resolve(process.cwd(), '../shared/datasets');
const RUNS = Number(process.env.SCHEDULING_RUNS ?? 3);
const SEED = Number(process.env.SCHEDULING_SEED ?? 20261204);
const MAX_IN_FLIGHT = 8;
const ARCHITECTURES = ['amd64', 'arm64'];

/** One step: which build (an index into the candidates the kind applies to) and what happens to it. */
const step = fc.record({
  pick: fc.nat(),
  kind: fc.constantFrom('running', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'canceled', 'retry', 'retry', 'cancel', 'external'),
});
type Step = { pick: number; kind: string };

/** What a step does: the builds it may pick from, and the event, or a state written directly. */
function actionOf(s: Step, states: ReadonlyMap<number, { state: BuildState }>): { id: number; event?: BuildEvent; write?: BuildState } | null {
  const inState = (...wanted: BuildState[]) => [...states].filter(([, b]) => wanted.includes(b.state)).map(([id]) => id);
  const choose = (ids: number[]) => (ids.length ? ids[s.pick % ids.length]! : null);
  const pickFrom = (ids: number[], make: (id: number) => { id: number; event?: BuildEvent; write?: BuildState }) => {
    const id = choose(ids);
    return id === null ? null : make(id);
  };
  switch (s.kind) {
    case 'running': return pickFrom(inState('dispatched'), (id) => ({ id, event: { type: 'pipeline-running' } }));
    case 'succeeded': return pickFrom(inState('dispatched', 'building'), (id) => ({ id, event: { type: 'pipeline-succeeded' } }));
    case 'failed': return pickFrom(inState('dispatched', 'building'), (id) => ({ id, event: { type: 'pipeline-failed', reason: `job ${id} failed` } }));
    case 'canceled': return pickFrom(inState('dispatched', 'building'), (id) => ({ id, event: { type: 'pipeline-canceled' } }));
    // A GitLab retry of a failed or cancelled pipeline that then succeeds, or an API retry.
    case 'retry': return pickFrom(inState('failed', 'cancelled'), (id) => ({ id, event: s.pick % 2 ? { type: 'retry' } : { type: 'pipeline-succeeded' } }));
    // As BuildSetControl does: a waiting build cancelled through the store, then a pass.
    case 'cancel': return pickFrom(inState('blocked', 'ready', 'dependency-failed'), (id) => ({ id, write: 'cancelled' }));
    // Another connection moves a failed build back to blocked: the store's view is stale and must be read again.
    case 'external': return pickFrom(inState('failed'), (id) => ({ id, write: 'blocked' }));
    default: throw new Error(`unknown step ${s.kind}`);
  }
}

describe('the incremental scheduling pass', () => {
  let universe: Universe;
  let recipes: Map<string, PlanningRecipe>;
  let dir: string;
  let db: Db;
  let other: Database.Database;
  let store: BuildStore;
  let engine: BuildSetEngine;
  const counts = { steps: 0, events: 0, writes: 0, external: 0, changed: 0, dispatched: 0 };

  beforeAll(async () => {
    ({ universe } = await loadUniverse({ kind: 'aosc', path: join(SHARED, 'aosc-abbs/abbs-metadata.tar.xz') }, { sources: true }));
    recipes = new Map(universe.sources.map((recipe, i) => [recipe.pkgbase, { pkgbase: recipe.pkgbase, projectId: i + 1, projectPath: `packages/${recipe.pkgbase}`, branch: 'main', sha: 'a'.repeat(40), recipe }]));
    dir = mkdtempSync(join(tmpdir(), 'quarters-incremental-'));
    db = openDatabase(dir);
    // Decisions are under test, not durability: commits need not wait for the disk.
    db.pragma('synchronous = OFF');
    other = new Database(join(dir, 'quarters.sqlite3'));
    store = new BuildStore(db);
    const dispatcher = { carriesInFlight: true, dispatch: async () => {}, cancel: async () => {} };
    engine = new BuildSetEngine(store, new Repositories(dir, universe.flavour), planBuildSet, { flavour: universe.flavour, architectures: ARCHITECTURES, maxInFlight: MAX_IN_FLIGHT, cycleRebuild: 'none' }, dispatcher, pino({ level: 'silent' }));
  }, 120_000);
  afterAll(() => {
    other?.close();
    db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`makes the same decisions as a full pass, step after step (seed ${SEED}, ${RUNS} runs)`, async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: 60 }), async (steps) => {
      run += 1;
      const ns = store.createNamespace({ name: `libconfig-${run}-${Date.now().toString(36)}`, origin: ['libconfig@main'], kind: 'auto', packager: null, target_branch: 'main', mr_project_id: null, mr_iid: null });
      const iteration = await engine.planIteration(ns, { recipes, origins: ['libconfig'], reason: 'test' });
      await engine.settle(ns.id);
      const shape = new Map(store.builds(iteration.id).map((b) => [b.id, { label: labelOf(b), dependsOn: b.depends_on }]));
      const read = other.prepare('SELECT id, state, reason FROM builds WHERE iteration_id = ? ORDER BY id');
      // The states as stored, read through the other connection (the store's own view is what is under test).
      const stored = (): Map<number, BuildNode> => new Map((read.all(iteration.id) as { id: number; state: BuildState; reason: string | null }[]).map((b) => [b.id, { id: b.id, ...shape.get(b.id)!, state: b.state, reason: b.reason }]));
      // The first pass is a full one: nothing moved from where a full pass would leave it.
      expect(propagate([...stored().values()])).toEqual([]);
      for (const s of steps) {
        const before = stored();
        const action = actionOf(s, before);
        if (!action) continue;
        counts.steps += 1;
        // The reference: the step applied to the states before it, then a full pass.
        const expected = new Map([...before].map(([id, b]) => [id, { ...b }]));
        const target = expected.get(action.id)!;
        if (action.event) {
          const moved = transition(target.state, action.event);
          if (moved.outcome !== 'moved') continue;
          Object.assign(target, { state: moved.state, reason: moved.reason });
          counts.events += 1;
          await engine.locked(ns.id, () => engine.apply(action.id, action.event!));
        } else if (action.write === 'blocked') {
          Object.assign(target, { state: 'blocked', reason: null });
          counts.external += 1;
          other.prepare('UPDATE builds SET state = ?, reason = NULL WHERE id = ?').run('blocked', action.id);
          await engine.locked(ns.id, () => engine.settle(ns.id));
        } else {
          Object.assign(target, { state: action.write, reason: 'cancelled by hand' });
          counts.writes += 1;
          store.setState(action.id, action.write!, 'cancelled by hand');
          await engine.locked(ns.id, () => engine.settle(ns.id));
        }
        for (const change of propagate([...expected.values()])) Object.assign(expected.get(change.id)!, { state: change.to, reason: change.reason });
        for (const id of selectForDispatch([...expected.values()], MAX_IN_FLIGHT)) Object.assign(expected.get(id)!, { state: 'dispatched', reason: null });
        const after = stored();
        const differing = [...after.values()].filter((b) => b.state !== expected.get(b.id)!.state || b.reason !== expected.get(b.id)!.reason);
        expect(differing.map((b) => ({ id: b.id, label: b.label, got: [b.state, b.reason], full: [expected.get(b.id)!.state, expected.get(b.id)!.reason] })), `after ${s.kind} of build ${action.id} (seed ${SEED})`).toEqual([]);
        counts.changed += [...after.values()].filter((b) => b.state !== before.get(b.id)!.state || b.reason !== before.get(b.id)!.reason).length;
      }
      counts.dispatched += store.builds(iteration.id).filter((b) => b.state !== 'blocked' && b.state !== 'ready' && b.state !== 'dependency-failed').length;
    }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
    console.log(`incremental scheduling (seed ${SEED}): ${RUNS} build sets of libconfig on ${ARCHITECTURES.join(' and ')}, ${counts.steps} steps (${counts.events} events, ${counts.writes} cancellations by hand, ${counts.external} writes by another connection), ${counts.changed} build states changed, ${counts.dispatched} builds dispatched; every step as a full pass decides`);
    expect(counts.external).toBeGreaterThan(0);
    expect(counts.events).toBeGreaterThan(RUNS * 10);
  }, 600_000);
});
