/* global console, process */
// Benchmark of one quarters-executor invocation, against a bare `node -e 0` measured in the same run:
// GitLab Runner starts the executor once per stage (config, prepare, a dozen `run`s, cleanup), so what
// each start costs beyond Node's own start-up is per-stage overhead. Measures `--help` (loading the
// bundle only), `config`, a host stage `run` of a script that exits 0 (restore_cache: the stage
// sandbox, no git), and `cleanup` of a job that has no workspace. Runs are interleaved round by round,
// in a rotating order, so that the machine's load falls on all alike. Prints the wall time's mean, median
// and best in ms and the CPU time's median (user + system, with the child processes), each with its
// ratio to `node -e 0`. With --against FILE, another build of the executor (say, main's) runs
// the same commands in the same rounds, for a before/after that shares the machine's load; each build
// runs its own prepared job (a workspace's state is read unvalidated only by the build that wrote it).
// The executor keeps V8's code cache and the validated config root-only in /run/quarters-executor
// (src/executor/root-cache.ts); each command starts once before the rounds, so the rounds see them
// as every start on a runner host after its first job does. --no-cache runs the build without them
// (QUARTERS_EXECUTOR_CACHE_DIR=""), as a host's very first start.
// Needs root. Usage: npm run bench:executor-start [-- ROUNDS] [--against FILE] [--no-cache]
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { against: { type: 'string' }, 'no-cache': { type: 'boolean' } }, allowPositionals: true });
const rounds = Number(positionals[0] ?? 40);
const here = dirname(fileURLToPath(import.meta.url));
const executor = join(here, '..', 'dist', 'executor', 'quarters-executor.cjs');
const executors = [executor, ...(values.against ? [resolve(values.against)] : [])];

if (process.getuid() !== 0) {
  console.error('bench:executor-start needs root (the host stage sandbox, prepare)');
  process.exit(1);
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-executor-start-'));
chmodSync(dir, 0o755);
// Each start runs under bash's `time`, which reads the child's CPU time (user + system, the processes it
// started and waited for included) from getrusage: on a loaded machine the wall time swings with the
// other work, the CPU time much less.
const TIMED = 'TIMEFORMAT="%3R %3U %3S"; time "$@" >/dev/null 2>/dev/null </dev/null';
const run = (args, env) => {
  const r = spawnSync('bash', ['-c', TIMED, 'timed', process.execPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status})`);
  const [real, user, system] = r.stderr.toString().trim().split('\n').at(-1).split(' ').map((s) => Number(s) * 1000);
  return { wall: real, cpu: user + system };
};
const stats = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { mean: samples.reduce((a, b) => a + b, 0) / samples.length, median, best: sorted[0] };
};

try {
  mkdirSync(join(dir, 'sources'));
  writeFileSync(join(dir, 'sources', 'stable.list'), '# bench\n');
  const config = join(dir, 'executor.toml');
  // No disk limit: the job mount is a bind, so prepare needs no loop device.
  const configWritten = Date.now();
  writeFileSync(config, `work_dir = "${join(dir, 'work')}"\nsource_lists = "${join(dir, 'sources')}"\nhost_user = "65534:65534"\n[instance]\nrefresh_minutes = 100000\n[limits]\ndisk_mib = 0\n`);
  const base = { QUARTERS_EXECUTOR_CONFIG: config, ...(values['no-cache'] ? { QUARTERS_EXECUTOR_CACHE_DIR: '' } : {}) };
  const job = (id) => ({ ...base, CUSTOM_ENV_CI_JOB_ID: String(id), CUSTOM_ENV_CI_PROJECT_ID: '1', CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: String(id), CUSTOM_ENV_CI_RUNNER_SHORT_TOKEN: 'bench' });
  run([executor, 'baseos', 'load', '--busybox'], base);
  // A job of its own for each build (a workspace's state is each build's to read).
  const prepared = executors.map((file, index) => {
    const env = job(1 + 10 * index);
    run([file, 'prepare'], env);
    return env;
  });
  const script = join(dir, 'stage-script');
  writeFileSync(script, '#!/usr/bin/env bash\nexit 0\n', { mode: 0o700 });

  const cases = [['node -e 0', ['-e', '0'], {}]];
  executors.forEach((file, index) => {
    const name = (what) => (executors.length > 1 ? `${what} [${basename(dirname(dirname(dirname(file))))}]` : what);
    cases.push(
      [name('--help'), [file, '--help'], base],
      [name('config'), [file, 'config'], prepared[index]],
      [name('run (host stage)'), [file, 'run', script, 'restore_cache'], prepared[index]],
      [name('cleanup (no workspace)'), [file, 'cleanup'], job(2 + 10 * index)],
    );
  });
  const samples = cases.map(() => []);
  // The executor caches no config changed in the last 2 s (config-load.ts): the warm-up starts come later.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, 2100 - (Date.now() - configWritten)));
  for (const [, args, env] of cases) run(args, env);
  const loadBefore = loadavg();
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < cases.length; k++) {
      const c = (i + k) % cases.length;
      samples[c].push(run(cases[c][1], cases[c][2]));
    }
  }
  executors.forEach((file, index) => run([file, 'cleanup'], prepared[index]));
  const wall = (c) => stats(samples[c].map((sample) => sample.wall));
  const cpu = (c) => stats(samples[c].map((sample) => sample.cpu));
  const [nodeWall, nodeCpu] = [wall(0), cpu(0)];
  console.log(`quarters-executor start-up: ${rounds} interleaved rounds, ms; ${process.version}; ${execFileSync('nproc').toString().trim()} CPUs; load average ${loadBefore} before, ${loadavg()} after`);
  // Node loads NODE_EXTRA_CA_CERTS at every start (a whole CA bundle: some 30 ms of CPU here), which a bare `node -e 0` pays too: it shrinks every ratio.
  if (process.env.NODE_EXTRA_CA_CERTS) console.log(`NODE_EXTRA_CA_CERTS is set (${process.env.NODE_EXTRA_CA_CERTS}): every start, node -e 0 included, loads it; run with it unset (env -u NODE_EXTRA_CA_CERTS) for the ratios of a runner host without it`);
  console.log(`${'invocation'.padEnd(38)}  wall: mean  median    best  mean/node  median/node   CPU: median  median/node`);
  cases.forEach(([name], c) => {
    const [w, u] = [wall(c), cpu(c)];
    const ratio = (value, of) => `${(value / of).toFixed(2)}x`;
    console.log(`${name.padEnd(38)} ${w.mean.toFixed(1).padStart(10)} ${w.median.toFixed(1).padStart(7)} ${w.best.toFixed(1).padStart(7)} ${ratio(w.mean, nodeWall.mean).padStart(10)} ${ratio(w.median, nodeWall.median).padStart(12)} ${u.median.toFixed(1).padStart(13)} ${ratio(u.median, nodeCpu.median).padStart(12)}`);
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
