/* global console, process, performance, Buffer */
// Benchmark: `quarters gc` over a data directory of many build sets, as the server runs it.
//
// SETS build sets of ITERATIONS iterations with BUILDS built packages each are written to SQLite (data_dir
// in tmp), every build's package file in the pool (1 KiB) hard-linked into its iteration's repository
// (a generation directory behind the `x86_64` symlink, with a small index file), as uploads leave them.
// Every iteration but the latest is superseded past the policy (keep_iterations = 1): the run expires
// SETS × (ITERATIONS - 1) iterations. Timed (wall and this process's CPU):
//   dry run   GarbageCollector.collect({dryRun: true}): the verdicts and the listing of every file that goes;
//   run       the same, removing it (expiry recorded, each directory renamed into tmp/ and deleted);
//   again     a second run, with nothing left to do (what the periodic run costs on a settled server).
// Run: npm run bench:retention [-- SETS [ITERATIONS [BUILDS]]]   (default 300 4 10)
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { BuildSetEngine } from '../dist/server/build-sets/engine.js';
import { Repositories } from '../dist/server/artifacts/repository.js';
import { DistributionRepositories } from '../dist/server/releases/distribution.js';
import { GarbageCollector } from '../dist/server/retention/garbage-collector.js';
import { BuildStore } from '../dist/server/store/build-store.js';
import { openDatabase } from '../dist/server/store/database.js';
import { RetentionStore } from '../dist/server/store/retention-store.js';

const SETS = Number(process.argv[2] ?? 300);
const ITERATIONS = Number(process.argv[3] ?? 4);
const BUILDS = Number(process.argv[4] ?? 10);
const DAY = 86_400_000;
const loads = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const dataDir = mkdtempSync(join(tmpdir(), 'quarters-bench-retention-'));
try {
  const db = openDatabase(dataDir);
  const store = new BuildStore(db);
  const made = performance.now();
  const blob = Buffer.alloc(1024, 7);
  for (let s = 0; s < SETS; s++) {
    const ns = store.createNamespace({ name: `set-${s}`, origin: [`p${s}-0@main`], kind: 'api', packager: null, target_branch: 'main', mr_project_id: null, mr_iid: null });
    for (let n = 1; n <= ITERATIONS; n++) {
      const planned = Array.from({ length: BUILDS }, (_, b) => ({
        pkgbase: `p${s}-${b}`, arch: 'x86_64', pass: 1, project_id: b + 1, project_path: `packages/p${s}-${b}`, ref: 'main', sha: String(n).padStart(40, '0'),
        version: `${n}-1`, dependsOn: [], input_key: `${n}`, state: 'built', packager: null, because: null,
      }));
      const iteration = store.addIteration(ns.id, 'bench', { cycles: [], unresolved: [] }, planned);
      const generation = join(dataDir, 'repos', ns.name, String(n), '.x86_64.gen-1-bench');
      mkdirSync(generation, { recursive: true });
      symlinkSync('.x86_64.gen-1-bench', join(dataDir, 'repos', ns.name, String(n), 'x86_64'));
      writeFileSync(join(generation, 'quarters.db.tar.gz'), blob);
      for (const build of store.builds(iteration.id)) {
        const file = `${build.pkgbase}-${n}-1-x86_64.pkg.tar.zst`;
        mkdirSync(join(dataDir, 'pool', String(build.id)), { recursive: true });
        writeFileSync(join(dataDir, 'pool', String(build.id), file), blob);
        linkSync(join(dataDir, 'pool', String(build.id), file), join(generation, file));
        store.putArtifact(build.id, { filename: file, sha256: '0'.repeat(64), size: blob.length, jobId: 1 });
      }
    }
  }
  console.log(`made ${SETS} build sets × ${ITERATIONS} iterations × ${BUILDS} builds in ${((performance.now() - made) / 1000).toFixed(1)} s (not timed below)`);

  const log = pino({ level: 'warn' });
  const engine = new BuildSetEngine(store, new Repositories(dataDir, 'pkgbuild'), () => { throw new Error('no planning'); }, { flavour: 'pkgbuild', architectures: ['x86_64'], maxInFlight: 4, cycleRebuild: 'none' }, { carriesInFlight: true, dispatch: async () => {}, cancel: async () => {} }, log);
  const collector = new GarbageCollector({
    dataDir, retention: new RetentionStore(db), engine, distribution: new DistributionRepositories({}, ['x86_64'], null), log,
    policy: { keepIterations: 1, supersededAfterMs: DAY, retiredAfterMs: DAY, logsAfterMs: null },
  });
  const now = Date.now() + 2 * DAY;
  const timed = async (name, dryRun) => {
    const [wall, cpu] = [performance.now(), cpuMs()];
    const report = await collector.collect({ dryRun, now });
    const line = `${name.padEnd(8)} ${(performance.now() - wall).toFixed(0).padStart(6)} ms wall ${(cpuMs() - cpu).toFixed(0).padStart(6)} ms CPU   ${report.iterations.length} iterations, ${report.files.length} files, ${report.total_bytes} bytes freed`;
    console.log(line);
  };
  console.log(`node ${process.version}, load average ${loads()}`);
  await timed('dry run', true);
  await timed('run', false);
  await timed('again', false);
  console.log(`load average after: ${loads()}`);
  db.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
