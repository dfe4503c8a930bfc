/* global console, process, performance */
// The qemu backend against the nspawn backend, in the same run (issue 10): a job whose one step is
// `true`, through the runner emulator and the executor bundle on a busybox base OS, on each backend in
// turn: the whole job (config, prepare, every stage, cleanup), each executor command, and for VMs the
// boot to ready (qemu started until the guest runs the command) of every guest stage. Says which
// accelerator ran the VMs (KVM where the host virtualizes in hardware, TCG otherwise).
// Needs root. Usage: npm run bench:vm [-- ROUNDS]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { loadJobRig } from './support/job-rig.js';

const rounds = Number(process.argv[2] ?? 3);
if (process.getuid() !== 0) {
  console.error('bench:vm needs root (overlayfs, systemd-nspawn, qemu with shares)');
  process.exit(1);
}
const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (x) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(2));

const { runJob, createExecutorFixture, EXECUTOR } = await loadJobRig();
const backends = ['nspawn', 'qemu'];
const fixtures = {};
for (const backend of backends) fixtures[backend] = await createExecutorFixture('', { backend });
const figures = Object.fromEntries(backends.map((b) => [b, { job: [], boots: [], commands: {} }]));
let accelerator = null;
console.log(`bench:vm: ${rounds} rounds, a one-step job (true) on a busybox base, load ${load()}, ${execFileSync('nproc').toString().trim()} CPUs`);
let id = 1;
try {
  for (let round = 1; round <= rounds; round++) {
    for (const backend of backends) {
      const started = performance.now();
      const marks = [];
      const result = await runJob(
        { id: id++, projectId: 7, steps: [{ name: 'script', script: ['true'] }] },
        { executor: EXECUTOR, env: fixtures[backend].env, onCommand: (verb, stage) => marks.push({ what: stage ?? verb, at: performance.now() }) },
      );
      const ended = performance.now();
      if (result.outcome !== 'success') throw new Error(`the ${backend} job failed (${result.outcome}):\n${result.trace}`);
      const f = figures[backend];
      // The first round of a backend includes the instance refresh: reported, kept out of the medians.
      const wall = (ended - started) / 1000;
      marks.forEach((mark, i) => {
        const seconds = ((marks[i + 1]?.at ?? ended) - mark.at) / 1000;
        if (round > 1 || rounds === 1) (f.commands[mark.what] ??= []).push(seconds);
      });
      for (const match of result.trace.matchAll(/VM ready in ([\d.]+) s \((kvm|tcg): ([^)]*\)?)\)/g)) {
        f.boots.push(Number(match[1]));
        accelerator ??= `${match[2]} (${match[3]})`;
      }
      if (round > 1 || rounds === 1) f.job.push(wall);
      console.log(`round ${round} ${backend.padEnd(6)}: whole job ${s(wall)} s${round === 1 && rounds > 1 ? ' (first: the instance is made)' : ''}, load ${load()}`);
    }
  }
} finally {
  for (const fixture of Object.values(fixtures)) await fixture.remove();
}
console.log(`\nVMs ran under ${accelerator ?? 'no VM'}`);
console.log('median seconds            nspawn     qemu');
console.log(`whole job              ${s(median(figures.nspawn.job)).padStart(9)} ${s(median(figures.qemu.job)).padStart(8)}`);
const verbs = [...new Set([...Object.keys(figures.nspawn.commands), ...Object.keys(figures.qemu.commands)])];
for (const verb of verbs) console.log(`  ${verb.padEnd(21)}${s(median(figures.nspawn.commands[verb] ?? [])).padStart(9)} ${s(median(figures.qemu.commands[verb] ?? [])).padStart(8)}`);
console.log(`VM boot to ready (each guest stage): median ${s(median(figures.qemu.boots))} s, min ${s(Math.min(...figures.qemu.boots))} s, max ${s(Math.max(...figures.qemu.boots))} s over ${figures.qemu.boots.length} boots`);
console.log(`load at the end: ${load()}`);
