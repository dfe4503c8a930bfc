import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, nextDelayMs, retryAfterMs } from './retry-policy.js';

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates, ignores garbage', () => {
    expect(retryAfterMs('3')).toBe(3_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5_000);
    expect(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('nextDelayMs', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300, maxElapsedMs: 10_000 };

  it('draws uniformly below an exponentially growing, capped ceiling', () => {
    expect([1, 2, 3].map((attempt) => nextDelayMs(policy, attempt, 0, undefined, () => 0.999))).toEqual([99, 199, 299]);
    expect(nextDelayMs(policy, 2, 0, undefined, () => 0)).toBe(0);
  });

  it('waits at least Retry-After, stops after the last attempt or past the time budget', () => {
    expect(nextDelayMs(policy, 1, 0, 2_000, () => 0.5)).toBe(2_000);
    expect(nextDelayMs(policy, 4, 0, undefined, () => 0.5)).toBeUndefined();
    expect(nextDelayMs(policy, 1, 9_000, 2_000, () => 0.5)).toBeUndefined();
  });
});
