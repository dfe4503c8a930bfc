/**
 * Durability for commits made with `synchronous = NORMAL` in WAL mode, without holding the event loop.
 * NORMAL writes a commit to the WAL but does not fsync it; FULL is NORMAL plus that one fsync of the
 * WAL after each commit (https://sqlite.org/pragma.html#pragma_synchronous). Done here instead, on
 * libuv's thread pool, one fsync of the WAL file covers every commit written before it began, so the
 * commits of many requests share it while the event loop goes on reading the next requests.
 */
import { fdatasyncPath } from '../../common/fsync.js';
import type { Db } from './database.js';

/** One fsync of a WAL file at a time; callers that ask while one runs share the next. */
export class WalSync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly walPath: string) {}

  /** The WAL syncer of a file database in WAL mode; null for any other (which then needs FULL commits). */
  static of(db: Db): WalSync | null {
    if (db.memory || db.pragma('journal_mode', { simple: true }) !== 'wal') return null;
    return new WalSync(`${db.name}-wal`);
  }

  /** Resolves once everything written to the WAL before the call is on disk; rejects if the fsync failed. */
  sync(): Promise<void> {
    if (!this.running) return this.start();
    // The running fsync may have begun before the caller's writes: the next one covers them.
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<void> {
    const run = fdatasyncPath(this.walPath).finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }
}
