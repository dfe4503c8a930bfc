/* global console, process, performance, URL */
// Benchmark: planning and scheduling large build sets from the real datasets, as the server does it.
//
// Each dataset's recipes are parsed once (not timed) and one build set is planned on each of its
// architectures: the named origins, or the origin with the largest build set of a few candidates.
// The AOSC abbs tree gives two: glibc on amd64 (5,141 builds), and libconfig on AOSC's amd64,
// arm64, loongarch64 and riscv64 ports (6,083 builds), the set of about 6,000 builds: no origin of
// these datasets has a 6,000-package build set on one architecture (AOSC's whole tree is 5,444
// packages; in Debian's Sources every origin gives either fewer than 900 or more than 31,000).
//   plan      planBuildSet on each architecture over the dataset's recipes, as the server's planner:
//             "cold" builds the dependency graph first, as every new iteration does (the server gives
//             the planner a new universe each time), "warm" reuses it (best and median of ROUNDS);
//   builds    iterationBuilds: the plans made into the iteration's builds (dependency edges, cycles cut);
//   pass      one scheduling pass in memory: propagate() over every build, then selectForDispatch();
//             and the incremental one after one build succeeded: propagateFrom() that build, then selectForDispatch();
//   settle    the server's scheduling pass with its store: BuildSetEngine.settle() on the iteration
//             stored in SQLite (data_dir in tmp), writing the state changes and dispatching up to
//             max_in_flight (4) to a dispatcher that only records them. Timed after planning (every
//             build leaves `blocked` or becomes `ready`), and in steady state after one build's pipeline
//             succeeded: the pass alone (settle after the build's state was written), and
//             BuildSetEngine.apply (recording the event, committed, then the pass).
// Run: npm run bench:planning [-- ROUNDS [DATASET]]   (default 7, every dataset; DATASET: a word of its name, e.g. aosc, ports, debian, arch)
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadUniverse } from '../dist/cli/universe-load.js';
import { planBuildSet } from '../dist/core/graph/plan.js';
import { iterationBuilds } from '../dist/core/build-set/iteration.js';
import { dependantsOf, propagate, propagateFrom, selectForDispatch } from '../dist/core/build-state.js';
import { BuildSetEngine } from '../dist/server/build-sets/engine.js';
import { Repositories } from '../dist/server/artifacts/repository.js';
import { BuildStore } from '../dist/server/store/build-store.js';
import { openDatabase } from '../dist/server/store/database.js';

const ROUNDS = Number(process.argv[2] ?? 7);
/** Only the datasets whose name contains this (case-insensitive), if given. */
const ONLY = (process.argv[3] ?? '').toLowerCase();
const MAX_IN_FLIGHT = 4;
const datasets = fileURLToPath(new URL('../../shared/datasets/', import.meta.url));
const AOSC = { kind: 'aosc', path: `${datasets}aosc-abbs/abbs-metadata.tar.xz` };
const DATASETS = [
  { name: 'AOSC abbs', spec: AOSC, architectures: ['amd64'], candidates: ['glibc', 'gcc', 'zlib', 'bash', 'perl', 'python-3'] },
  { name: 'AOSC abbs, four ports', spec: AOSC, architectures: ['amd64', 'arm64', 'loongarch64', 'riscv64'], origins: ['libconfig'] },
  { name: 'Debian bookworm Sources', spec: { kind: 'debian', sources: `${datasets}debian-bookworm/Sources.xz`, packages: null }, architectures: ['amd64'], candidates: ['zlib', 'glibc', 'gcc-12'] },
  { name: 'Arch .SRCINFO (archlinuxcn)', spec: { kind: 'srcinfo', path: `${datasets}archlinux-srcinfo/srcinfo.tar.xz` }, architectures: ['x86_64'], candidates: ['libpng-apng', 'cmake3', 'qt6-base-24h', 'openssl-1.1'] },
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

/** Times `work` ROUNDS times (after a warm-up, unless `warm` is false); `prepare` runs untimed before each round. */
async function timed(work, { rounds = ROUNDS, warm = true, prepare = () => {} } = {}) {
  if (warm) {
    prepare();
    await work();
  }
  const wall = [];
  const cpu = [];
  let result;
  for (let i = 0; i < rounds; i++) {
    prepare();
    const [t, c] = [performance.now(), cpuMs()];
    result = await work();
    wall.push(performance.now() - t);
    cpu.push(cpuMs() - c);
  }
  return { result, ...summary(wall, cpu) };
}

/** The candidate origin with the largest plan on the first architecture. */
function largestOrigin(universe, arch, candidates) {
  let best = null;
  for (const origin of candidates) {
    try {
      const plan = planBuildSet(universe, { arch, origins: [origin] });
      if (!best || plan.packages.length > best.size) best = { origin, size: plan.packages.length };
    } catch {
      // Not in this dataset, or not built on the architecture.
    }
  }
  return best?.origin;
}

/** The server's scheduling passes on a stored iteration of the build set. */
async function settleFigures(universe, architectures, origins) {
  const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-planning-'));
  const db = openDatabase(dir);
  try {
    const store = new BuildStore(db);
    const dispatched = [];
    const dispatcher = { carriesInFlight: true, dispatch: async (build) => void dispatched.push(build.id), cancel: async () => {} };
    const engine = new BuildSetEngine(store, new Repositories(dir, universe.flavour), planBuildSet, { flavour: universe.flavour, architectures, maxInFlight: MAX_IN_FLIGHT, cycleRebuild: 'none' }, dispatcher, pino({ level: 'silent' }));
    const recipes = new Map(universe.sources.map((recipe, i) => [recipe.pkgbase, { pkgbase: recipe.pkgbase, projectId: i + 1, projectPath: `packages/${recipe.pkgbase}`, branch: 'main', sha: 'a'.repeat(40), recipe }]));
    const ns = store.createNamespace({ name: `bench-${origins.join('-')}`, origin: origins.map((o) => `${o}@main`), kind: 'auto', packager: null, target_branch: 'main', mr_project_id: null, mr_iid: null });
    let t = performance.now();
    const iteration = await engine.planIteration(ns, { recipes, origins, reason: 'bench' });
    const planIteration = performance.now() - t;
    t = performance.now();
    await engine.settle(ns.id);
    const first = performance.now() - t;
    // Steady state: one dispatched build's pipeline runs and succeeds, then the pass.
    const succeed = async (id) => {
      await engine.apply(id, { type: 'pipeline-running' });
      store.setState(id, 'built', null);
    };
    const pass = await timed(() => engine.settle(ns.id), { warm: false, prepare: () => succeed(dispatched.shift()) });
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
    return { builds: store.builds(iteration.id).length, planIteration, first, pass: pass.text, apply: summary(wall, cpu).text };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`planning and scheduling, ${ROUNDS} rounds each; load average at start ${loads()}`);
for (const dataset of DATASETS.filter((d) => d.name.toLowerCase().includes(ONLY))) {
  const { universe } = await loadUniverse(dataset.spec, { sources: true });
  const origins = dataset.origins ?? [largestOrigin(universe, dataset.architectures[0], dataset.candidates)].filter(Boolean);
  if (!origins.length) throw new Error(`${dataset.name}: none of ${dataset.candidates.join(', ')} can be planned`);
  const planAll = (u) => dataset.architectures.map((arch) => ({ arch, plan: planBuildSet(u, { arch, origins }) }));
  // Cold: a new universe object each round, so the dependency graph of each architecture is built again.
  const cold = await timed(() => planAll({ ...universe }), { warm: false, rounds: Math.min(ROUNDS, 3) });
  const warm = await timed(() => planAll(universe));
  const recipes = new Map(universe.sources.map((r) => [r.pkgbase, { pkgbase: r.pkgbase, projectId: 1, projectPath: r.pkgbase, branch: 'main', sha: 'a'.repeat(40), version: r.version.text }]));
  const made = await timed(() => warm.result.flatMap(({ arch, plan }) => iterationBuilds({ arch, plan, recipes, previous: [], packager: null, cycleRebuild: 'none', carriedStates: new Set(['built']) }).builds));
  const builds = made.result;
  // Builds are numbered across architectures as the engine does: each architecture's after the previous one's.
  const offsets = [];
  let offset = 0;
  for (const { plan } of warm.result) {
    offsets.push(offset);
    offset += plan.packages.length;
  }
  let index = 0;
  const nodes = warm.result.flatMap((_, a) => {
    const count = (a + 1 < offsets.length ? offsets[a + 1] : builds.length) - offsets[a];
    return builds.slice(offsets[a], offsets[a] + count).map((b) => ({ id: ++index, label: b.pkgbase, state: 'blocked', reason: null, dependsOn: b.dependsOn.map((d) => d + offsets[a] + 1) }));
  });
  const full = await timed(() => {
    const changes = propagate(nodes);
    const after = new Map(changes.map((c) => [c.id, c.to]));
    return { changes: changes.length, selected: selectForDispatch(nodes.map((n) => ({ id: n.id, state: after.get(n.id) ?? n.state })), MAX_IN_FLIGHT).length };
  });
  // The incremental pass: from the states a full pass left, one ready build succeeds each round.
  const byId = new Map(nodes.map((n) => [n.id, { ...n }]));
  for (const c of propagate(nodes)) Object.assign(byId.get(c.id), { state: c.to, reason: c.reason });
  const dependants = dependantsOf(nodes);
  const all = [...byId.values()];
  let succeeded = null;
  const incremental = await timed(() => {
    const changes = propagateFrom(byId, dependants, [succeeded]);
    for (const c of changes) Object.assign(byId.get(c.id), { state: c.to, reason: c.reason });
    return { changes: changes.length, selected: selectForDispatch(all, MAX_IN_FLIGHT).length };
  }, { prepare: () => {
    succeeded = all.find((n) => n.state === 'ready').id;
    byId.get(succeeded).state = 'built';
  } });
  const settle = await settleFigures(universe, dataset.architectures, origins);
  const perArch = warm.result.map(({ arch, plan }) => `${arch} ${plan.packages.length} packages, ${plan.waves.length} waves, ${plan.cycles.length} cycles`).join('; ');
  console.log(`${dataset.name}: ${universe.sources.length} recipes; origin ${origins.join(', ')}: ${perArch}; ${builds.length} builds`);
  console.log(`  plan cold ${cold.text}; warm ${warm.text}; builds ${ms(made.best)}`);
  console.log(`  in memory: full pass ${full.text} (${full.result.changes} state changes, ${full.result.selected} dispatched); incremental pass after a build succeeded ${incremental.text}`);
  console.log(`  server: planIteration (plan + store ${settle.builds} builds) ${ms(settle.planIteration)}; settle after planning ${ms(settle.first)}; after a build succeeded: settle ${settle.pass}, apply ${settle.apply}; load average ${loads()}`);
}
