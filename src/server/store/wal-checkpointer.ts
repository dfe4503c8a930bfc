/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that takes
 * the WAL past `wal_autocheckpoint` pages, on the thread that commits: for the server, the event loop,
 * which then copies the WAL into the database file and fsyncs both while every request waits (at 1,000
 * webhooks/s that is about once a second, and it was the tail of the webhook latency). Here the
 * automatic checkpoint is off on the server's connection, and a worker thread with a connection of its
 * own runs PASSIVE checkpoints on a timer: PASSIVE never waits for and never blocks readers or writers
 * (https://sqlite.org/c3ref/wal_checkpoint_v2.html). Durability is SQLite's as before: a checkpoint
 * syncs the WAL before it copies frames and the database file before the WAL may be reused.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './database.js';

/** How often the worker checkpoints; a checkpoint with nothing new to copy does no I/O. */
export const CHECKPOINT_INTERVAL_MS = 250;

// CommonJS, evaluated in the worker: one connection, a PASSIVE checkpoint per tick, results posted back.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');
const checkpoint = () => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ kind: 'checkpoint', ...result });
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: error.message });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage({ kind: 'stopped' });
});
`;

/** What one checkpoint did: WAL frames in use, and how many of them are in the database file now. */
export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** Checkpoints a database's WAL from a worker thread, while it runs. */
export class WalCheckpointer {
  private readonly worker: Worker;
  private stopping: Promise<void> | null = null;
  private exited = false;
  private readonly autocheckpoint: number;

  private constructor(
    private readonly db: Db,
    intervalMs: number,
    private readonly onError: (message: string) => void,
    private readonly onCheckpoint?: (result: CheckpointResult) => void,
  ) {
    this.autocheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: db.name, intervalMs } });
    this.worker.unref();
    this.worker.once('exit', () => (this.exited = true));
    this.worker.on('message', (message: { kind: string; message?: string } & CheckpointResult) => {
      if (message.kind === 'error') this.onError(message.message ?? 'unknown error');
      else if (message.kind === 'checkpoint') this.onCheckpoint?.(message);
    });
    // A worker that failed to start (or died) leaves the WAL to SQLite's own checkpoints again.
    this.worker.on('error', (error) => {
      this.restoreAutocheckpoint();
      this.onError(error.message);
    });
    db.pragma('wal_autocheckpoint = 0');
  }

  /** Starts checkpointing a file database in WAL mode off the event loop; null for any other, whose checkpoints stay SQLite's. */
  static start(db: Db, options: { intervalMs?: number; onError: (message: string) => void; onCheckpoint?: (result: CheckpointResult) => void }): WalCheckpointer | null {
    if (db.memory || db.pragma('journal_mode', { simple: true }) !== 'wal') return null;
    return new WalCheckpointer(db, options.intervalMs ?? CHECKPOINT_INTERVAL_MS, options.onError, options.onCheckpoint);
  }

  /** Runs a last checkpoint, closes the worker's connection and gives the WAL back to SQLite's automatic checkpoints. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const done = () => {
        this.restoreAutocheckpoint();
        resolve();
      };
      if (this.exited) return done();
      this.worker.once('exit', done);
      this.worker.on('message', (message: { kind: string }) => {
        if (message.kind === 'stopped') void this.worker.terminate();
      });
      this.worker.postMessage('stop');
    });
    return this.stopping;
  }

  private restoreAutocheckpoint(): void {
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${this.autocheckpoint}`);
  }
}
