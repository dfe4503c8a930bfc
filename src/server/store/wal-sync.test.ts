import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from './database.js';
import { WalSync } from './wal-sync.js';

describe('WalSync', () => {
  it('syncs the WAL of a file database in WAL mode, one fsync at a time: callers during a running one share the next', async () => {
    const db = openDatabase(mkdtempSync(join(tmpdir(), 'quarters-wal-')));
    const wal = WalSync.of(db)!;
    expect(existsSync(`${db.name}-wal`)).toBe(true);
    const running = wal.sync();
    const next = wal.sync();
    expect(wal.sync()).toBe(next);
    expect(next).not.toBe(running);
    await Promise.all([running, next]);
    db.close();
  });

  it('has nothing to sync for an in-memory database, and rejects when the WAL cannot be synced', async () => {
    expect(WalSync.of(new Database(':memory:'))).toBeNull();
    await expect(new WalSync(join(tmpdir(), 'quarters-no-such-database-wal')).sync()).rejects.toThrow(/ENOENT/);
  });
});
