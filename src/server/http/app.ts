/** The HTTP interface: the Hono app with request ids, request logs, JSON errors, and every route group mounted. */
import { statfs } from 'node:fs/promises';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Logger } from '../../common/log.js';
import type { Db } from '../store/database.js';
import { SCHEMA_VERSION } from '../store/database.js';
import { errorBody, errorHandler } from './http-error.js';
import type { Metrics } from './metrics.js';

/** Below this much free space in data_dir, /healthz answers 503: uploads and index updates would fail. */
export const DEFAULT_MIN_FREE_BYTES = 1024 ** 3;

export interface AppParts {
  db: Db;
  /** The data directory whose free space /healthz reports. */
  dataDir: string;
  /** /healthz fails below this many free bytes in dataDir (DEFAULT_MIN_FREE_BYTES). */
  minFreeBytes?: number;
  log: Logger;
  metrics: Metrics;
  /** Other reasons /healthz answers 503 (a signing key that cannot sign). */
  problems?: () => string[];
  /** Route groups mounted at the root, in order. */
  routes: Hono[];
}

/** Builds the app from its parts. */
export function createApp(parts: AppParts): Hono {
  const app = new Hono();
  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    parts.log.info(
      { requestId: c.get('requestId' as never), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      'request',
    );
  });
  app.onError(errorHandler(parts.log));
  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404));

  app.get('/healthz', async (c) => {
    const row = parts.db.prepare('SELECT 1 AS ok').get() as { ok: number };
    const fs = await statfs(parts.dataDir);
    const free = fs.bavail * fs.bsize;
    const minFree = parts.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    const problems = [...(row.ok === 1 ? [] : ['the database does not answer']), ...(free < minFree ? [`data_dir has ${free} bytes free, less than ${minFree}`] : []), ...(parts.problems?.() ?? [])];
    const body = { status: problems.length ? 'degraded' : 'ok', schema_version: SCHEMA_VERSION, data_dir_free_bytes: free, min_free_bytes: minFree, ...(problems.length ? { problems } : {}) };
    return c.json(body, problems.length ? 503 : 200);
  });
  app.get('/metrics', (c) => c.body(parts.metrics.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }));
  for (const routes of parts.routes) app.route('/', routes);
  return app;
}
