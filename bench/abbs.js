/* global console, process */
// Benchmark: parsing every package directory of the shared AOSC abbs tree (spec + autobuild/defines).
// Prints packages per second. Times are the process's CPU time (user + system), which other load on
// the machine disturbs less than wall time.
// Run: npm run bench:abbs
import { resolve } from 'node:path';
import { readTree } from '../dist/cli/input.js';
import { isAbbsRecipePath, parseAbbsTree } from '../dist/core/recipe/abbs.js';

/** CPU milliseconds this process has used. */
function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const archive = resolve(process.cwd(), '../shared/datasets/aosc-abbs/abbs-metadata.tar.xz');
const readStart = Date.now();
const files = await readTree(archive, isAbbsRecipePath);
const readMs = Date.now() - readStart;
const bytes = files.reduce((sum, file) => sum + file.text.length, 0);

const ROUNDS = 10;
parseAbbsTree(files); // warm-up
const times = [];
let packages = 0;
for (let round = 0; round < ROUNDS; round++) {
  const start = cpuMs();
  packages = parseAbbsTree(files).packages.length;
  times.push(cpuMs() - start);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`read ${files.length} spec and defines files (${(bytes / 1e6).toFixed(1)} MB) from the tar.xz in ${readMs.toFixed(0)} ms wall time`);
console.log(`parse all into ${packages} source packages: median ${median.toFixed(0)} ms CPU of ${ROUNDS} rounds (min ${times[0].toFixed(0)} ms) = ${Math.round(packages / (median / 1000))} packages/s`);
