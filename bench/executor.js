/* global console, process, Buffer */
// Benchmark of quarters-executor's per-job overhead: prepare + run(`true`) + cleanup through the real
// CLI, against the raw sequence it wraps (overlay mount + systemd-nspawn `true` + umount) and against
// copying the base the way devtools does without btrfs (rsync of the tree, nspawn on the copy, rm).
// Each is measured on a tiny busybox base and on the same base grown by ~300 MB, in the same run.
// Also times three bare `node -e 0` starts: the per-process cost the protocol imposes before our code runs.
// Prints best and median of N rounds. Needs root. Usage: npm run bench:executor [-- ROUNDS]
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rounds = Number(process.argv[2] ?? 7);
const here = dirname(fileURLToPath(import.meta.url));
const executor = join(here, '..', 'dist', 'executor', 'quarters-executor.cjs');
const systemd = spawnSync('test', ['-d', '/run/systemd/system']).status === 0;
const nspawnFlags = ['--quiet', '--as-pid2', '--pipe', '--kill-signal=SIGKILL', '--link-journal=no', '--timezone=off', '--private-network', '--resolv-conf=off', ...(systemd ? [] : ['--register=no', '--keep-unit'])];

if (process.getuid() !== 0) {
  console.error('bench:executor needs root (overlayfs, systemd-nspawn)');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-executor-'));
chmodSync(dir, 0o755);
const run = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
};
const time = (fn) => {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const stats = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { best: sorted[0], median: sorted[Math.floor(sorted.length / 2)] };
};

/** An executor installation with its own work_dir and a busybox base, optionally grown by `extraMb`. */
async function installation(name, extraMb) {
  const root = join(dir, name);
  mkdirSync(join(root, 'sources'), { recursive: true });
  writeFileSync(join(root, 'sources', 'stable.list'), '# bench\n');
  const config = join(root, 'executor.toml');
  writeFileSync(config, `work_dir = "${join(root, 'work')}"\nsource_lists = "${join(root, 'sources')}"\nhost_user = "65534:65534"\n[instance]\nrefresh_minutes = 100000\n`);
  const env = { QUARTERS_EXECUTOR_CONFIG: config };
  run('node', [executor, 'baseos', 'load', '--busybox'], env);
  const current = join(root, 'work', 'baseos', 'versions', basename(readlinkSync(join(root, 'work', 'baseos', 'current'))), 'root');
  if (extraMb > 0) {
    // Many middling files, as a real base has: 100 KiB each.
    const filler = join(current, 'usr', 'share', 'filler');
    mkdirSync(filler, { recursive: true });
    const chunk = Buffer.alloc(100 * 1024, 'q');
    for (let i = 0; i < extraMb * 10; i++) writeFileSync(join(filler, `f${i}`), chunk);
  }
  const du = execFileSync('du', ['-sm', current]).toString().split('\t')[0];
  return { root, env, base: current, sizeMb: Number(du) };
}

function executorRound(inst, id) {
  const env = { ...inst.env, CUSTOM_ENV_CI_JOB_ID: String(id), CUSTOM_ENV_CI_PROJECT_ID: '1', CUSTOM_ENV_CI_RUNNER_SHORT_TOKEN: 'bench' };
  const script = join(inst.root, 'script');
  writeFileSync(script, '#!/usr/bin/env bash\ntrue\n', { mode: 0o700 });
  return time(() => {
    run('node', [executor, 'prepare'], env);
    run('node', [executor, 'run', script, 'step_script'], env);
    run('node', [executor, 'cleanup'], env);
  });
}

/** What the protocol costs before any of our code runs: GitLab Runner starts one process per command, three here. */
function nodeStartRound() {
  return time(() => {
    for (let i = 0; i < 3; i++) run('node', ['-e', '0']);
  });
}

function rawRound(inst, id) {
  const job = join(inst.root, `raw-${id}`);
  for (const sub of ['upper', 'work', 'root']) mkdirSync(join(job, sub), { recursive: true });
  const ms = time(() => {
    run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${inst.base},upperdir=${join(job, 'upper')},workdir=${join(job, 'work')}`, join(job, 'root')]);
    run('systemd-nspawn', [...nspawnFlags, `--machine=qbench-raw-${id}`, `--directory=${join(job, 'root')}`, 'true']);
    run('umount', [join(job, 'root')]);
  });
  rmSync(job, { recursive: true, force: true });
  return ms;
}

function rsyncRound(inst, id) {
  const copy = join(inst.root, `copy-${id}`);
  return time(() => {
    run('rsync', ['-a', '--delete', '-q', '-W', '-x', `${inst.base}/`, `${copy}/`]);
    run('systemd-nspawn', [...nspawnFlags, `--machine=qbench-copy-${id}`, `--directory=${copy}`, 'true']);
    rmSync(copy, { recursive: true, force: true });
  });
}

try {
  const small = await installation('small', 0);
  const large = await installation('large', 300);
  console.log(`quarters-executor bench: ${rounds} rounds, best and median in ms; systemd as PID 1: ${systemd}; load average ${execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ')}`);
  console.log('base            size   executor (best/median)   raw mount+nspawn+umount   rsync copy (devtools)   3 bare node starts   executor/raw   (executor - node starts)/raw');
  for (const inst of [small, large]) {
    const e = [];
    const r = [];
    const c = [];
    const n = [];
    // Warm-up: the first prepare builds the instance layer, and caches get filled.
    executorRound(inst, 9000);
    rawRound(inst, 9000);
    for (let i = 0; i < rounds; i++) {
      e.push(executorRound(inst, i));
      r.push(rawRound(inst, i));
      c.push(rsyncRound(inst, i));
      n.push(nodeStartRound());
    }
    const [se, sr, sc, sn] = [stats(e), stats(r), stats(c), stats(n)];
    const name = inst === small ? 'busybox' : 'busybox+300MB';
    console.log(`${name.padEnd(15)} ${String(inst.sizeMb).padStart(4)} MB ${`${se.best.toFixed(0)} / ${se.median.toFixed(0)}`.padStart(15)}          ${`${sr.best.toFixed(0)} / ${sr.median.toFixed(0)}`.padStart(13)}            ${`${sc.best.toFixed(0)} / ${sc.median.toFixed(0)}`.padStart(13)}   ${`${sn.best.toFixed(0)} / ${sn.median.toFixed(0)}`.padStart(13)}      ${(se.best / sr.best).toFixed(2)}x          ${((se.best - sn.best) / sr.best).toFixed(2)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
