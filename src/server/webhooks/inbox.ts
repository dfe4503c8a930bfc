/**
 * The durable webhook inbox: an accepted event is committed to SQLite before GitLab gets its answer,
 * deduplicated by key, and processed later, in arrival order, by one worker.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/database.js';
import { WalSync } from '../store/wal-sync.js';
import type { Logger } from '../../common/log.js';
import { HOOK_SCHEMAS, type HookEvent, type HookKind } from './payloads.js';

/** After this many failed attempts an event is set aside (kept, with its error) instead of blocking the queue. */
export const MAX_ATTEMPTS = 5;

export interface StoredEvent {
  id: number;
  kind: HookKind;
  body: string;
  attempts: number;
}

/** What committing an event came to: its id, and whether its key had been seen already (then nothing was stored). */
export interface Added {
  id: number;
  duplicate: boolean;
}

/** A commit of the inbox failed: none of the events of its group was stored. */
export class InboxCommitError extends Error {
  constructor(readonly events: number, cause: unknown) {
    super(`the inbox could not store ${events === 1 ? 'the event' : `a group of ${events} events`}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'InboxCommitError';
  }
}

interface NewEvent {
  dedupeKey: string;
  kind: HookKind;
  body: string;
}

interface Waiter extends NewEvent {
  resolve: (added: Added) => void;
  reject: (error: InboxCommitError) => void;
}

/** The inbox's table, as operations. */
export class Inbox {
  private waiting: Waiter[] = [];
  private readonly insertGroup: (events: readonly NewEvent[]) => Added[];
  private readonly wal: WalSync | null;
  private readonly synchronous: number;
  private readonly markDone: Statement<[string, number]>;
  private readonly markFailed: Statement<[string, number]>;

  constructor(private readonly db: Db) {
    this.markDone = db.prepare('UPDATE inbox SET processed_at = ?, error = NULL WHERE id = ?');
    this.markFailed = db.prepare('UPDATE inbox SET attempts = attempts + 1, error = ? WHERE id = ?');
    const insert = db.prepare('INSERT INTO inbox (dedupe_key, kind, body, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING');
    const existing = db.prepare('SELECT id FROM inbox WHERE dedupe_key = ?');
    // One transaction for the whole group; a key repeated within the group conflicts with the row
    // its first occurrence just inserted, as it would with one stored earlier.
    this.insertGroup = db.transaction((events: readonly NewEvent[]) => {
      const receivedAt = new Date().toISOString();
      return events.map(({ dedupeKey, kind, body }) => {
        const inserted = insert.run(dedupeKey, kind, body, receivedAt);
        if (inserted.changes === 1) return { id: Number(inserted.lastInsertRowid), duplicate: false };
        return { id: (existing.get(dedupeKey) as { id: number }).id, duplicate: true };
      });
    });
    this.wal = WalSync.of(db);
    this.synchronous = db.pragma('synchronous', { simple: true }) as number;
  }

  /** Commits one event at once, in a transaction of its own (fsynced before it returns). */
  add(dedupeKey: string, kind: HookKind, body: string): Added {
    return this.insertGroup([{ dedupeKey, kind, body }])[0]!;
  }

  /**
   * Commits an event together with the others that arrive in the same turn of the event loop (group
   * commit): the group is one transaction, and every promise of the group resolves only once that
   * transaction is on disk. A failed commit or fsync rejects every promise of its group with
   * InboxCommitError.
   */
  commit(dedupeKey: string, kind: HookKind, body: string): Promise<Added> {
    return new Promise((resolve, reject) => {
      // The group is committed after this turn's I/O callbacks: the requests read in this turn share it.
      if (this.waiting.length === 0) setImmediate(() => this.commitWaiting());
      this.waiting.push({ dedupeKey, kind, body, resolve, reject });
    });
  }

  private commitWaiting(): void {
    const group = this.waiting;
    this.waiting = [];
    const fail = (error: unknown) => {
      const failure = new InboxCommitError(group.length, error);
      for (const waiter of group) waiter.reject(failure);
    };
    let added: Added[];
    try {
      added = this.wal ? this.withoutCommitSync(() => this.insertGroup(group)) : this.insertGroup(group);
    } catch (error) {
      fail(error);
      return;
    }
    // Duplicates wait too: the row they repeat may be one of a group whose fsync is still running.
    (this.wal?.sync() ?? Promise.resolve()).then(() => group.forEach((waiter, i) => waiter.resolve(added[i]!)), fail);
  }

  /** Runs `write` with synchronous = NORMAL: its commit reaches the WAL, and this.wal makes it durable. */
  private withoutCommitSync<T>(write: () => T): T {
    this.db.pragma('synchronous = NORMAL');
    try {
      return write();
    } finally {
      this.db.pragma(`synchronous = ${this.synchronous}`);
    }
  }

  /** The oldest unprocessed event after `afterId` that has attempts left, if any. */
  next(afterId = 0): StoredEvent | undefined {
    return this.db
      .prepare('SELECT id, kind, body, attempts FROM inbox WHERE processed_at IS NULL AND attempts < ? AND id > ? ORDER BY id LIMIT 1')
      .get(MAX_ATTEMPTS, afterId) as StoredEvent | undefined;
  }

  /** Events set aside after MAX_ATTEMPTS failures (kept with their last error, for an operator). */
  setAside(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM inbox WHERE processed_at IS NULL AND attempts >= ?').get(MAX_ATTEMPTS) as { n: number }).n;
  }

  /** Marks an event done; resolves once that is on disk. */
  done(id: number): Promise<void> {
    return this.durably(() => this.markDone.run(new Date().toISOString(), id));
  }

  /** Records a failed attempt and its reason; resolves once that is on disk. */
  failed(id: number, reason: string): Promise<void> {
    return this.durably(() => this.markFailed.run(reason, id));
  }

  /** Commits `write` and resolves once it is on disk, with the fsync on the thread pool instead of in the commit on the event loop. */
  private durably(write: () => unknown): Promise<void> {
    if (!this.wal) {
      write();
      return Promise.resolve();
    }
    this.withoutCommitSync(write);
    return this.wal.sync();
  }

  /** Events accepted but not yet processed (including those set aside). */
  depth(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM inbox WHERE processed_at IS NULL').get() as { n: number }).n;
  }
}

/** Parses a stored event back into its typed form (it was validated on the way in). */
export function decodeEvent(event: StoredEvent): HookEvent {
  const body = HOOK_SCHEMAS[event.kind].parse(JSON.parse(event.body));
  return { kind: event.kind, body } as HookEvent;
}

/**
 * Drains the inbox with one worker: `wake()` after each accepted event; events are handled in order,
 * one at a time, so handlers never race each other.
 */
export class InboxWorker {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly inbox: Inbox,
    private readonly handle: (event: HookEvent) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Starts draining (or makes the running drain look again). Resolves when the inbox is empty. */
  wake(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Waits for the current drain and stops taking new work. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      // One pass in arrival order; an event that fails is retried on a later pass (the next wake),
      // so that one failing event neither spins nor holds up the events behind it.
      for (let event = this.inbox.next(); event && !this.stopped; event = this.inbox.next(event.id)) {
        try {
          await this.handle(decodeEvent(event));
          // The next event waits until this one is recorded done, as before; the event loop does not.
          await this.inbox.done(event.id);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          this.log.warn({ eventId: event.id, kind: event.kind, attempt: event.attempts + 1, reason }, 'webhook event failed');
          await this.inbox.failed(event.id, reason);
        }
      }
    } while (this.again && !this.stopped);
  }
}
