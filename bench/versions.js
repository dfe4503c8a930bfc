/* global console, process */
// Benchmark: version ordering on real versions. Sorts every Debian bookworm source version with
// dpkg's ordering and every Arch .SRCINFO version with pacman's; prints comparisons per second.
// Times are the process's CPU time (user + system), which other load on the machine disturbs less than wall time.
// Run: npm run bench:versions
import { resolve } from 'node:path';
import { readInputText, readTree } from '../dist/cli/input.js';
import { isSrcinfoPath, parseSrcinfoTree } from '../dist/core/recipe/srcinfo.js';
import { compareVersions } from '../dist/core/version/index.js';

/** CPU milliseconds this process has used. */
function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const shared = resolve(process.cwd(), '../shared/datasets');
const sources = await readInputText(resolve(shared, 'debian-bookworm/Sources.xz'));
const debian = [...sources.matchAll(/^Version: (\S+)$/gm)].map((m) => m[1]);
const { packages } = parseSrcinfoTree(await readTree(resolve(shared, 'archlinux-srcinfo/srcinfo.tar.xz'), isSrcinfoPath));
const arch = packages.map((p) => p.version.text);

function measure(flavour, versions) {
  const ROUNDS = 7;
  const times = [];
  let comparisons = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    const copy = [...versions];
    comparisons = 0;
    const start = cpuMs();
    copy.sort((a, b) => {
      comparisons++;
      return compareVersions(flavour, a, b);
    });
    if (round > 0) times.push(cpuMs() - start); // round 0 warms up
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`${flavour}: sort ${versions.length} versions (${comparisons} comparisons) median ${median.toFixed(1)} ms CPU = ${Math.round(comparisons / (median / 1000)).toLocaleString('en')} comparisons/s`);
}

measure('debian', debian);
measure('pkgbuild', arch);
