/**
 * The durable webhook inbox: an accepted event is committed to SQLite before GitLab gets its answer,
 * deduplicated by key, and processed later, in arrival order, by one worker.
 */
import type { Db } from '../store/database.js';
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

/** The inbox's table, as operations. */
export class Inbox {
  constructor(private readonly db: Db) {}

  /** Commits an event; returns its id and whether the key had been seen already (then nothing is stored). */
  add(dedupeKey: string, kind: HookKind, body: string): { id: number; duplicate: boolean } {
    const inserted = this.db
      .prepare('INSERT INTO inbox (dedupe_key, kind, body, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING')
      .run(dedupeKey, kind, body, new Date().toISOString());
    if (inserted.changes === 1) return { id: Number(inserted.lastInsertRowid), duplicate: false };
    const row = this.db.prepare('SELECT id FROM inbox WHERE dedupe_key = ?').get(dedupeKey) as { id: number };
    return { id: row.id, duplicate: true };
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

  /** Marks an event done. */
  done(id: number): void {
    this.db.prepare('UPDATE inbox SET processed_at = ?, error = NULL WHERE id = ?').run(new Date().toISOString(), id);
  }

  /** Records a failed attempt and its reason. */
  failed(id: number, reason: string): void {
    this.db.prepare('UPDATE inbox SET attempts = attempts + 1, error = ? WHERE id = ?').run(reason, id);
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
          this.inbox.done(event.id);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          this.log.warn({ eventId: event.id, kind: event.kind, attempt: event.attempts + 1, reason }, 'webhook event failed');
          this.inbox.failed(event.id, reason);
        }
      }
    } while (this.again && !this.stopped);
  }
}
