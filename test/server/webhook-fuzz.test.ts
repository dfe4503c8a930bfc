/**
 * Fuzzing the webhook endpoint over real HTTP with fast-check: random JSON, GitLab's fixtures with
 * fields dropped, retyped or replaced, bodies that are not JSON, and headers that lie (event kinds,
 * tokens, content types). Every request gets a 2xx or 4xx answer, never a 5xx; the server stays
 * healthy and keeps answering. FUZZ_WEBHOOKS sets the number of requests (default 10,000).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureText } from './http-harness.js';
import { startRig, WEBHOOK_SECRET, type Rig } from './server-harness.js';

const REQUESTS = Number(process.env.FUZZ_WEBHOOKS ?? 10_000);
const KINDS = ['Push Hook', 'Tag Push Hook', 'Merge Request Hook', 'Pipeline Hook', 'Job Hook'];
const FIXTURES: Record<string, string> = {
  'Push Hook': 'push.json', 'Tag Push Hook': 'tag_push.json', 'Merge Request Hook': 'merge_request.json', 'Pipeline Hook': 'pipeline.json', 'Job Hook': 'pipeline.json',
};

/** A JSON value with one path of it changed: dropped, set to another type, or replaced by random JSON. */
function mutate(value: unknown, path: number[], replacement: unknown, drop: boolean): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') return replacement;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return replacement;
  const [key, child] = entries[path[0]! % entries.length]!;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
  if (drop && path.length === 1) {
    if (Array.isArray(copy)) copy.splice(Number(key), 1);
    else delete copy[key];
    return copy;
  }
  (copy as Record<string, unknown>)[key] = mutate(child, path.slice(1), replacement, drop);
  return copy;
}

const body = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...KINDS), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.jsonValue(), fc.boolean(), fc.nat({ max: 3 }))
    .map(([kind, path, replacement, drop, times]) => {
      let value: unknown = JSON.parse(fixtureText(FIXTURES[kind]!));
      for (let i = 0; i <= times; i++) value = mutate(value, path.map((p) => p + i), replacement, drop);
      return { kind, text: JSON.stringify(value) };
    }) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...KINDS), fc.jsonValue()).map(([kind, value]) => ({ kind, text: JSON.stringify(value) })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...KINDS), fc.string({ unit: 'binary', maxLength: 300 })).map(([kind, text]) => ({ kind, text })) },
);

const request = fc.record({
  body,
  event: fc.oneof({ weight: 8, arbitrary: fc.constant<string | null>(null) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.constant('System Hook') }),
  token: fc.oneof({ weight: 8, arbitrary: fc.constant(WEBHOOK_SECRET) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.constant<string | null>(null) }),
  contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
  key: fc.option(fc.stringMatching(/^[A-Za-z0-9-]{1,40}$/), { nil: undefined }),
});

describe('the webhook endpoint under fuzzing', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => rig?.close());

  it(`answers ${REQUESTS} random and mutated deliveries with 2xx or 4xx, and stays healthy`, async () => {
    const requests = fc.sample(request, { numRuns: REQUESTS, seed: 20261203 });
    const statuses = new Map<number, number>();
    const serverErrors: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const r = requests[next++]!;
        const headers: Record<string, string> = { 'X-Gitlab-Event': r.event ?? r.body.kind, 'X-Gitlab-Event-UUID': `fuzz-${next}` };
        if (r.token !== null) headers['X-Gitlab-Token'] = r.token;
        if (r.contentType) headers['Content-Type'] = r.contentType;
        if (r.key) headers['Idempotency-Key'] = r.key;
        let status: number;
        try {
          const response = await fetch(`${rig.url}/webhooks/gitlab`, { method: 'POST', headers, body: r.body.text });
          status = response.status;
          if (status >= 500) serverErrors.push(`${status} ${headers['X-Gitlab-Event']}: ${(await response.text()).slice(0, 200)} for ${r.body.text.slice(0, 200)}`);
          else await response.body?.cancel();
        } catch (error) {
          // fetch itself refuses some header values (e.g. control characters): the request never left.
          if (error instanceof TypeError && /header|ByteString/i.test(String((error as { cause?: unknown }).cause ?? error.message))) continue;
          throw error;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(serverErrors.slice(0, 5)).toEqual([]);
    const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(answered).toBeGreaterThan(REQUESTS * 0.9);
    // The mix reached every outcome: accepted, duplicate or ignored, refused as malformed, refused as unauthenticated.
    for (const status of [200, 202, 400, 401]) expect(statuses.get(status) ?? 0, JSON.stringify(Object.fromEntries(statuses))).toBeGreaterThan(0);
    const health = await fetch(`${rig.url}/healthz`);
    expect(health.status).toBe(200);
    console.log(`webhook fuzzing: ${answered} requests, answers ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
  }, 600_000);
});
