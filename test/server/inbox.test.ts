import { describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/server/store/database.js';
import Database from 'better-sqlite3';
import { Inbox, InboxCommitError, InboxWorker, MAX_ATTEMPTS } from '../../src/server/webhooks/inbox.js';
import type { HookEvent } from '../../src/server/webhooks/payloads.js';
import { fixtureText, quietLogger, tempDir } from './http-harness.js';

describe('InboxWorker', () => {
  it('processes events in arrival order; a failing one neither blocks the others nor is lost, and is set aside after MAX_ATTEMPTS', async () => {
    const inbox = new Inbox(openDatabase(tempDir()));
    const push = fixtureText('push.json');
    const tag = fixtureText('tag_push.json');
    inbox.add('a', 'Tag Push Hook', tag);
    inbox.add('b', 'Push Hook', push);
    inbox.add('c', 'Tag Push Hook', tag);
    const seen: string[] = [];
    let failPushes = true;
    const worker = new InboxWorker(inbox, async (event: HookEvent) => {
      seen.push(event.kind);
      if (event.kind === 'Push Hook' && failPushes) throw new Error('GitLab is down');
    }, quietLogger());
    await worker.wake();
    expect(seen).toEqual(['Tag Push Hook', 'Push Hook', 'Tag Push Hook']);
    expect(inbox.depth()).toBe(1);
    failPushes = false;
    await worker.wake();
    expect(seen.at(-1)).toBe('Push Hook');
    expect(inbox.depth()).toBe(0);

    inbox.add('d', 'Push Hook', push.replace('"total_commits_count": 4', '"total_commits_count": 5'));
    failPushes = true;
    for (let i = 0; i < MAX_ATTEMPTS + 2; i++) await worker.wake();
    expect(seen.filter((k) => k === 'Push Hook')).toHaveLength(2 + MAX_ATTEMPTS);
    expect(inbox.setAside()).toBe(1);
    await worker.stop();
  });
});

describe('Inbox.commit (group commit)', () => {
  const push = fixtureText('push.json');
  const rows = (db: Db) => db.prepare('SELECT dedupe_key AS key FROM inbox ORDER BY id').all().map((r) => (r as { key: string }).key);

  it('commits the events of one turn together, answering none before all are stored; a key repeated in the group is stored once', async () => {
    const db = openDatabase(tempDir());
    const inbox = new Inbox(db);
    const pending = [inbox.commit('a', 'Push Hook', push), inbox.commit('b', 'Push Hook', push), inbox.commit('a', 'Push Hook', push)];
    expect(rows(db)).toEqual([]);
    // Another connection (another process, after a crash) sees the whole group as soon as the first answer comes.
    const other = new Database(db.name, { readonly: true });
    const first = await pending[0]!;
    expect(other.prepare('SELECT count(*) AS n FROM inbox').get()).toEqual({ n: 2 });
    const [, b, again] = await Promise.all(pending);
    expect(first.duplicate).toBe(false);
    expect(b).toEqual({ id: first.id + 1, duplicate: false });
    expect(again).toEqual({ id: first.id, duplicate: true });
    expect(rows(db)).toEqual(['a', 'b']);
    // And against a row of an earlier group.
    await expect(inbox.commit('b', 'Push Hook', push)).resolves.toEqual({ id: b!.id, duplicate: true });
    other.close();
    db.close();
  });

  it('answers every event of a group whose commit failed with InboxCommitError, stores none of them, and commits the next group', async () => {
    const db = openDatabase(tempDir());
    const inbox = new Inbox(db);
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON inbox WHEN NEW.dedupe_key = 'bad' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    const group = await Promise.allSettled([inbox.commit('a', 'Push Hook', push), inbox.commit('bad', 'Push Hook', push), inbox.commit('c', 'Push Hook', push)]);
    for (const result of group) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as InboxCommitError;
      expect(reason).toBeInstanceOf(InboxCommitError);
      expect(reason.message).toBe('the inbox could not store a group of 3 events: disk I/O error');
    }
    expect(rows(db)).toEqual([]);
    db.exec('DROP TRIGGER refuse');
    const [a, c] = await Promise.all([inbox.commit('a', 'Push Hook', push), inbox.commit('c', 'Push Hook', push)]);
    expect([a.duplicate, c.duplicate]).toEqual([false, false]);
    expect(rows(db)).toEqual(['a', 'c']);
    // The connection is back to fsyncing every commit of its own (synchronous = FULL).
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    db.close();
  });
});
