/**
 * Which quarters server a job talks to. Job variables are claims any `.gitlab-ci.yml` can make, so
 * the server is always the one in the executor's own config (`[server] url`): a job naming another
 * one (QUARTERS_SERVER_URL) fails before any request is made, and no credential ever goes to a URL a
 * job chose.
 */
import type { ExecutorConfig } from './config.js';
import { SystemFailure } from './failure.js';
import type { Job } from './job.js';

/** A URL without its trailing slashes: how server URLs are compared and joined. */
export function normalizeServerUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Whether two server URLs name the same server: the same origin and path prefix, a trailing slash aside. */
export function sameServer(a: string, b: string): boolean {
  let x: URL;
  let y: URL;
  try {
    x = new URL(a);
    y = new URL(b);
  } catch {
    return false;
  }
  const prefix = (u: URL) => u.pathname.replace(/\/+$/, '');
  return x.origin === y.origin && prefix(x) === prefix(y) && x.search === y.search && x.username === y.username && x.password === y.password;
}

/**
 * The configured server's URL (no trailing slash) when the job needs a server: it names one, has a
 * build to upload for, or a build set repository to fetch (without repositories_dir); else null.
 * Throws SystemFailure when the job names another server, or needs one and none is configured.
 */
export function jobServer(config: ExecutorConfig, job: Job): string | null {
  const v = job.variables;
  const configured = config.server.url;
  const claimed = v.QUARTERS_SERVER_URL;
  if (claimed && configured && !sameServer(claimed, configured)) {
    throw new SystemFailure(`the job names the quarters server ${claimed} (QUARTERS_SERVER_URL), but this executor works for ${configured} (server.url in its config); it sends nothing to a server a job chooses`);
  }
  const fetchesRepository = v.QUARTERS_NAMESPACE !== undefined && v.QUARTERS_ITERATION !== undefined && config.repositories_dir === undefined;
  const reason = claimed ? 'QUARTERS_SERVER_URL' : v.QUARTERS_BUILD_ID ? 'QUARTERS_BUILD_ID' : fetchesRepository ? 'QUARTERS_NAMESPACE and QUARTERS_ITERATION' : null;
  if (!reason) return null;
  if (!configured) throw new SystemFailure(`the job is a quarters build (${reason}), but the executor config has no server.url: set [server] url to the quarters server this runner works for`);
  return normalizeServerUrl(configured);
}
