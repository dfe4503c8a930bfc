import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/server/store/database.js';
import { Inbox, InboxWorker, MAX_ATTEMPTS } from '../../src/server/webhooks/inbox.js';
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
