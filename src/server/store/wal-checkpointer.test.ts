import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from './database.js';
import { WalCheckpointer, type CheckpointResult } from './wal-checkpointer.js';

const ROW = 'x'.repeat(4000);

function writeRows(db: Db, count: number): void {
  const insert = db.prepare('INSERT INTO inbox (dedupe_key, kind, body, received_at) VALUES (?, ?, ?, ?)');
  for (let i = 0; i < count; i++) insert.run(`key-${Math.random()}`, 'Push Hook', ROW, new Date().toISOString());
}

/** Resolves with the first checkpoint result `match` accepts. */
function checkpointWhere(listeners: ((r: CheckpointResult) => void)[], match: (r: CheckpointResult) => boolean): Promise<CheckpointResult> {
  return new Promise((resolve) => listeners.push((r) => match(r) && resolve(r)));
}

describe('WalCheckpointer', () => {
  it('moves the WAL into the database file from its worker while the connection commits with its automatic checkpoint off', async () => {
    const db = openDatabase(mkdtempSync(join(tmpdir(), 'quarters-checkpoint-')));
    const listeners: ((r: CheckpointResult) => void)[] = [];
    const errors: string[] = [];
    const checkpointer = WalCheckpointer.start(db, { intervalMs: 20, onError: (m) => errors.push(m), onCheckpoint: (r) => listeners.forEach((l) => l(r)) })!;
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    // The commits need not be durable here, only many: without a fsync each they take milliseconds, not seconds.
    db.pragma('synchronous = OFF');
    // 1,500 commits of a 4 kB row: past 1,000 pages, where SQLite's own checkpoint would run in a commit.
    writeRows(db, 1500);
    // Two checkpoints in a row with the same WAL, all of it in the database file: the worker caught up with the last commit.
    let previous: CheckpointResult | null = null;
    const caughtUp = await checkpointWhere(listeners, (r) => {
      const stable = previous !== null && previous.log === r.log && r.log > 0 && r.checkpointed === r.log;
      previous = r;
      return stable;
    });
    expect(caughtUp.busy).toBe(0);
    // Checkpointed to its end, the WAL is written from its start again: more rows do not grow the file.
    const walBytes = statSync(`${db.name}-wal`).size;
    writeRows(db, 500);
    expect(statSync(`${db.name}-wal`).size).toBeLessThanOrEqual(walBytes);
    // Another connection reads every row from the database file.
    await checkpointer.stop();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    const reader = new Database(db.name, { readonly: true });
    expect((reader.prepare('SELECT count(*) AS n FROM inbox').get() as { n: number }).n).toBe(2000);
    reader.close();
    db.close();
    expect(errors).toEqual([]);
  });

  it('leaves an in-memory database to SQLite, and stop() twice is one stop', async () => {
    expect(WalCheckpointer.start(new Database(':memory:'), { onError: () => {} })).toBeNull();
    const db = openDatabase(mkdtempSync(join(tmpdir(), 'quarters-checkpoint-')));
    const checkpointer = WalCheckpointer.start(db, { onError: () => {} })!;
    const stopping = checkpointer.stop();
    expect(checkpointer.stop()).toBe(stopping);
    await stopping;
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
  });
});
