/**
 * The HTTP transport under @gitbeaker/rest: one attempt per fetch, bounded by a timeout, retried
 * on 429 (and, for repeatable calls, on 5xx, timeouts and connection errors) with backoff; every
 * attempt reported to an observer. Replaces gitbeaker's own handler, whose retries ignore
 * Retry-After and wait under a millisecond.
 */
import { createRequesterFn, type FormattedResponse, type RequesterType, type ResourceOptions, type ResponseBodyTypes } from '@gitbeaker/requester-utils';
import type { Logger } from '../../common/log.js';
import { GitLabApiError, GitLabResponseError, GitLabUnavailableError } from './errors.js';
import { nextDelayMs, retryAfterMs, type RetryPolicy } from './retry-policy.js';
import { routeOf } from './route.js';

/** One attempt at a GitLab call, for metrics. `status` is null when no answer came (then `failure` says why). */
export interface GitLabCallObservation {
  method: string;
  route: string;
  status: number | null;
  failure?: 'timeout' | 'network';
  latencyMs: number;
  attempt: number;
}

export type GitLabObserver = (observation: GitLabCallObservation) => void;

export interface TransportOptions {
  policy: RetryPolicy;
  /**
   * Whether a call may be sent again after an answer that leaves its effect unknown (5xx, timeout,
   * connection error). False for calls that create something; 429 is always retried, since GitLab
   * refused the request before acting on it.
   */
  repeatable: boolean;
  observer?: GitLabObserver;
  log?: Logger;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The request options gitbeaker's option handler produces (see @gitbeaker/requester-utils defaultOptionsHandler). */
interface GitbeakerRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | FormData;
  prefixUrl?: string;
  searchParams?: string;
  asStream?: boolean;
  signal?: AbortSignal;
}

async function readBody(response: Response, asStream: boolean): Promise<ResponseBodyTypes> {
  if (asStream) return response.body as ReadableStream;
  if (response.status === 204) return null;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (type === 'application/json') return ((await response.json()) as ResponseBodyTypes) ?? {};
  if (type.startsWith('text/')) return response.text();
  return response.blob();
}

/** GitLab's error text: `message` (a string or field errors) or `error`, else the raw body. */
async function gitlabMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
    const value = parsed.message ?? parsed.error ?? text;
    return typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return text.slice(0, 500);
  }
}

const isRetryableStatus = (status: number) => status === 429 || status >= 500;

/** Sends one logical GitLab call, retrying per the options; returns gitbeaker's response shape or throws a GitLabError. */
export async function sendWithRetries(endpoint: string, request: GitbeakerRequest, options: TransportOptions): Promise<FormattedResponse> {
  const method = (request.method ?? 'GET').toUpperCase();
  const route = routeOf(endpoint);
  const base = request.prefixUrl === undefined ? undefined : request.prefixUrl.endsWith('/') ? request.prefixUrl : `${request.prefixUrl}/`;
  const url = new URL(endpoint, base);
  url.search = request.searchParams ?? '';
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const observe = (observation: GitLabCallObservation) => {
    // Metrics must never break the call they measure.
    try {
      options.observer?.(observation);
    } catch (error) {
      options.log?.error({ err: error, route }, 'the GitLab call observer failed');
    }
  };
  // Time spent in attempts plus time waited between them: the budget counts both, however `sleep` waits.
  let spentMs = 0;

  for (let attempt = 1; ; attempt += 1) {
    const attemptStarted = performance.now();
    const timeout = AbortSignal.timeout(options.policy.attemptTimeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let failure: number | 'timeout' | 'network';
    let retryAfter: number | undefined;
    let cause: unknown;
    try {
      const response = await fetch(url, { method, headers: request.headers, body: request.body, signal });
      const observation = { method, route, status: response.status, latencyMs: performance.now() - attemptStarted, attempt };
      if (response.ok) {
        const body = await readBody(response, request.asStream ?? false).catch((error: unknown) => {
          throw error instanceof SyntaxError ? new GitLabResponseError(method, route, `the body is not valid JSON (${error.message})`) : error;
        });
        observe(observation);
        return { body, headers: Object.fromEntries(response.headers.entries()), status: response.status };
      }
      observe(observation);
      if (!isRetryableStatus(response.status)) throw new GitLabApiError(method, route, response.status, await gitlabMessage(response));
      failure = response.status;
      retryAfter = retryAfterMs(response.headers.get('retry-after'));
      await response.body?.cancel();
      if (response.status !== 429 && !options.repeatable) throw new GitLabUnavailableError(method, route, attempt, failure, true);
    } catch (error) {
      if (error instanceof GitLabApiError || error instanceof GitLabUnavailableError || error instanceof GitLabResponseError) throw error;
      if (request.signal?.aborted) throw error;
      failure = timeout.aborted ? 'timeout' : 'network';
      cause = error;
      observe({ method, route, status: null, failure, latencyMs: performance.now() - attemptStarted, attempt });
      if (!options.repeatable) throw new GitLabUnavailableError(method, route, attempt, failure, true, { cause });
    }
    spentMs += performance.now() - attemptStarted;
    const delay = nextDelayMs(options.policy, attempt, spentMs, retryAfter, random);
    if (delay === undefined) {
      throw new GitLabUnavailableError(method, route, attempt, failure, failure !== 429, cause === undefined ? undefined : { cause });
    }
    options.log?.warn({ method, route, attempt, failure, delayMs: delay }, 'GitLab call failed; retrying');
    await sleep(delay);
    spentMs += delay;
  }
}

/** A gitbeaker `requesterFn` that sends through sendWithRetries. */
export function retryingRequesterFn(options: TransportOptions): (resourceOptions: ResourceOptions) => RequesterType {
  return createRequesterFn(
    async (_resource, request) => request,
    (endpoint, request) => sendWithRetries(endpoint, (request ?? {}) as GitbeakerRequest, options),
  );
}
