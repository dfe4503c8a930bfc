/** The double's Hono app: request log, faults, authentication, then GitLab's REST v4 routes under `/api/v4`. */
import { Hono } from 'hono';
import { ApiError, BadRequest, unauthorized } from './errors.js';
import type { Faults } from './faults.js';
import { jobRoutes } from './routes/jobs.js';
import { mergeRequestRoutes } from './routes/merge-requests.js';
import { noteRoutes } from './routes/notes.js';
import { pipelineRoutes } from './routes/pipelines.js';
import { projectRoutes } from './routes/projects.js';
import { repositoryRoutes } from './routes/repository.js';
import { statusRoutes } from './routes/statuses.js';
import { accessTokenOf, type RouteContext } from './routes/context.js';
import { userRoutes } from './routes/users.js';

/** Where GitLab serves REST v4. */
export const API_PREFIX = '/api/v4';

/** One request the double served, for assertions (e.g. that no token travels in a URL). */
export interface RecordedRequest {
  method: string;
  /** Path and query string exactly as received. */
  url: string;
  /** Which credential the request carried: `private-token`, `bearer`, `job-token`, or none. */
  auth: 'private-token' | 'bearer' | 'job-token' | 'none';
  status: number;
}

export interface AppOptions {
  faults: Faults;
  requests: RecordedRequest[];
}

/** The credential a request carries, without judging it. */
function credentialOf(header: (name: string) => string | undefined): RecordedRequest['auth'] {
  if (header('private-token') !== undefined) return 'private-token';
  if (header('job-token') !== undefined) return 'job-token';
  if (/^Bearer\s/i.test(header('authorization') ?? '')) return 'bearer';
  return 'none';
}

/** The app: request log and faults around the authenticated `/api/v4` routes, GitLab-shaped errors. */
export function createApp(ctx: RouteContext, options: AppOptions): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    const url = new URL(c.req.url);
    const entry: RecordedRequest = { method: c.req.method, url: url.pathname + url.search, auth: credentialOf((n) => c.req.header(n)), status: 0 };
    options.requests.push(entry);
    await next();
    entry.status = c.res.status;
  });
  app.use('*', options.faults.middleware(API_PREFIX));

  const api = new Hono();
  api.use('*', async (c, next) => {
    // `GET /job` authenticates by the job token alone.
    if (c.req.method === 'GET' && new URL(c.req.url).pathname === `${API_PREFIX}/job`) return next();
    // Personal/project access tokens: the users they act as are in state.accessTokens.
    const token = accessTokenOf(c);
    if (token === undefined || !ctx.state.accessTokens.has(token)) throw unauthorized();
    return next();
  });
  projectRoutes(api, ctx);
  repositoryRoutes(api, ctx);
  pipelineRoutes(api, ctx);
  jobRoutes(api, ctx);
  mergeRequestRoutes(api, ctx);
  noteRoutes(api, ctx);
  statusRoutes(api, ctx);
  userRoutes(api, ctx);
  app.route(API_PREFIX, api);

  app.notFound((c) => c.json({ error: '404 Not Found' }, 404));
  app.onError((error, c) => {
    if (error instanceof BadRequest) return c.json({ error: error.message }, 400);
    if (error instanceof ApiError) return c.json({ message: error.body }, error.status);
    return c.json({ message: '500 Internal Server Error', double_error: String(error) }, 500);
  });
  return app;
}
