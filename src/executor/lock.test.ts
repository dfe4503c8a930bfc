import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockTimeout, withLock, withLockUnlessSettled } from './lock.js';

describe('withLock', () => {
  it('does not take over a lock whose holder is still naming itself (an owner file not yet whole)', async () => {
    const lock = join(await mkdtemp(join(tmpdir(), 'quarters-lock-')), 'lock');
    await mkdir(lock);
    await writeFile(join(lock, 'owner'), '{"pid": 12');
    await expect(withLock(lock, async () => 'taken', 600)).rejects.toBeInstanceOf(LockTimeout);
    expect(existsSync(join(lock, 'owner'))).toBe(true);
  });

  it('lets one holder in at a time', async () => {
    const lock = join(await mkdtemp(join(tmpdir(), 'quarters-lock-')), 'lock');
    const events: string[] = [];
    const holder = (name: string) => withLock(lock, async () => {
      events.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      events.push(`${name} out`);
    });
    await Promise.all([holder('a'), holder('b')]);
    expect(events).toHaveLength(4);
    expect(events[0]!.split(' ')[0]).toBe(events[1]!.split(' ')[0]);
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over a lock whose holder died', async () => {
    const lock = join(await mkdtemp(join(tmpdir(), 'quarters-lock-')), 'lock');
    await mkdir(lock);
    // pid 1's start time is never this: the recorded holder is gone.
    await writeFile(join(lock, 'owner'), JSON.stringify({ pid: 1, startTime: 'not-a-start-time' }));
    expect(await withLock(lock, async () => 'taken', 2000)).toBe('taken');
  });

  it('times out behind a live holder with a message naming the lock', async () => {
    const lock = join(await mkdtemp(join(tmpdir(), 'quarters-lock-')), 'lock');
    let release!: () => void;
    const held = withLock(lock, () => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const error = await withLock(lock, async () => 'never', 500).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeout);
    expect((error as Error).message).toContain(lock);
    release();
    await held;
  });

  it('lets waiters take the work a holder settled instead of doing it again', async () => {
    const lock = join(await mkdtemp(join(tmpdir(), 'quarters-lock-')), 'lock');
    let done: string | null = null;
    let runs = 0;
    const work = () => withLockUnlessSettled(lock, async () => done, async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 200));
      return (done = 'downloaded');
    }, { pollMs: 1 });
    expect(await Promise.all(Array.from({ length: 20 }, work))).toEqual(Array(20).fill('downloaded'));
    expect(runs).toBe(1);
    expect(existsSync(lock)).toBe(false);
  });
});
