/* global console, process, setImmediate, setTimeout, URL, performance */
// Benchmark: how long the inbox's group commits hold the event loop, with SQLite's automatic WAL
// checkpoints (run inside the commit that crosses wal_autocheckpoint pages) and with the server's
// checkpoints on a worker thread (src/server/store/wal-checkpointer.ts). No HTTP and no load generator:
// the figure is the server's own stall, which the webhook bench's latencies mix with the machine's.
// GROUPS groups of 10 push.json events (the fixture), one group every 5 ms; each commit is timed on the
// event loop (the group's transaction, without the fsync that runs on the thread pool), and counted as
// "during a checkpoint" when the database file grew meanwhile (only a checkpoint writes to it: with
// SQLite's own, one inside the commit; with the worker's, one running beside it on its thread). Also the
// time until the group is durable (its WAL fsync returned: when the route may answer), which the
// checkpoints' own writes and fsyncs may lengthen wherever they run.
// Run: npm run bench:inbox-commits [-- GROUPS ROUNDS]   (defaults: 1000 2)
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../dist/server/store/database.js';
import { Inbox } from '../dist/server/webhooks/inbox.js';
import { WalCheckpointer } from '../dist/server/store/wal-checkpointer.js';

const [GROUPS, ROUNDS] = [1000, 2].map((fallback, i) => Number(process.argv[2 + i] ?? fallback));
const body = readFileSync(fileURLToPath(new URL('../../shared/fixtures/gitlab-webhooks/push.json', import.meta.url)), 'utf8');
const loads = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** The p-th percentile of a list of ms, or '-' for none. */
function percentile(values, p) {
  if (values.length === 0) return '-';
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1);
}

async function run(checkpoints) {
  const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-commits-'));
  const db = openDatabase(dir);
  const checkpointer = checkpoints === 'worker' ? WalCheckpointer.start(db, { onError: (message) => console.error(`checkpoint failed: ${message}`) }) : null;
  const inbox = new Inbox(db);
  const without = [];
  const withCheckpoint = [];
  const durable = [];
  let key = 0;
  for (let group = 0; group < GROUPS; group++) {
    const before = statSync(db.name).size;
    const started = performance.now();
    const committed = [];
    for (let i = 0; i < 10; i++) committed.push(inbox.commit(`bench-${key++}`, 'Push Hook', body));
    // The group is committed in the next setImmediate (inbox.ts); this one runs right after it.
    await new Promise((resolve) => setImmediate(resolve));
    const held = performance.now() - started;
    (statSync(db.name).size > before ? withCheckpoint : without).push(held);
    await Promise.all(committed);
    durable.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await checkpointer?.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  const all = [...without, ...withCheckpoint];
  return `${checkpoints.padEnd(6)}: all commits p50 ${percentile(all, 50)} p99 ${percentile(all, 99)} max ${percentile(all, 100)} ms; ${withCheckpoint.length} of ${all.length} during a checkpoint: p50 ${percentile(withCheckpoint, 50)} max ${percentile(withCheckpoint, 100)} ms; durable after p50 ${percentile(durable, 50)} p99 ${percentile(durable, 99)} max ${percentile(durable, 100)} ms`;
}

console.log(`inbox group commits (10 push.json events each, ${GROUPS} groups), time on the event loop; load average at start ${loads()}`);
for (let round = 1; round <= ROUNDS; round++) {
  for (const checkpoints of ['sqlite', 'worker']) console.log(`round ${round} ${await run(checkpoints)}; load average ${loads()}`);
}
