import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { migrate, openDatabase, SCHEMA_VERSION } from '../../src/server/store/database.js';
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

  it('upgrades a database of schema 1 (as first released) keeping its rows', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'quarters.sqlite3'));
    migrate(raw, 1);
    raw.prepare("INSERT INTO namespaces (name, origin, kind, target_branch, created_at) VALUES ('n', '[]', 'api', 'main', 'now')").run();
    raw.prepare("INSERT INTO iterations (namespace_id, number, reason, created_at) VALUES (1, 1, 'created', 'now')").run();
    raw.close();
    const db = openDatabase(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT name, unresolved FROM iterations JOIN namespaces ON namespaces.id = namespace_id').get()).toEqual({ name: 'n', unresolved: '[]' });
    expect(db.prepare('SELECT count(*) AS n FROM pipeline_cancellations').get()).toEqual({ n: 0 });
    db.close();
  });

  it('refuses a database written by a newer quarters', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'quarters.sqlite3'));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    expect(() => migrate(raw)).toThrow(/newer than this quarters/);
    raw.close();
  });
});
