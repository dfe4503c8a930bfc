/** What can go wrong talking to GitLab, as typed errors carrying GitLab's status and message (never a token). */

/** Base of every error the GitLab client throws. */
export class GitLabError extends Error {
  override name = 'GitLabError';
  constructor(message: string, readonly method: string, readonly route: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** GitLab answered with an error status the client does not retry (or stopped retrying): 4xx, or a final 429/5xx. */
export class GitLabApiError extends GitLabError {
  override name = 'GitLabApiError';
  constructor(method: string, route: string, readonly status: number, readonly gitlabMessage: string) {
    super(`GitLab answered ${status} to ${method} ${route}: ${gitlabMessage || '(no message)'}`, method, route);
  }
}

/**
 * GitLab could not be reached or kept failing (429, 5xx, timeouts, connection errors) until the
 * retry budget ran out. `mayHaveTakenEffect` is true when the last attempt may have been carried out
 * by GitLab even though no success came back (a timeout, a dropped connection, a 5xx).
 */
export class GitLabUnavailableError extends GitLabError {
  override name = 'GitLabUnavailableError';
  constructor(
    method: string,
    route: string,
    readonly attempts: number,
    readonly lastFailure: number | 'timeout' | 'network',
    readonly mayHaveTakenEffect: boolean,
    options?: ErrorOptions,
  ) {
    const what = typeof lastFailure === 'number' ? `status ${lastFailure}` : lastFailure === 'timeout' ? 'a timeout' : 'a connection error';
    super(`GitLab did not answer ${method} ${route} successfully after ${attempts} attempt(s); last failure: ${what}. Check GitLab's status and the [gitlab] url.`, method, route, options);
  }
}

/** GitLab answered 2xx with a body that does not have the documented shape. */
export class GitLabResponseError extends GitLabError {
  override name = 'GitLabResponseError';
  constructor(method: string, route: string, readonly issues: string) {
    super(`GitLab's answer to ${method} ${route} does not have the expected shape: ${issues}`, method, route);
  }
}

/** A pipeline was created at a different commit than asked for: the branch moved between planning and dispatch. */
export class PipelineRefMovedError extends GitLabError {
  override name = 'PipelineRefMovedError';
  constructor(readonly project: string | number, readonly ref: string, readonly expectedSha: string, readonly actualSha: string) {
    super(`${ref} of project ${project} moved to ${actualSha} before the pipeline for ${expectedSha} was created; the stray pipeline was cancelled`, 'POST', 'projects/:id/pipeline');
  }
}
