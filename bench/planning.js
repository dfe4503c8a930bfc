/* global console, process, performance, URL */
// Benchmark: planning and scheduling large build sets from the real datasets, as the server does it.
//
// For each dataset (AOSC abbs tree, autobuild, amd64; Debian bookworm Sources, debian, amd64; Arch
// .SRCINFO files, pkgbuild, x86_64) the recipes are parsed once (not timed) and the origin whose
// build set is the largest of a few candidates is planned:
//   plan      planBuildSet over the dataset's recipes, as the server's planner (best and median of ROUNDS);
//   builds    iterationBuilds: the plan made into the iteration's builds (dependency edges, cycles cut);
//   pass      one scheduling pass in memory: propagate() over every build, then selectForDispatch();
//   settle    the server's scheduling pass with its store: BuildSetEngine.settle() on the iteration
//             stored in SQLite (data_dir in tmp), reading every build, writing the state changes and
//             dispatching up to max_in_flight (4) to a dispatcher that only records them. Timed twice:
//             the first pass after planning (every build leaves `blocked` or becomes `ready`), and a
//             steady one: after one build's pipeline succeeded (BuildSetEngine.apply).
// Run: npm run bench:planning [-- ROUNDS [DATASET]]   (default 7, every dataset; DATASET: aosc, debian or arch)
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadUniverse } from '../dist/cli/universe-load.js';
import { planBuildSet } from '../dist/core/graph/plan.js';
import { iterationBuilds } from '../dist/core/build-set/iteration.js';
import { propagate, selectForDispatch } from '../dist/core/build-state.js';
import { BuildSetEngine } from '../dist/server/build-sets/engine.js';
import { Repositories } from '../dist/server/artifacts/repository.js';
import { BuildStore } from '../dist/server/store/build-store.js';
import { openDatabase } from '../dist/server/store/database.js';

const ROUNDS = Number(process.argv[2] ?? 7);
/** Only the datasets whose name contains this (case-insensitive), if given. */
const ONLY = (process.argv[3] ?? '').toLowerCase();
const MAX_IN_FLIGHT = 4;
const datasets = fileURLToPath(new URL('../../shared/datasets/', import.meta.url));
const DATASETS = [
  { name: 'AOSC abbs', spec: { kind: 'aosc', path: `${datasets}aosc-abbs/abbs-metadata.tar.xz` }, arch: 'amd64', candidates: ['glibc', 'gcc', 'zlib', 'bash', 'perl', 'python-3'] },
  { name: 'Debian bookworm Sources', spec: { kind: 'debian', sources: `${datasets}debian-bookworm/Sources.xz`, packages: null }, arch: 'amd64', candidates: ['zlib', 'glibc', 'gcc-12'] },
  { name: 'Arch .SRCINFO (archlinuxcn)', spec: { kind: 'srcinfo', path: `${datasets}archlinux-srcinfo/srcinfo.tar.xz` }, arch: 'x86_64', candidates: ['libpng-apng', 'cmake3', 'qt6-base-24h', 'openssl-1.1'] },
];
const loads = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const ms = (value) => `${value.toFixed(1)} ms`;

/** CPU milliseconds this process has used (user + system): less disturbed than wall time by other load on the machine. */
function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Sorted samples as "best / median" of wall time and CPU time. */
function summary(wall, cpu) {
  const sorted = (list) => [...list].sort((a, b) => a - b);
  const [w, c] = [sorted(wall), sorted(cpu)];
  const mid = Math.floor(w.length / 2);
  return { best: w[0], median: w[mid], text: `${ms(w[0])} best, ${ms(w[mid])} median (CPU ${ms(c[0])} best, ${ms(c[mid])} median)` };
}

async function timed(work, rounds = ROUNDS) {
  await work(); // warm-up
  const wall = [];
  const cpu = [];
  let result;
  for (let i = 0; i < rounds; i++) {
    const [t, c] = [performance.now(), cpuMs()];
    result = await work();
    wall.push(performance.now() - t);
    cpu.push(cpuMs() - c);
  }
  return { result, ...summary(wall, cpu) };
}

/** The candidate origin with the largest plan. */
function largestPlan(universe, arch, candidates) {
  let best = null;
  for (const origin of candidates) {
    try {
      const plan = planBuildSet(universe, { arch, origins: [origin] });
      if (!best || plan.packages.length > best.plan.packages.length) best = { origin, plan };
    } catch {
      // Not in this dataset, or not built on the architecture.
    }
  }
  return best;
}

/** The server's scheduling pass on a stored iteration of the plan. */
async function settleFigures(universe, arch, origin) {
  const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-planning-'));
  const db = openDatabase(dir);
  try {
    const store = new BuildStore(db);
    const dispatched = [];
    const dispatcher = { carriesInFlight: true, dispatch: async (build) => void dispatched.push(build.id), cancel: async () => {} };
    const engine = new BuildSetEngine(store, new Repositories(dir, universe.flavour), planBuildSet, { flavour: universe.flavour, architectures: [arch], maxInFlight: MAX_IN_FLIGHT, cycleRebuild: 'none' }, dispatcher, pino({ level: 'silent' }));
    const recipes = new Map(universe.sources.map((recipe, i) => [recipe.pkgbase, { pkgbase: recipe.pkgbase, projectId: i + 1, projectPath: `packages/${recipe.pkgbase}`, branch: 'main', sha: 'a'.repeat(40), recipe }]));
    const ns = store.createNamespace({ name: `bench-${origin}`, origin: [`${origin}@main`], kind: 'auto', packager: null, target_branch: 'main', mr_project_id: null, mr_iid: null });
    let t = performance.now();
    const iteration = await engine.planIteration(ns, { recipes, origins: [origin], reason: 'bench' });
    const planIteration = performance.now() - t;
    t = performance.now();
    await engine.settle(ns.id);
    const first = performance.now() - t;
    const wall = [];
    const cpu = [];
    for (let i = 0; i < ROUNDS && dispatched.length; i++) {
      const id = dispatched.shift();
      await engine.apply(id, { type: 'pipeline-running' });
      const [w, c] = [performance.now(), cpuMs()];
      await engine.apply(id, { type: 'pipeline-succeeded' });
      wall.push(performance.now() - w);
      cpu.push(cpuMs() - c);
    }
    return { builds: store.builds(iteration.id).length, planIteration, first, steady: summary(wall, cpu).text };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`planning and scheduling, ${ROUNDS} rounds each; load average at start ${loads()}`);
for (const dataset of DATASETS.filter((d) => d.name.toLowerCase().includes(ONLY))) {
  const { universe } = await loadUniverse(dataset.spec, { sources: true });
  const { origin } = largestPlan(universe, dataset.arch, dataset.candidates) ?? {};
  if (!origin) throw new Error(`${dataset.name}: none of ${dataset.candidates.join(', ')} can be planned`);
  const plan = await timed(() => planBuildSet(universe, { arch: dataset.arch, origins: [origin] }));
  const recipes = new Map(universe.sources.map((r) => [r.pkgbase, { pkgbase: r.pkgbase, projectId: 1, projectPath: r.pkgbase, branch: 'main', sha: 'a'.repeat(40), version: r.version.text }]));
  const made = await timed(() => iterationBuilds({ arch: dataset.arch, plan: plan.result, recipes, previous: [], packager: null, cycleRebuild: 'none', carriedStates: new Set(['built']) }));
  const nodes = made.result.builds.map((b, i) => ({ id: i + 1, label: b.pkgbase, state: 'blocked', reason: null, dependsOn: b.dependsOn.map((d) => d + 1) }));
  const pass = await timed(() => {
    const changes = propagate(nodes);
    const after = new Map(changes.map((c) => [c.id, c.to]));
    return { changes: changes.length, selected: selectForDispatch(nodes.map((n) => ({ id: n.id, state: after.get(n.id) ?? n.state })), MAX_IN_FLIGHT).length };
  });
  const settle = await settleFigures(universe, dataset.arch, origin);
  console.log(`${dataset.name}, ${dataset.arch}: ${universe.sources.length} recipes; origin ${origin}: ${plan.result.packages.length} packages, ${plan.result.waves.length} waves, ${plan.result.cycles.length} cycles, ${made.result.builds.length} builds`);
  console.log(`  plan ${plan.text}; builds ${ms(made.best)}; scheduling pass in memory ${pass.text} (${pass.result.changes} state changes, ${pass.result.selected} dispatched)`);
  console.log(`  server: planIteration (plan + store ${settle.builds} builds) ${ms(settle.planIteration)}; settle after planning ${ms(settle.first)}; settle after a build succeeded ${settle.steady}; load average ${loads()}`);
}
