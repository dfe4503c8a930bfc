/* global console, process */
// Benchmark: parsing every .SRCINFO of the shared Arch dataset. Prints files per second.
// Times are the process's CPU time (user + system), which other load on the machine disturbs less than wall time.
// Run: npm run bench:srcinfo
import { resolve } from 'node:path';
import { readTree } from '../dist/cli/input.js';
import { isSrcinfoPath, parseSrcinfoTree } from '../dist/core/recipe/srcinfo.js';

/** CPU milliseconds this process has used. */
function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const archive = resolve(process.cwd(), '../shared/datasets/archlinux-srcinfo/srcinfo.tar.xz');
const readStart = Date.now();
const files = await readTree(archive, isSrcinfoPath);
const readMs = Date.now() - readStart;
const bytes = files.reduce((sum, file) => sum + file.text.length, 0);

const ROUNDS = 20;
parseSrcinfoTree(files); // warm-up
const times = [];
let packages = 0;
for (let round = 0; round < ROUNDS; round++) {
  const start = cpuMs();
  packages = parseSrcinfoTree(files).packages.length;
  times.push(cpuMs() - start);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`read ${files.length} .SRCINFO files (${(bytes / 1e6).toFixed(1)} MB) from the tar.xz in ${readMs.toFixed(0)} ms wall time`);
console.log(`parse all into ${packages} source packages: median ${median.toFixed(1)} ms CPU of ${ROUNDS} rounds (min ${times[0].toFixed(1)} ms) = ${Math.round(files.length / (median / 1000))} files/s`);
