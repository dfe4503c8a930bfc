/** The HTTP interface: the Hono app with request ids, request logs, JSON errors, and every route group mounted. */
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Logger } from '../../common/log.js';
import type { Db } from '../store/database.js';
import { SCHEMA_VERSION } from '../store/database.js';
import { errorBody, errorHandler } from './http-error.js';
import type { Metrics } from './metrics.js';

export interface AppParts {
  db: Db;
  log: Logger;
  metrics: Metrics;
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

  app.get('/healthz', (c) => {
    const row = parts.db.prepare('SELECT 1 AS ok').get() as { ok: number };
    return c.json({ status: row.ok === 1 ? 'ok' : 'degraded', schema_version: SCHEMA_VERSION });
  });
  app.get('/metrics', (c) => c.body(parts.metrics.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }));
  for (const routes of parts.routes) app.route('/', routes);
  return app;
}
