/* global console, process, setTimeout, URL, fetch */
// Benchmark: accepting GitLab webhooks under load, side by side with a bare Hono endpoint, in one run.
//
// durable: POST /webhooks/gitlab as the server mounts it (secret checked, body bounded and validated
//          against the push schema, deduplicated, committed to the SQLite inbox in group commits whose
//          WAL is fsynced before the 202s; WAL checkpoints on a worker thread, as the server runs them);
//          processing is not part of it (no worker runs).
// bare:    a Hono app on the same @hono/node-server whose one route parses the same body as JSON
//          and answers 202.
// Each is its own process (the load generator, autocannon, runs in this one), and each delivery has a
// new X-Gitlab-Event-UUID, so every one is stored. Two figures per endpoint: sustained deliveries/s
// (as many as it takes, CONNECTIONS at a time) and latency at a fixed 1,000 deliveries/s. After
// each durable phase the bench checks that every 202 left exactly one row in the inbox. Each server
// also reports its own event-loop delay during the fixed-rate phase (perf_hooks.monitorEventLoopDelay):
// what of the latency is the server's, and what is the load generator's or the machine's.
// Run: npm run bench:webhooks [-- SECONDS CONNECTIONS ROUNDS]   (defaults: 10 64 2)
// BENCH_CHECKPOINTS=sqlite leaves the checkpoints to SQLite (in a commit, on the event loop): the comparison.
// The fixed rate runs first, on a server that has only had the warm-up; BENCH_ORDER=sustained-first runs
// it after the sustained phase instead. BENCH_PIN=1 (with `taskset -c 1 node bench/webhooks.js …`)
// keeps each server on CPU 0 and the load generator on CPU 1.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SECRET = 'bench-webhook-secret-0123456789';
const FIXED_RATE = 1000;
const PACERS = 50;
const body = readFileSync(fileURLToPath(new URL('../../shared/fixtures/gitlab-webhooks/push.json', import.meta.url)), 'utf8');


/** A server process: `durable` (the real route and inbox) or `bare`; prints its port, runs until killed. */
async function child(mode) {
  const { serve } = await import('@hono/node-server');
  const { Hono } = await import('hono');
  // The event loop's delay since the last reading, in ms: GET /bench/loop reads and resets it.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The server's own time per delivery, in µs: from the request reaching the app to its answer being ready.
  const served = createHistogram();
  const loop = new Hono().get('/bench/loop', (c) => {
    const figures = {
      p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6,
      servedP50: served.percentile(50) / 1e3, servedP99: served.percentile(99) / 1e3, servedMax: served.max / 1e3,
    };
    delay.reset();
    served.reset();
    return c.json(figures);
  });
  let app;
  if (mode === 'durable') {
    const { pino } = await import('pino');
    const { createApp } = await import('../dist/server/http/app.js');
    const { openDatabase } = await import('../dist/server/store/database.js');
    const { Inbox } = await import('../dist/server/webhooks/inbox.js');
    const { Metrics } = await import('../dist/server/http/metrics.js');
    const { webhookRoutes } = await import('../dist/server/webhooks/route.js');
    const { WalCheckpointer } = await import('../dist/server/store/wal-checkpointer.js');
    const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-webhooks-'));
    const db = openDatabase(dir);
    const log = pino({ level: 'silent' });
    const checkpointer = process.env.BENCH_CHECKPOINTS === 'sqlite' ? null : WalCheckpointer.start(db, { onError: (message) => console.error(`checkpoint failed: ${message}`) });
    const metrics = new Metrics();
    const rows = new Hono().get('/bench/rows', (c) => c.json(db.prepare('SELECT count(*) AS n FROM inbox').get()));
    app = createApp({ db, dataDir: dir, log, metrics, routes: [webhookRoutes({ secret: SECRET, inbox: new Inbox(db), metrics, log, accepted: () => {} }), rows, loop] });
    process.on('SIGTERM', async () => {
      await checkpointer?.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  } else {
    app = new Hono().post('/webhooks/gitlab', async (c) => {
      const json = await c.req.json();
      return c.json({ status: 'accepted', object_kind: json.object_kind }, 202);
    }).route('/', loop);
    process.on('SIGTERM', () => process.exit(0));
  }
  const timed = async (request, env) => {
    const started = performance.now();
    const response = await app.fetch(request, env);
    served.record(Math.max(1, Math.round((performance.now() - started) * 1e3)));
    return response;
  };
  serve({ fetch: timed, hostname: '127.0.0.1', port: 0 }, (info) => console.log(String(info.port)));
}

function startChild(mode) {
  // BENCH_PIN=1: the server on CPU 0, this process (the load generator, run under `taskset -c 1`) on the other.
  const argv = [process.execPath, fileURLToPath(import.meta.url), '--child', mode];
  const command = process.env.BENCH_PIN === '1' ? ['taskset', '-c', '0', ...argv] : argv;
  const proc = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout.once('data', (chunk) => resolve({ proc, url: `http://127.0.0.1:${String(chunk).trim()}` }));
    proc.once('exit', (code) => reject(new Error(`the ${mode} server exited (${code})`)));
  });
}

/** One autocannon run against `url`; resolves with every answer's latency (ms) and the count of 2xx answers. */
function run(autocannon, url, options) {
  const latencies = [];
  let ok = 0;
  const instance = autocannon({
    url: `${url}/webhooks/gitlab`,
    ...options,
    requests: [{
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', 'X-Gitlab-Token': SECRET, 'X-Gitlab-Event': 'Push Hook' },
      setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'X-Gitlab-Event-UUID': randomUUID() } }),
    }],
  });
  instance.on('response', (client, status, bytes, ms) => {
    latencies.push(ms);
    if (status >= 200 && status < 300) ok++;
  });
  return instance.then((result) => {
    return { ok, latencies, seconds: result.duration, failed: result.errors + result.timeouts + result.non2xx };
  });
}

/**
 * FIXED_RATE deliveries/s, spread over the second: autocannon's own rate limit lets each connection
 * send its share at the start of each second, all connections at once, which would be one burst of
 * FIXED_RATE a second. So PACERS instances run side by side, started 1000/PACERS ms apart, each with
 * one delivery per connection per second: a burst of FIXED_RATE/PACERS every 1000/PACERS ms.
 */
async function fixedRate(autocannon, url, seconds) {
  const per = FIXED_RATE / PACERS;
  const runs = [];
  for (let i = 0; i < PACERS; i++) {
    runs.push(run(autocannon, url, { connections: per, overallRate: per, duration: seconds, ignoreCoordinatedOmission: true }));
    await new Promise((r) => setTimeout(r, 1000 / PACERS));
  }
  const done = await Promise.all(runs);
  return { ok: done.reduce((n, d) => n + d.ok, 0), latencies: done.flatMap((d) => d.latencies), seconds, failed: done.reduce((n, d) => n + d.failed, 0) };
}

const ms = (value) => `${value.toFixed(1)} ms`;

/** The median of a list of figures (the lower middle one of an even count). */
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

/** The p-th percentile of latencies (ms). */
function percentile(latencies, p) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const { default: autocannon } = await import('autocannon');
  const [seconds, connections, rounds] = [10, 64, 2].map((fallback, i) => Number(process.argv[2 + i] ?? fallback));
  const load1 = loadavg().map((l) => l.toFixed(2)).join(' ');
  const checkpoints = process.env.BENCH_CHECKPOINTS === 'sqlite' ? 'SQLite\'s automatic checkpoints (in a commit, on the event loop)' : 'checkpoints on a worker thread';
  const order = process.env.BENCH_ORDER === 'sustained-first' ? 'sustained phase, then the fixed rate' : 'fixed rate on a fresh server, then the sustained phase';
  const pinned = process.env.BENCH_PIN === '1' ? '; servers pinned to CPU 0' : '';
  console.log(`webhook accept, push.json (${body.length} bytes), autocannon ${connections} connections, ${seconds} s per phase, ${rounds} rounds, ${checkpoints}; ${order}${pinned}; load average at start ${load1}`);
  const figures = { durable: [], bare: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const mode of ['durable', 'bare']) {
      const server = await startChild(mode);
      try {
        await run(autocannon, server.url, { connections, duration: 1 }); // warm-up
        // The fixed rate first: the latency of a server taking 1,000/s, not of one still checkpointing
        // the WAL of the sustained phase's tens of thousands of deliveries (BENCH_ORDER=sustained-first
        // measures that case, the order before 2026-12-03 evening).
        const sustainedFirst = process.env.BENCH_ORDER === 'sustained-first';
        const sustainedPhase = () => run(autocannon, server.url, { connections, duration: seconds });
        const sustained = sustainedFirst ? await sustainedPhase() : null;
        await new Promise((r) => setTimeout(r, 500));
        await fetch(`${server.url}/bench/loop`);
        const fixed = await fixedRate(autocannon, server.url, seconds);
        const loop = await (await fetch(`${server.url}/bench/loop`)).json();
        const sustainedAfter = sustained ?? (await sustainedPhase());
        let stored = '';
        if (mode === 'durable') {
          const answered = sustainedAfter.ok + fixed.ok;
          const { n } = await (await fetch(`${server.url}/bench/rows`)).json();
          if (n < answered) throw new Error(`${answered} deliveries answered 202, only ${n} rows in the inbox`);
          stored = `, ${n} rows stored for ${answered} 202s (and the warm-up's)`;
        }
        const f = {
          rate: sustainedAfter.ok / sustainedAfter.seconds,
          sustainedP99: percentile(sustainedAfter.latencies, 99),
          fixedRate: fixed.ok / fixed.seconds,
          p50: percentile(fixed.latencies, 50),
          p99: percentile(fixed.latencies, 99),
          loop,
          failed: sustainedAfter.failed + fixed.failed,
        };
        figures[mode].push(f);
        console.log(`round ${round} ${mode.padEnd(7)}: sustained ${Math.round(f.rate)} deliveries/s (p99 ${ms(f.sustainedP99)}); at ${FIXED_RATE}/s (${Math.round(f.fixedRate)}/s answered 2xx${f.failed ? `, ${f.failed} errors, timeouts (10 s) or non-2xx` : ''}): p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, in the server p50 ${ms(loop.servedP50)} p99 ${ms(loop.servedP99)} max ${ms(loop.servedMax)}, server event-loop delay p99 ${ms(loop.p99)} max ${ms(loop.max)}${stored}; load average ${loadavg()[0].toFixed(2)}`);
      } finally {
        server.proc.kill('SIGTERM');
        await new Promise((r) => server.proc.once('exit', r));
      }
    }
  }
  const best = (mode, key, pick) => pick(...figures[mode].map((f) => f[key]));
  const durable = best('durable', 'rate', Math.max);
  const bare = best('bare', 'rate', Math.max);
  console.log(`best sustained: durable ${Math.round(durable)}/s, bare ${Math.round(bare)}/s, ratio ${(durable / bare).toFixed(2)}x; p99 at ${FIXED_RATE}/s: durable ${figures.durable.map((f) => ms(f.p99)).join(', ')}, bare ${figures.bare.map((f) => ms(f.p99)).join(', ')}; median p99 at ${FIXED_RATE}/s: durable ${ms(median(figures.durable.map((f) => f.p99)))}, bare ${ms(median(figures.bare.map((f) => f.p99)))}; load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else await main();
