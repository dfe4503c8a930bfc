import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { migrate, openDatabase, SCHEMA_VERSION } from '../../src/server/database.js';
import { tempDir } from './http-harness.js';

describe('openDatabase', () => {
  it('uses WAL, applies every migration once, and keeps data across reopening', () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.prepare("INSERT INTO inbox (dedupe_key, kind, body, received_at) VALUES ('k', 'Push Hook', '{}', 'now')").run();
    db.close();
    const again = openDatabase(dir);
    expect(again.prepare('SELECT count(*) AS n FROM inbox').get()).toEqual({ n: 1 });
    again.close();
  });

  it('refuses a database written by a newer quarters', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'quarters.sqlite3'));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    expect(() => migrate(raw)).toThrow(/newer than this quarters/);
    raw.close();
  });
});
