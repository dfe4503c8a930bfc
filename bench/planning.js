/* global console, process, performance, URL */
// Benchmark: planning and scheduling large build sets from the real datasets, as the server does it.
//
// Each dataset's recipes are parsed once (not timed) and one build set is planned on each of its
// architectures: the named origins, or the origin with the largest build set of a few candidates.
// The AOSC abbs tree gives two: glibc on amd64 (5,141 builds), and libconfig on AOSC's amd64,
// arm64, loongarch64 and riscv64 ports (6,083 builds), the set of about 6,000 builds: no origin of
// these datasets has a 6,000-package build set on one architecture (AOSC's whole tree is 5,444
// packages; in Debian's Sources every origin gives either fewer than 900 or more than 31,000).
//   plan      planBuildSet on each architecture over the dataset's recipes: "cold" builds each
//             architecture's dependency graph first (a new universe each round); "first" is a new
//             KeptGraphs building every graph, as the server does once, when it starts (before it
//             listens: BuildSetEngine.preparePlanner), with nothing compiled yet if it is the
//             process's first dataset; "kept" is the server's plan of a new iteration after a push, KeptGraphs
//             updating its kept graphs for the recipes the push changed (a push of the origin: its
//             recipe with a new version; and a push of 10 random recipes, new versions); "warm"
//             plans over graphs already built for this very universe (best and median of ROUNDS);
//   kept RSS  what keeping the graphs of the dataset's architectures costs in resident memory;
//   builds    iterationBuilds: the plans made into the iteration's builds (dependency edges, cycles cut);
//   pass      one scheduling pass in memory: propagate() over every build, then selectForDispatch();
//             and the incremental one after one build succeeded: propagateFrom() that build, then selectForDispatch();
//   server    RecipeTable.defaults(): the server reading the index of recipes, as each new iteration
//             does (from SQLite; recipes whose text did not change come back as the same objects);
//             BuildSetEngine.planIteration with the server's planner (KeptGraphs): the first iteration
//             (graphs built) and a new one after a push of the origin (graphs updated), plan + store;
//   settle    the server's scheduling pass with its store: BuildSetEngine.settle() on the iteration
//             stored in SQLite (data_dir in tmp), writing the state changes and dispatching up to
//             max_in_flight (4) to a dispatcher that only records them. Timed after planning (every
//             build leaves `blocked` or becomes `ready`), and in steady state after one build's pipeline
//             succeeded: the pass alone (settle after the build's state was written), and
//             BuildSetEngine.apply (recording the event, committed, then the pass).
// Run: npm run bench:planning [-- ROUNDS [DATASET]]   (default 7, every dataset; DATASET: a word of its name, e.g. aosc, ports, debian, arch)
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadUniverse } from '../dist/cli/universe-load.js';
import { planBuildSet } from '../dist/core/graph/plan.js';
import { KeptGraphs } from '../dist/core/graph/kept-graphs.js';
import { RecipeTable } from '../dist/server/sources/source-index.js';
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

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
/** Memory in use after a full garbage collection, in MB: resident (RSS), and what the program holds (JS heap and array buffers). */
function memoryAfterGc() {
  gc();
  gc();
  const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
  return { rss: rss / 1024 / 1024, held: (heapUsed + arrayBuffers) / 1024 / 1024 };
}

/** The universe after a push of `pkgbases`: each recipe replaced by a copy with a newer version (every other recipe the same object). */
function pushed(universe, pkgbases) {
  const names = new Set(pkgbases);
  const sources = universe.sources.map((s) => (names.has(s.pkgbase) ? { ...s, version: { ...s.version, upstream: `${s.version.upstream}.1`, text: s.version.text.replace(s.version.upstream, `${s.version.upstream}.1`) } } : s));
  return { flavour: universe.flavour, sources };
}

/** `count` pkgbases of the universe, picked at random. */
function randomPkgbases(universe, count) {
  return Array.from({ length: count }, () => universe.sources[Math.floor(Math.random() * universe.sources.length)].pkgbase);
}

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
  return { best: w[0], median: w[mid], cpuBest: c[0], text: `${ms(w[0])} best, ${ms(w[mid])} median (CPU ${ms(c[0])} best, ${ms(c[mid])} median)` };
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
    // The server's planner, timed (CPU) inside planIteration: the rest is making and storing the builds.
    const kept = new KeptGraphs();
    let planCpu = 0;
    const planner = (u, options) => {
      const c = cpuMs();
      try {
        return kept.plan(u, options);
      } finally {
        planCpu += cpuMs() - c;
      }
    };
    const engine = new BuildSetEngine(store, new Repositories(dir, universe.flavour), planner, { flavour: universe.flavour, architectures, maxInFlight: MAX_IN_FLIGHT, cycleRebuild: 'none' }, dispatcher, pino({ level: 'silent' }));
    // The index of recipes in SQLite, as the server keeps it; each new iteration reads it whole.
    const table = new RecipeTable(db);
    universe.sources.forEach((recipe, i) => table.put({ pkgbase: recipe.pkgbase, branch: 'main', projectId: i + 1, projectPath: `packages/${recipe.pkgbase}`, dir: '', sha: 'a'.repeat(40), isDefault: true, recipe }));
    table.defaults();
    const read = await timed(() => table.defaults(), { warm: false, rounds: 3 });
    const ns = store.createNamespace({ name: `bench-${origins.join('-')}`, origin: origins.map((o) => `${o}@main`), kind: 'auto', packager: null, target_branch: 'main', mr_project_id: null, mr_iid: null });
    const recipesOf = (u) => new Map(u.sources.map((recipe, i) => [recipe.pkgbase, { pkgbase: recipe.pkgbase, projectId: i + 1, projectPath: `packages/${recipe.pkgbase}`, branch: 'main', sha: 'a'.repeat(40), recipe }]));
    let [t, c] = [performance.now(), cpuMs()];
    planCpu = 0;
    await engine.planIteration(ns, { recipes: recipesOf(universe), origins, reason: 'bench' });
    const firstIteration = { wall: performance.now() - t, cpu: cpuMs() - c, plan: planCpu };
    // A push of the origin: a new iteration over the index with the origin's recipe changed (ROUNDS times).
    const planCpus = [];
    let recipes = null;
    let iteration = null;
    const next = await timed(
      async () => {
        planCpu = 0;
        iteration = await engine.planIteration(ns, { recipes, origins, reason: 'bench push' });
        planCpus.push(planCpu);
      },
      { warm: false, prepare: () => (recipes = recipesOf(pushed(universe, origins))) },
    );
    const plannerCpu = summary(planCpus, planCpus);
    const nextIteration = `${next.text}, of which the planner CPU ${ms(plannerCpu.best)} best, ${ms(plannerCpu.median)} median`;
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
    return { builds: store.builds(iteration.id).length, read: read.text, firstIteration, nextIteration, first, pass: pass.text, apply: summary(wall, cpu).text };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`planning and scheduling, ${ROUNDS} rounds each; load average at start ${loads()}`);
let planned = 0;
for (const dataset of DATASETS.filter((d) => d.name.toLowerCase().includes(ONLY))) {
  const { universe } = await loadUniverse(dataset.spec, { sources: true });
  const origins = dataset.origins ?? [largestOrigin(universe, dataset.architectures[0], dataset.candidates)].filter(Boolean);
  if (!origins.length) throw new Error(`${dataset.name}: none of ${dataset.candidates.join(', ')} can be planned`);
  const planAll = (u, planner = planBuildSet) => dataset.architectures.map((arch) => ({ arch, plan: planner(u, { arch, origins }) }));
  // The server's first plan: a new KeptGraphs builds every architecture's graph, with nothing compiled yet.
  const before = memoryAfterGc();
  const kept = new KeptGraphs();
  const first = await timed(() => planAll(universe, kept.plan), { warm: false, rounds: 1 });
  const after = memoryAfterGc();
  const keptMemory = `${(after.held - before.held).toFixed(0)} MB held (heap and array buffers), RSS ${(after.rss - before.rss).toFixed(0)} MB`;
  // A new iteration after a push: the kept graphs updated for the changed recipes (new universe objects each round).
  const originPush = await timed(() => planAll(pushed(universe, origins), kept.plan));
  let randomUniverse = null;
  const randomPush = await timed(() => planAll(randomUniverse, kept.plan), { prepare: () => (randomUniverse = pushed(universe, randomPkgbases(universe, 10))) });
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
  const compiled = planned++ === 0 ? 'the first plan of this process' : 'code compiled by the datasets before';
  console.log(`  plan: first after a server start (when it starts) ${ms(first.best)} (CPU ${ms(first.cpuBest)}; ${compiled}); kept graphs, a push of the origin ${originPush.text}; kept graphs, a push of 10 random recipes ${randomPush.text}`);
  console.log(`  plan cold (graphs built) ${cold.text}; warm (graphs of this universe) ${warm.text}; builds ${ms(made.best)}; kept graphs: ${keptMemory}`);
  console.log(`  in memory: full pass ${full.text} (${full.result.changes} state changes, ${full.result.selected} dispatched); incremental pass after a build succeeded ${incremental.text}`);
  console.log(`  server: read the index (RecipeTable.defaults) ${settle.read}; planIteration (plan + store ${settle.builds} builds): first ${ms(settle.firstIteration.wall)} (CPU ${ms(settle.firstIteration.cpu)}, of which the planner ${ms(settle.firstIteration.plan)}), after a push of the origin ${settle.nextIteration}`);
  console.log(`  server: settle after planning ${ms(settle.first)}; after a build succeeded: settle ${settle.pass}, apply ${settle.apply}; load average ${loads()}`);
}
