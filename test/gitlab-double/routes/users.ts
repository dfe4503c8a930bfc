/** The authenticated user: `GET /user`. */
import type { Hono } from 'hono';
import { currentUserJson } from '../shapes.js';
import { currentUser, type RouteContext } from './context.js';

/** Mounts the user routes on `api`. */
export function userRoutes(api: Hono, ctx: RouteContext): void {
  // The user the access token acts as (GitLab answers 401 without one, which the app's authentication gives).
  api.get('/user', (c) => c.json(currentUserJson(ctx, currentUser(ctx, c))));
}
