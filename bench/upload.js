/* global console, process, setInterval, clearInterval, setTimeout, Buffer, performance */
// Benchmark: one large package upload over loopback, to quarters' upload endpoint and to nginx, in one run.
//
// quarters: PUT /api/v1/builds/:id/artifacts/:filename on a server with a dispatched build whose job
//           runs in the GitLab double (test/server/server-harness.ts, via bench/support/server-harness.js): the whole
//           upload, as the executor makes it — tokens checked with GitLab, the body streamed to disk
//           with its sha256 (and, piped to bsdtar as it arrives, its file list for the pacman index) and
//           fsynced before the answer, the package's .PKGINFO checked, the repository's index written
//           (pacman-index.ts: the db entries from what the upload learnt, no re-reading of the package), 201.
// nginx:    started here on a loopback port with `dav_methods PUT`: it reads the whole body into its
//           temporary file and renames it into a directory. nginx does NOT fsync: its 201 means the file is
//           in the page cache. So each round also times an fdatasync of nginx's file right after its 201
//           (`sync --data`): nginx plus that is what the same durability would cost it. Installed with
//           apt-get if missing.
// The client is curl (`--upload-file`), the same for both. Each round also times dd writing the same file
// with an fdatasync to the same file system: what durability alone costs on this disk (nginx does not fsync). The package is a real pacman package of
// SIZE_MIB MiB (.PKGINFO and an incompressible payload). The server runs in this process; its RSS is
// sampled every 20 ms during each upload, and the growth over the RSS before it is reported, with the CPU
// time the server process used (its threads, not the bsdtar and tar it starts) and nginx's: on a machine
// shared with other work, CPU time is the figure the load changes least.
// Run: npm run bench:upload [-- SIZE_MIB ROUNDS]   (defaults: 1024 3)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerHarness } from './support/server-harness.js';

const [SIZE_MIB, ROUNDS] = [1024, 3].map((fallback, i) => Number(process.argv[2 + i] ?? fallback));
const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-upload-'));
const loads = () => loadavg().map((l) => l.toFixed(2)).join(' ');

function ensureNginx() {
  if (spawnSync('sh', ['-c', 'command -v nginx || test -x /usr/sbin/nginx']).status === 0) return;
  console.log('nginx is missing: apt-get install -y nginx');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'nginx'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startNginx() {
  const base = join(dir, 'nginx');
  for (const sub of ['body', 'store', 'logs']) mkdirSync(join(base, sub), { recursive: true });
  const port = await freePort();
  writeFileSync(join(base, 'nginx.conf'), `
worker_processes 1;
daemon off;
master_process off;
pid ${base}/nginx.pid;
error_log ${base}/logs/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${base}/body;
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      root ${base}/store;
      dav_methods PUT;
      create_full_put_path on;
    }
  }
}
`);
  const proc = spawn('/usr/sbin/nginx', ['-p', base, '-c', join(base, 'nginx.conf')], { stdio: 'inherit' });
  // nginx has no "ready" signal here: wait until the port answers.
  for (let i = 0; i < 100; i++) {
    if (spawnSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`]).status === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, url: `http://127.0.0.1:${port}`, store: join(base, 'store') };
}

/** A pacman package of `mib` MiB: .PKGINFO for zlib 1.1-1 (the build runningBuilds dispatches) and random bytes. */
function makePackage(mib) {
  const content = join(dir, 'content');
  mkdirSync(join(content, 'usr/share/zlib'), { recursive: true });
  writeFileSync(join(content, '.PKGINFO'), ['pkgname = zlib', 'pkgbase = zlib', 'pkgver = 1.1-1', 'pkgdesc = bench', 'builddate = 1700000000', 'packager = Jane Packager <jane@example.org>', `size = ${mib << 20}`, 'arch = x86_64', ''].join('\n'));
  const fd = openSync(join(content, 'usr/share/zlib/payload'), 'w');
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++) writeSync(fd, randomFillSync(chunk));
  closeSync(fd);
  const path = join(dir, 'zlib-1.1-1-x86_64.pkg.tar.zst');
  execFileSync('tar', ['--zstd', '-cf', path, '-C', content, '.PKGINFO', 'usr']);
  rmSync(content, { recursive: true, force: true });
  return path;
}

function sha256(path) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (d) => hash.update(d)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}

/** curl --upload-file; resolves with curl's figures (seconds) and the response status. */
function curl(url, file, headers) {
  return new Promise((resolve, reject) => {
    const args = ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_total} %{speed_upload}', '--upload-file', file, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
    const proc = spawn('curl', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.on('error', reject);
    proc.on('exit', () => {
      const [status, seconds, speed] = out.trim().split(' ');
      resolve({ status: Number(status), seconds: Number(seconds), mibPerSecond: Number(speed) / 2 ** 20 });
    });
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat (clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs `work` while sampling this process's RSS; resolves with its result, the RSS growth (MiB) and the CPU seconds this process used. */
async function sampled(work) {
  const cpu = process.cpuUsage();
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    const used = process.cpuUsage(cpu);
    return { result, growthMiB: (peak - before) / 2 ** 20, cpu: (used.user + used.system) / 1e6 };
  } finally {
    clearInterval(timer);
  }
}

ensureNginx();
const { startRig, runningBuilds, EXECUTOR_TOKEN } = await loadServerHarness();
const { pino } = await import('pino');
// The server's 'artifact stored' lines carry where the time went (ms.receive, ms.check_and_index).
const stored = [];
const log = pino({ level: 'info' }, { write: (line) => { const entry = JSON.parse(line); if (entry.msg === 'artifact stored') stored.push(entry.ms); } });

console.log(`upload of one ${SIZE_MIB} MiB package over 127.0.0.1 (curl --upload-file), quarters (fsyncs before its 201) and nginx (does not fsync), ${ROUNDS} rounds; load average at start ${loads()}`);
const file = makePackage(SIZE_MIB);
const checksum = await sha256(file);
const rig = await startRig({ log });
const { buildId, jobToken } = await runningBuilds(rig);
const nginx = await startNginx();
const headers = { Authorization: `Bearer ${EXECUTOR_TOKEN}`, 'X-Job-Token': jobToken, 'X-Checksum-Sha256': checksum, 'Content-Type': 'application/octet-stream' };
const figures = { quarters: [], nginx: [], dd: [] };
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const q = await sampled(() => curl(`${rig.url}/api/v1/builds/${buildId}/artifacts/zlib-1.1-1-x86_64.pkg.tar.zst`, file, headers));
    if (q.result.status !== 201) throw new Error(`quarters answered ${q.result.status}`);
    const phases = stored.at(-1);
    figures.quarters.push({ ...q.result, growthMiB: q.growthMiB, cpu: q.cpu, receive: phases.receive / 1000 });
    // The floor for any receiver that makes the file durable: this disk writing it with an fdatasync (dd conv=fdatasync).
    const d = performance.now();
    execFileSync('dd', [`if=${file}`, `of=${join(dir, 'dd.out')}`, 'bs=4M', 'conv=fdatasync', 'status=none']);
    const ddSeconds = (performance.now() - d) / 1000;
    rmSync(join(dir, 'dd.out'));
    figures.dd.push(ddSeconds);
    const nginxCpu = cpuSeconds(nginx.proc.pid);
    const n = await curl(`${nginx.url}/round-${round}.pkg.tar.zst`, file, {});
    n.cpu = cpuSeconds(nginx.proc.pid) - nginxCpu;
    if (n.status !== 201) throw new Error(`nginx answered ${n.status}`);
    const s = performance.now();
    execFileSync('sync', ['--data', join(nginx.store, `round-${round}.pkg.tar.zst`)]);
    n.synced = n.seconds + (performance.now() - s) / 1000;
    rmSync(join(nginx.store, `round-${round}.pkg.tar.zst`));
    figures.nginx.push(n);
    const mibs = (s) => (SIZE_MIB / s).toFixed(0);
    console.log(`round ${round}: quarters ${q.result.seconds.toFixed(2)} s (${mibs(q.result.seconds)} MiB/s; body received, hashed and fsynced in ${(phases.receive / 1000).toFixed(2)} s, checked and indexed in ${(phases.check_and_index / 1000).toFixed(2)} s; RSS +${q.growthMiB.toFixed(1)} MiB; server process CPU ${q.cpu.toFixed(2)} s), nginx ${n.seconds.toFixed(2)} s (${mibs(n.seconds)} MiB/s; not fsynced; CPU ${n.cpu.toFixed(2)} s), ratio ${(n.seconds / q.result.seconds).toFixed(2)}x; nginx then fdatasync of its file ${n.synced.toFixed(2)} s, ratio ${(n.synced / q.result.seconds).toFixed(2)}x; dd with fdatasync ${ddSeconds.toFixed(2)} s (${mibs(ddSeconds)} MiB/s); load average ${loads()}`);
  }
} finally {
  nginx.proc.kill('SIGTERM');
  await rig.close();
  rmSync(dir, { recursive: true, force: true });
}
const best = (list) => Math.min(...list.map((f) => f.seconds));
const q = best(figures.quarters);
const n = best(figures.nginx);
const ns = Math.min(...figures.nginx.map((f) => f.synced));
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor((list.length - 1) / 2)];
const r = Math.min(...figures.quarters.map((f) => f.receive));
console.log(`best: quarters ${q.toFixed(2)} s (receiving the body ${r.toFixed(2)} s; fsynced before the 201), nginx ${n.toFixed(2)} s (not fsynced), nginx then fdatasync ${ns.toFixed(2)} s, dd with fdatasync ${Math.min(...figures.dd).toFixed(2)} s; throughput ratio to nginx ${(n / q).toFixed(2)}x end to end, ${(n / r).toFixed(2)}x receiving, ${(ns / q).toFixed(2)}x to nginx then fdatasync; median quarters ${median(figures.quarters.map((f) => f.seconds)).toFixed(2)} s, nginx ${median(figures.nginx.map((f) => f.seconds)).toFixed(2)} s; largest RSS growth ${Math.max(...figures.quarters.map((f) => f.growthMiB)).toFixed(1)} MiB; load average at end ${loads()}`);
