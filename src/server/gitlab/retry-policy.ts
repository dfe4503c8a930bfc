/** How long to wait before the next attempt: exponential backoff with full jitter, honouring Retry-After, within a time budget. */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The backoff cap of the first retry; doubles for every further one. */
  baseDelayMs: number;
  /** No single backoff is longer (a Retry-After may be, within maxElapsedMs). */
  maxDelayMs: number;
  /** No retry is started that would end its wait after this long since the first attempt. */
  maxElapsedMs: number;
  /** One attempt is abandoned (a timeout) after this long. */
  attemptTimeoutMs: number;
  /**
   * After a create abandoned without an answer (a timeout), how long GitLab may still be carrying it
   * out: the client looks for its result this long before it creates again. GitLab's own request
   * timeout (Workhorse, Puma) is 60 s.
   */
  landingWaitMs: number;
}

/** Five attempts within a minute, 20 s each at most. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxElapsedMs: 60_000,
  attemptTimeoutMs: 20_000,
  landingWaitMs: 60_000,
};

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait before attempt `attempt + 1` after `attempt` failed, or undefined when the policy says stop
 * (attempts used up, or the wait would end past the time budget).
 */
export function nextDelayMs(policy: RetryPolicy, attempt: number, elapsedMs: number, retryAfter: number | undefined, random: () => number): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.floor(random() * cap);
  const delay = retryAfter === undefined ? jittered : Math.max(retryAfter, jittered);
  if (elapsedMs + delay > policy.maxElapsedMs) return undefined;
  return delay;
}
