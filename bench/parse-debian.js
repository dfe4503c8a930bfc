// Streaming-parses bookworm's Packages.xz and Sources.xz (decompression included, as the graph
// engine reads them) and prints the best-of-5 wall time, the parser's CPU time and the peak RSS.
// Each repetition runs in a fresh process so that its RSS and its heap start clean.
//
//   npm run bench:parse            (or: node bench/parse-debian.js [Packages|Sources ...])
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const DATASET = fileURLToPath(new URL('../../shared/datasets/debian-bookworm/', import.meta.url));
const REPETITIONS = 5;

async function child(index) {
  const { readDecompressed } = await import('../dist/cli/input.js');
  const { createDebianPackagesParser, createDebianSourcesParser, parseDebianStream } = await import('../dist/core/recipe/debian.js');
  const file = `${DATASET}${index}.xz`;
  const create = index === 'Packages' ? createDebianPackagesParser : createDebianSourcesParser;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await parseDebianStream(create(file), readDecompressed(file));
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    JSON.stringify({
      values: result.values.length,
      issues: result.issues.length,
      wallMs: wall,
      cpuMs: (used.user + used.system) / 1000,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      heapMiB: process.memoryUsage().heapUsed / 1024 / 1024,
    }),
  );
}

function main(indices) {
  for (const index of indices) {
    const runs = [];
    for (let i = 0; i < REPETITIONS; i++) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', index], { encoding: 'utf8' });
      runs.push(JSON.parse(out));
    }
    const best = runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    const median = (key) => runs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    console.log(
      `${index}.xz: ${best.values} stanzas, ${best.issues} issues; ` +
        `wall best ${best.wallMs.toFixed(0)} ms (median ${median('wallMs').toFixed(0)} ms) of ${REPETITIONS}; ` +
        `process CPU best ${Math.min(...runs.map((r) => r.cpuMs)).toFixed(0)} ms (median ${median('cpuMs').toFixed(0)} ms); ` +
        `peak RSS ${Math.max(...runs.map((r) => r.maxRssMiB)).toFixed(0)} MiB; heap after ${median('heapMiB').toFixed(0)} MiB`,
    );
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else main(process.argv.length > 2 ? process.argv.slice(2) : ['Packages', 'Sources']);
