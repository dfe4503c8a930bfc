/**
 * `POST /webhooks/gitlab`: authenticates GitLab by its secret token, bounds and validates the body,
 * commits the event to the inbox, and answers at once; the work happens later, from the inbox.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../../common/log.js';
import { errorBody, describeZodError } from '../http/http-error.js';
import { InboxCommitError, type Added, type Inbox } from './inbox.js';
import type { Metrics } from '../http/metrics.js';
import { matchesSecret } from '../http/token-check.js';
import { HOOK_SCHEMAS, isHookKind } from './payloads.js';

/** GitLab's own limit on a webhook body. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

export interface WebhookDeps {
  secret: string;
  inbox: Inbox;
  metrics: Metrics;
  log: Logger;
  /** Called after an event is committed, to start processing it. */
  accepted: () => void;
}

/** The key an event is deduplicated by: Idempotency-Key, else the event UUID with a hash of the body. */
export function dedupeKey(headers: { idempotencyKey?: string | undefined; eventUuid?: string | undefined }, body: string): string {
  if (headers.idempotencyKey) return `idempotency:${headers.idempotencyKey}`;
  const hash = createHash('sha256').update(body).digest('hex');
  return `uuid:${headers.eventUuid ?? ''}:${hash}`;
}

/** The kind label of a delivery in /metrics: the kinds quarters handles by name, anything else `other` (a header anyone can send must not grow the metrics without bound). */
export function metricKind(header: string | undefined): string {
  if (!header) return 'none';
  return isHookKind(header) ? header : 'other';
}

/** The webhook routes. */
export function webhookRoutes(deps: WebhookDeps): Hono {
  const app = new Hono();
  app.post(
    '/webhooks/gitlab',
    async (c, next) => {
      if (!matchesSecret(c.req.header('X-Gitlab-Token'), [deps.secret])) {
        deps.metrics.webhooks.inc({ kind: metricKind(c.req.header('X-Gitlab-Event')), result: 'unauthorized' });
        return c.json(errorBody('unauthorized', 'X-Gitlab-Token does not match the configured webhook secret'), 401);
      }
      await next();
    },
    bodyLimit({
      maxSize: MAX_WEBHOOK_BYTES,
      onError: (c) => {
        deps.metrics.webhooks.inc({ kind: metricKind(c.req.header('X-Gitlab-Event')), result: 'too_large' });
        return c.json(errorBody('payload_too_large', `webhook bodies are limited to ${MAX_WEBHOOK_BYTES} bytes`), 413);
      },
    }),
    async (c) => {
      const kind = c.req.header('X-Gitlab-Event') ?? '';
      const text = await c.req.text();
      if (!isHookKind(kind)) {
        deps.metrics.webhooks.inc({ kind: metricKind(kind), result: 'ignored' });
        deps.log.info({ kind }, 'webhook event kind not used; ignored');
        return c.json({ status: 'ignored', detail: `quarters does not act on "${kind}" events` }, 200);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        deps.metrics.webhooks.inc({ kind, result: 'invalid' });
        return c.json(errorBody('invalid_json', `the body is not JSON: ${(error as Error).message}`), 400);
      }
      const parsed = HOOK_SCHEMAS[kind].safeParse(json);
      if (!parsed.success) {
        deps.metrics.webhooks.inc({ kind, result: 'invalid' });
        return c.json(errorBody('invalid_payload', `not a valid ${kind}: ${describeZodError(parsed.error)}`), 400);
      }
      const key = dedupeKey({ idempotencyKey: c.req.header('Idempotency-Key'), eventUuid: c.req.header('X-Gitlab-Event-UUID') }, text);
      let added: Added;
      try {
        added = await deps.inbox.commit(key, kind, text);
      } catch (error) {
        if (!(error instanceof InboxCommitError)) throw error;
        deps.metrics.webhooks.inc({ kind, result: 'not_stored' });
        deps.log.error({ kind, err: error.message }, 'webhook event not stored');
        // Not acknowledged, so GitLab delivers it again later.
        return c.json(errorBody('inbox_unavailable', `the event was not stored, deliver it again: ${error.message}`), 503);
      }
      const { id, duplicate } = added;
      deps.metrics.webhooks.inc({ kind, result: duplicate ? 'duplicate' : 'accepted' });
      if (!duplicate) deps.accepted();
      return c.json({ status: duplicate ? 'duplicate' : 'accepted', event_id: id }, duplicate ? 200 : 202);
    },
  );
  return app;
}
