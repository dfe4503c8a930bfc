/* global console, process, performance */
// The graph benchmark on Debian bookworm amd64 (../shared/datasets/debian-bookworm):
//   (a) loading: decompress + parse Sources.xz and Packages.xz, build the binary index and the
//       planning graph (every dependency resolved once);
//   (b) `quarters graph rdeps zlib1g` end to end, the real CLI in its own process, parsing included;
//   (c) `plan zlib` once loaded.
// Each run is a fresh process, so peak RSS is that run's own; the figure kept is the best of the runs.
// Usage: npm run bench:graph  (builds first)   or   node bench/graph.js [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const data = resolve(root, '../shared/datasets/debian-bookworm');
const SOURCES = `${data}/Sources.xz`;
const PACKAGES = `${data}/Packages.xz`;
const MAIN = resolve(root, 'dist/cli/main.js');
// dose-ceve -r zlib1g --deb-native-arch=amd64 -T deb deb://Packages (dose-extra 7.0.0), on the same Packages.
const DOSE = { count: 39_945, sha256: 'c0459b4792bfa9c50cd814bdc40ef3d4c174b92b26a368a9db3c9c73626ee44e' };
const PLANS_PER_PROCESS = 10;

const { values } = parseArgs({ options: { runs: { type: 'string' }, child: { type: 'string' } } });


/** One measurement in this (fresh) process; answers with its figures as JSON. */
async function child(which) {
  const { loadUniverse } = await import('../dist/cli/universe-load.js');
  const { dependencyGraphFor, planBuildSet } = await import('../dist/core/graph/plan.js');
  const started = performance.now();
  const { universe } = await loadUniverse({ kind: 'debian', sources: SOURCES, packages: PACKAGES }, { sources: true });
  const parsed = performance.now();
  const graph = dependencyGraphFor(universe, 'amd64');
  const loaded = performance.now();
  const cpu = process.cpuUsage();
  const result = { parseMs: parsed - started, loadMs: loaded - started, loadCpuMs: (cpu.user + cpu.system) / 1000, sources: graph.sources.length, binaries: graph.index.entries.length, edges: graph.edgeCount };
  if (which === 'plan') {
    result.planMs = [];
    result.planCpuMs = [];
    for (let i = 0; i < PLANS_PER_PROCESS; i++) {
      const t = performance.now();
      const before = process.cpuUsage();
      const plan = planBuildSet(graph, { arch: 'amd64', origins: ['zlib'] });
      const used = process.cpuUsage(before);
      result.planMs.push(performance.now() - t);
      result.planCpuMs.push((used.user + used.system) / 1000);
      result.summary = `packages=${plan.packages.length} waves=${plan.waves.length} cycles=${plan.cycles.length}`;
    }
  }
  result.maxRssMb = process.resourceUsage().maxRSS / 1024;
  return result;
}

function runChild(which) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', which], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out);
}

/** The real CLI under GNU time: wall seconds, peak RSS, and its output. */
function runCli(args) {
  const run = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', process.execPath, MAIN, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (run.status !== 0) throw new Error(`quarters ${args.join(' ')} failed: ${run.stderr}`);
  const [wall, rssKb, user, system] = run.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { wallMs: wall * 1000, maxRssMb: rssKb / 1024, cpuMs: (user + system) * 1000, stdout: run.stdout };
}

const min = (xs) => Math.min(...xs);
const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

async function parent(runs) {
  if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npm run build` (npm run bench:graph does)');
  for (const file of [SOURCES, PACKAGES]) if (!existsSync(file)) throw new Error(`${file} is missing`);
  console.log(`graph benchmark: node ${process.version}, ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at start`);
  console.log(`best of ${runs} runs, each in a fresh process (figures taken while other jobs load the machine are noisy)\n`);

  const load = Array.from({ length: runs }, () => runChild('load'));
  const first = load[0];
  console.log(`(a) load: Sources.xz + Packages.xz -> binary index + planning graph (amd64; ${first.sources} sources, ${first.binaries} binaries, ${first.edges} edges)`);
  console.log(`    best ${fmtMs(min(load.map((r) => r.loadMs)))} wall (of which decompress + parse ${fmtMs(min(load.map((r) => r.parseMs)))}), ${fmtMs(min(load.map((r) => r.loadCpuMs)))} CPU on the main process; peak RSS ${min(load.map((r) => r.maxRssMb)).toFixed(0)} MB`);
  console.log(`    command: node bench/graph.js --child load\n`);

  const rdepsArgs = ['graph', 'rdeps', '--from', `debian:,${PACKAGES}`, 'zlib1g'];
  const rdeps = Array.from({ length: runs }, () => runCli(rdepsArgs));
  const lines = rdeps[0].stdout.trimEnd().split('\n');
  const summary = lines.pop();
  const hash = createHash('sha256').update(lines.map((l) => `${l}\n`).sort().join('')).digest('hex');
  const same = lines.length === DOSE.count && hash === DOSE.sha256;
  console.log(`(b) rdeps zlib1g end to end (decompress + parse Packages.xz, index, closure, print)`);
  console.log(`    best ${fmtMs(min(rdeps.map((r) => r.wallMs)))} wall, ${fmtMs(min(rdeps.map((r) => r.cpuMs)))} CPU (node and xz together), peak RSS ${min(rdeps.map((r) => r.maxRssMb)).toFixed(0)} MB; ${summary}`);
  console.log(`    dose-ceve -r zlib1g: ${DOSE.count} packages; ours ${same ? 'the same list (sha256 of the sorted "name version" lines matches)' : `DIFFERS (${lines.length} packages, sha256 ${hash})`}`);
  console.log(`    command: quarters ${rdepsArgs.join(' ').replace(data, '../shared/datasets/debian-bookworm')}\n`);

  const plan = Array.from({ length: Math.max(1, Math.ceil(runs / 2)) }, () => runChild('plan'));
  const times = plan.flatMap((r) => r.planMs);
  console.log(`(c) plan zlib once loaded (${plan[0].summary})`);
  const cpuTimes = plan.flatMap((r) => r.planCpuMs);
  console.log(`    best ${fmtMs(min(times))} wall, ${fmtMs(min(cpuTimes))} CPU; first in a process ${fmtMs(min(plan.map((r) => r.planMs[0])))}, median ${fmtMs(times.sort((x, y) => x - y)[times.length >> 1])} of ${times.length}; peak RSS of the process ${min(plan.map((r) => r.maxRssMb)).toFixed(0)} MB`);
  console.log(`    command: node bench/graph.js --child plan  (planBuildSet(graph, { arch: 'amd64', origins: ['zlib'] }), ${PLANS_PER_PROCESS} times)`);
  console.log(`\nload average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at end`);
}

if (values.child) {
  process.stdout.write(JSON.stringify(await child(values.child)));
} else {
  await parent(Number(values.runs ?? 5));
}
