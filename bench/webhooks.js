/* global console, process, fetch, performance */
// Benchmark: accepting GitLab webhooks. Each delivery is authenticated, validated, committed to the
// SQLite inbox (WAL, synchronous=FULL) and answered; processing is not part of it (the worker is not
// started). Prints the answer latency percentiles and deliveries per second, over real HTTP on 127.0.0.1.
// Run: npm run bench:webhooks
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { pino } from 'pino';
import { createApp } from '../dist/server/http/app.js';
import { openDatabase } from '../dist/server/store/database.js';
import { Inbox } from '../dist/server/webhooks/inbox.js';
import { Metrics } from '../dist/server/http/metrics.js';
import { webhookRoutes } from '../dist/server/webhooks/route.js';

const SECRET = 'bench-webhook-secret-0123456789';
const DELIVERIES = 2000;
const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-'));
const db = openDatabase(dir);
const log = pino({ level: 'silent' });
const metrics = new Metrics();
const app = createApp({ db, log, metrics, routes: [webhookRoutes({ secret: SECRET, inbox: new Inbox(db), metrics, log, accepted: () => {} })] });
const body = readFileSync(resolve(process.cwd(), '../shared/fixtures/gitlab-webhooks/push.json'), 'utf8');

const server = await new Promise((done) => {
  const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => done({ s, port: info.port }));
});
const url = `http://127.0.0.1:${server.port}/webhooks/gitlab`;
const deliver = (i) =>
  fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Gitlab-Token': SECRET, 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': `bench-${i}` } });

for (let i = 0; i < 100; i++) await (await deliver(`warm-${i}`)).arrayBuffer();
const latencies = [];
const start = performance.now();
for (let i = 0; i < DELIVERIES; i++) {
  const t = performance.now();
  const res = await deliver(i);
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`delivery ${i}: ${res.status}`);
  latencies.push(performance.now() - t);
}
const seconds = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(2);
console.log(`webhook accept (push.json, ${body.length} bytes, sequential, ${DELIVERIES} deliveries): p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${pct(100)} ms, ${Math.round(DELIVERIES / seconds)} deliveries/s`);
server.s.close();
db.close();
rmSync(dir, { recursive: true, force: true });
