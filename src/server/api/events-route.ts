/** `GET /api/v1/events[?namespace=NAME]`: build state changes as Server-Sent Events (`build`, `iteration`), a comment every 15 s to keep proxies from closing the stream. */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { BuildStore } from '../store/build-store.js';
import type { LiveEvent, LiveFeed } from '../http/live-feed.js';
import { ApiError } from '../http/http-error.js';

const KEEP_ALIVE_MS = 15_000;

/** The events route. */
export function eventsRoutes(deps: { store: BuildStore; feed: LiveFeed }): Hono {
  const app = new Hono();
  app.get('/events', (c) => {
    const namespace = c.req.query('namespace');
    if (namespace !== undefined && !deps.store.namespaceByName(namespace)) throw new ApiError(404, 'not_found', `no build set named "${namespace}"`);
    c.header('Cache-Control', 'no-store');
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      let queue: LiveEvent[] = [];
      let wake: (() => void) | null = null;
      let open = true;
      const off = deps.feed.subscribe((event) => {
        if (namespace !== undefined && event.namespace !== namespace) return;
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        open = false;
        off();
        wake?.();
      });
      try {
        await stream.writeSSE({ event: 'hello', data: JSON.stringify({ namespace: namespace ?? null }), retry: 3000 });
        while (open) {
          if (queue.length === 0) {
            const timedOut = await new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(true), KEEP_ALIVE_MS);
              wake = () => {
                clearTimeout(timer);
                resolve(false);
              };
            });
            wake = null;
            if (timedOut && open) await stream.write(': keep-alive\n\n');
            continue;
          }
          const batch = queue;
          queue = [];
          for (const event of batch) await stream.writeSSE({ event: event.kind, data: JSON.stringify(event.data) });
        }
      } finally {
        off();
      }
    });
  });
  return app;
}
