/** A lock directory shared by the executor processes of one host; a lock whose holder died is taken over. */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { identify, isAlive } from './process-identity.js';
import { processIdentitySchema } from './process-identity-schema.js';

export class LockTimeout extends Error {
  override name = 'LockTimeout';
}

/** Runs `fn` holding the lock at `path` (a directory); waits up to timeoutMs for another holder. */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 30 * 60_000): Promise<T> {
  await acquire(path, timeoutMs, 200, null);
  try {
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}

/**
 * Like withLock, for work that only one process needs to do: `settled` is asked first, while
 * waiting (every pollMs) and once the lock is taken, and once it answers (another holder did the
 * work), that answer is returned. Else `fn` runs under the lock.
 */
export async function withLockUnlessSettled<T>(path: string, settled: () => Promise<T | null>, fn: () => Promise<T>, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<T> {
  let answer = await settled();
  if (answer !== null) return answer;
  const acquired = await acquire(path, options.timeoutMs ?? 30 * 60_000, options.pollMs ?? 50, async () => (answer = await settled()) !== null);
  if (!acquired) return answer!;
  try {
    // The holder before us may have finished between our last look and our taking the lock.
    answer = await settled();
    return answer ?? (await fn());
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}

/** Takes the lock, waiting for another holder; false when `stopWaiting` said so first. */
async function acquire(path: string, timeoutMs: number, pollMs: number, stopWaiting: (() => Promise<boolean>) | null): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const me = identify(process.pid)!;
  for (;;) {
    try {
      await mkdir(path, { mode: 0o700 });
      // Named in one rename: a waiter sees no owner yet, or the whole of it, never a half-written one it would take for dead.
      await writeFile(join(path, 'owner.tmp'), JSON.stringify(me));
      await rename(join(path, 'owner.tmp'), join(path, 'owner'));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await holderIsGone(path)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new LockTimeout(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for the lock ${path}`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      if (stopWaiting && (await stopWaiting())) return false;
    }
  }
}

async function holderIsGone(path: string): Promise<boolean> {
  try {
    const owner = processIdentitySchema.safeParse(JSON.parse(await readFile(join(path, 'owner'), 'utf8')));
    return owner.success && !isAlive(owner.data);
  } catch {
    // The holder is between mkdir and naming itself (or died there); give it a moment unless that moment is long past.
    const info = await stat(path).catch(() => null);
    return info !== null && Date.now() - info.mtimeMs > 10_000;
  }
}
