/**
 * The GitLab client of a server without a [gitlab] section (local-only mode): every call is refused.
 * Nothing in that mode should reach it (no webhooks, no uploads, no reconcile, API writes refused);
 * it is there so that a path that forgets this fails with a clear answer instead of calling anywhere.
 */
import { ApiError } from '../http/http-error.js';
import type { GitLabClient } from './client.js';

/** The answer to a GitLab feature asked of a local-only server. */
export function localOnlyError(what: string): ApiError {
  return new ApiError(409, 'local_only', `${what} needs GitLab, and this server has no [gitlab] section: it serves the build sets "quarters build" makes`);
}

/** A GitLabClient whose every method rejects with localOnlyError. */
export function noGitLab(): GitLabClient {
  return new Proxy({} as GitLabClient, {
    // Not a thenable: awaiting or resolving with the client must not call it.
    get: (_target, method) => (typeof method === 'symbol' || method === 'then' ? undefined : () => Promise.reject(localOnlyError(`GitLab ${method}`))),
  });
}
