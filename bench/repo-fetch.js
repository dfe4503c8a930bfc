/* global console, process, performance */
// Benchmark: a wave of J jobs fetching their build set's repository at once, as the executor's
// prepare does (src/executor/build-set-repository/): N real pacman packages of SIZE KiB (incompressible
// payload), indexed by the server's own code (repo-add), served over HTTP on 127.0.0.1; each job
// verifies everything into a directory of its own, with a checksum cache shared by the wave.
// Prints, for a cold cache, a warm one and no cache at all: the wave's wall time, the downloads of
// each job, and the package downloads the server served.
// Run: npm run bench:repo-fetch [-- N J SIZE_KIB ROUNDS]   (defaults: 50 8 256 3)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchBuildSetRepository, httpSource, PackageCache } from '../dist/executor/build-set-repository/index.js';
import { Repositories } from '../dist/server/artifacts/repository.js';

const [N, J, SIZE_KIB, ROUNDS] = [50, 8, 256, 3].map((fallback, i) => Number(process.argv[2 + i] ?? fallback));
const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-repo-'));

// The build set's packages, as uploads would have put them into data_dir/repos/bench/1/x86_64/.
const packages = [];
for (let i = 0; i < N; i++) {
  const name = `bench-package-${i}`;
  const content = join(dir, 'src', name);
  mkdirSync(join(content, 'usr/share', name), { recursive: true });
  writeFileSync(join(content, '.PKGINFO'), `pkgname = ${name}\npkgbase = ${name}\npkgver = 1.0-1\narch = x86_64\nsize = ${SIZE_KIB * 1024}\n`);
  writeFileSync(join(content, 'usr/share', name, 'payload'), randomBytes(SIZE_KIB * 1024));
  const path = join(dir, `${name}-1.0-1-x86_64.pkg.tar.zst`);
  execFileSync('tar', ['--zstd', '-cf', path, '-C', content, '.PKGINFO', 'usr']);
  packages.push({ poolPath: path, filename: `${name}-1.0-1-x86_64.pkg.tar.zst` });
}
const repositories = new Repositories(join(dir, 'data'), 'pkgbuild');
await repositories.add('bench', 1, 'x86_64', packages);
const repoDir = repositories.dir('bench', 1, 'x86_64');
const totalBytes = packages.reduce((sum, p) => sum + statSync(p.poolPath).size, 0);

// GET /repos/bench/1/x86_64/ (the listing) and its files, as src/server/artifacts/repos-route.ts answers them.
let packageGets = 0;
const server = createServer((req, res) => {
  const file = decodeURIComponent(req.url.slice('/repos/bench/1/x86_64/'.length));
  if (file === '') {
    const files = readdirSync(repoDir).filter((n) => !n.startsWith('.')).map((name) => ({ name, size: statSync(join(repoDir, name)).size }));
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ namespace: 'bench', iteration: 1, arch: 'x86_64', files }));
  }
  if (file.endsWith('.pkg.tar.zst')) packageGets++;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(statSync(join(repoDir, file)).size) });
  createReadStream(join(repoDir, file)).pipe(res);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/repos/bench/1/x86_64/`;

/** One wave: J concurrent fetches into job directories of their own. */
async function wave(cache) {
  const jobs = mkdtempSync(join(dir, 'jobs-'));
  packageGets = 0;
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: J }, (_, j) => fetchBuildSetRepository(httpSource(url), join(jobs, `job-${j}`, 'repository'), { cache, log: () => {} })));
  const ms = performance.now() - started;
  rmSync(jobs, { recursive: true, force: true });
  return { ms, downloads: results.map((r) => r.packages - r.fromCache), gets: packageGets, bytes: results.reduce((sum, r) => sum + r.bytesDownloaded, 0) };
}

const rows = { 'cold cache': [], 'warm cache': [], 'no cache': [] };
for (let round = 0; round < ROUNDS; round++) {
  const cacheDir = join(dir, `cache-${round}`);
  rows['cold cache'].push(await wave(new PackageCache(cacheDir)));
  rows['warm cache'].push(await wave(new PackageCache(cacheDir)));
  rows['no cache'].push(await wave(null));
  rmSync(cacheDir, { recursive: true, force: true });
}

const mib = (bytes) => (bytes / 1024 ** 2).toFixed(1);
console.log(`repo-fetch: ${N} packages of ${SIZE_KIB} KiB (${mib(totalBytes)} MiB), a wave of ${J} concurrent jobs over 127.0.0.1, ${ROUNDS} rounds (best / median wall time)`);
for (const [what, runs] of Object.entries(rows)) {
  const times = runs.map((r) => r.ms).sort((a, b) => a - b);
  const last = runs[runs.length - 1];
  console.log(`  ${what.padEnd(10)}  ${times[0].toFixed(0)} / ${times[Math.floor(times.length / 2)].toFixed(0)} ms   downloads per job: ${last.downloads.join(' ')}   package GETs served: ${last.gets}   downloaded: ${mib(last.bytes)} MiB`);
}
server.close();
rmSync(dir, { recursive: true, force: true });
