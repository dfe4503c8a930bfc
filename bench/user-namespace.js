/* global console, process */
// What user namespaces (isolation.user_namespace) cost the executor:
//  1. once per base OS version: the copy of its tree owned by the guests' ids (BaseOsStore.forGuestIds,
//     baseos/shift.ts), timed on a real base (the Arch test base scripts/make-base caches, or any tree);
//  2. per container start: a guest command (`true`) through the nspawn backend's Environment, the job's
//     layers over that base, with and without the user namespace, alternating, same layers otherwise.
// Needs root and `npm run build` (it imports dist/). Usage: npm run bench:user-namespace [-- ROUNDS [TREE]]
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyShifted } from '../dist/executor/baseos/shift.js';
import { nspawnBackend } from '../dist/executor/backends/nspawn/index.js';

const rounds = Number(process.argv[2] ?? 11);
const cache = '/var/cache/quarters-test';
const tree = process.argv[3] ?? (existsSync(cache) ? readdirSync(cache).filter((n) => /^base-.*-arch-[0-9a-f]+$/.test(n)).map((n) => join(cache, n))[0] : undefined);
const ID_BASE = 0x70000000;

if (process.getuid() !== 0) {
  console.error('bench:user-namespace needs root (chown, overlayfs, systemd-nspawn)');
  process.exit(1);
}
if (!tree) {
  console.error(`no tree to shift: pass one (a base OS root), or make the Arch test base (scripts/make-base --profile arch, cached in ${cache})`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-userns-'));
chmodSync(dir, 0o755);
const time = async (fn) => {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const stats = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { best: sorted[0], median: sorted[Math.floor(sorted.length / 2)] };
};
const load = () => execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ');

try {
  const size = execFileSync('du', ['-sm', tree]).toString().split('\t')[0];
  const files = execFileSync('sh', ['-c', 'find "$1" -xdev | wc -l', 'count', tree]).toString().trim();
  console.log(`user namespace bench: ${tree} (${size} MB, ${files} files); load average ${load()}`);

  // 1. The shift: three copies (the first reads the tree from disk, as the first job after a load does not: the load just wrote it).
  const shifted = join(dir, 'shifted');
  const shifts = [];
  for (let i = 0; i < 3; i++) {
    rmSync(shifted, { recursive: true, force: true });
    mkdirSync(join(dir, 'scratch'), { recursive: true });
    mkdirSync(shifted);
    shifts.push(await time(() => copyShifted(tree, shifted, { into: ID_BASE }, join(dir, 'scratch'))));
  }
  console.log(`shift of the base (once per version): ${shifts.map((ms) => (ms / 1000).toFixed(1)).join(' s, ')} s`);

  // 2. A container start on the job's layers, each way.
  const environments = {};
  for (const [name, idBase, lower] of [['host ids', null, tree], ['user namespace', ID_BASE, shifted]]) {
    const workspace = join(dir, name.replace(' ', '-'));
    mkdirSync(workspace);
    const environment = nspawnBackend(idBase).environment({ name: `qbench-${name.replace(' ', '-')}`, workspace, base: { version: 'bench', path: lower }, instance: null, binds: [], limits: { memoryMib: 0, cpus: 0, pids: 4096, tmpfsMib: 1024 } });
    await environment.setup();
    environments[name] = environment;
  }
  const samples = { 'host ids': [], 'user namespace': [] };
  for (let i = 0; i < rounds + 1; i++) {
    for (const name of Object.keys(environments)) {
      const ms = await time(async () => {
        const result = await environments[name].exec({ command: ['true'], network: false, stdout: 'ignore', stderr: 'inherit' });
        if (result.exitCode !== 0) throw new Error(`${name}: ${result.detail}`);
      });
      // The first round warms the caches.
      if (i > 0) samples[name].push(ms);
    }
  }
  for (const environment of Object.values(environments)) await environment.destroy();
  const [plain, userns] = [stats(samples['host ids']), stats(samples['user namespace'])];
  console.log(`container start, \`true\` (best / median of ${rounds}, ms): host ids ${plain.best.toFixed(0)} / ${plain.median.toFixed(0)}, user namespace ${userns.best.toFixed(0)} / ${userns.median.toFixed(0)}, added ${(userns.median - plain.median).toFixed(0)} ms (median)`);
  console.log(`load average after: ${load()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
