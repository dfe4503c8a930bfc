/** Every error the HTTP interface answers with is JSON `{error, detail}`; ApiError carries the status and both texts. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { Logger } from '../../common/log.js';
import { BuildSetError, type BuildSetErrorCode } from '../../core/build-set/origin.js';
import { GitLabError } from '../gitlab/errors.js';
import { RepositoryError } from '../artifacts/repository.js';
import { SigningError } from '../signing/signer.js';

/** Whether an error is the file system running out of space (ENOSPC, or a tool saying so). */
export function isNoSpace(error: unknown): boolean {
  if ((error as NodeJS.ErrnoException | null)?.code === 'ENOSPC') return true;
  return error instanceof RepositoryError && /no space left on device|ENOSPC/i.test(error.message);
}

/** A request that cannot be served; `error` is a short machine-friendly code, `detail` what to do about it. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly error: string,
    readonly detail: string,
  ) {
    super(`${error}: ${detail}`);
    this.name = 'ApiError';
  }
}

/** The HTTP status of each domain error about a build set. */
const BUILD_SET_STATUS: Record<BuildSetErrorCode, ContentfulStatusCode> = {
  invalid_origin: 400,
  invalid_name: 400,
  no_origins: 400,
  name_taken: 409,
  unknown_package: 422,
  unknown_ref: 422,
  not_buildable: 422,
  plan_failed: 422,
};

/** The JSON error body. */
export function errorBody(error: string, detail: string): { error: string; detail: string } {
  return { error, detail };
}

/** Describes the first zod issue as "path: message". */
export function describeZodError(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const path = issue.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  return `${path}${issue.message}`;
}

/** Hono's onError handler: known errors become their JSON answer, anything else a logged 500. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context): Response => {
    if (err instanceof ApiError) return c.json(errorBody(err.error, err.detail), err.status);
    if (err instanceof BuildSetError) return c.json(errorBody(err.code === 'no_origins' ? 'invalid_request' : err.code, err.message), BUILD_SET_STATUS[err.code]);
    if (err instanceof z.ZodError) return c.json(errorBody('invalid_request', describeZodError(err)), 400);
    if (err instanceof GitLabError) {
      log.warn({ err: err.message, path: c.req.path }, 'GitLab failed a request');
      return c.json(errorBody('gitlab_error', err.message), 502);
    }
    if (isNoSpace(err)) {
      log.error({ err: err.message, path: c.req.path }, 'out of disk space');
      return c.json(errorBody('insufficient_storage', 'the server\'s data_dir is out of space; nothing was changed, try again once space is freed'), 507);
    }
    if (err instanceof SigningError) {
      log.error({ err: err.message, path: c.req.path }, 'signing failed: nothing was published');
      return c.json(errorBody('signing_failed', `nothing was published, the repository was left as it was: ${err.message}`), 503);
    }
    if (err instanceof RepositoryError) {
      log.error({ err: err.message, path: c.req.path }, 'repository update failed');
      return c.json(errorBody('repository_update_failed', `the repository was left as it was: ${err.message}`), 500);
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return c.json(errorBody(status === 413 ? 'payload_too_large' : `http_${status}`, err.message || 'request refused'), status);
    }
    log.error({ err, path: c.req.path, requestId: c.get('requestId' as never) }, 'unhandled error');
    return c.json(errorBody('internal_error', 'the server failed to handle this request; see its log'), 500);
  };
}
