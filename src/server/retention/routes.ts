/** `POST /api/v1/gc` (an API token): applies [retention] now, or with `{"dry_run": true}` says what would go. */
import { Hono } from 'hono';
import { gcSchema } from '../api/schemas.js';
import { requireApiToken } from '../api/routes.js';
import { ApiError } from '../http/http-error.js';
import type { GarbageCollector } from './garbage-collector.js';

export function gcRoutes(deps: { collector: GarbageCollector; apiTokens: readonly string[] }): Hono {
  const app = new Hono();
  app.post('/api/v1/gc', requireApiToken(deps.apiTokens), async (c) => {
    const text = await c.req.text();
    let body: unknown = {};
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new ApiError(400, 'invalid_json', `the body is not JSON: ${(error as Error).message}`);
      }
    }
    const parsed = gcSchema.safeParse(body);
    if (!parsed.success) throw parsed.error;
    return c.json(await deps.collector.collect({ dryRun: parsed.data.dry_run ?? false }));
  });
  return app;
}
