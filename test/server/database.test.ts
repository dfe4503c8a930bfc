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

  it('upgrades to retention\'s schema: build sets retired before it count from the upgrade, no iteration is expired', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'quarters.sqlite3'));
    // The schema before retention's migration (the last one).
    migrate(raw, SCHEMA_VERSION - 1);
    raw.prepare("INSERT INTO namespaces (name, origin, kind, status, target_branch, created_at) VALUES ('mr-1', '[]', 'merge-request', 'retired', 'main', 'then'), ('auto-zlib', '[]', 'auto', 'active', 'main', 'then')").run();
    raw.prepare("INSERT INTO iterations (namespace_id, number, reason, created_at) VALUES (1, 1, 'created', 'then')").run();
    raw.close();
    const before = Date.now();
    const db = openDatabase(dir);
    const rows = db.prepare('SELECT name, status_changed_at FROM namespaces ORDER BY id').all() as { name: string; status_changed_at: string | null }[];
    expect(rows[1]).toEqual({ name: 'auto-zlib', status_changed_at: null });
    expect(Date.parse(rows[0]!.status_changed_at!)).toBeGreaterThanOrEqual(before - 1000);
    expect(db.prepare('SELECT expired_at FROM iterations').get()).toEqual({ expired_at: null });
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
