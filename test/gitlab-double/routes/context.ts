/** What every route module needs: the state, the base URL, and GitLab's ways of reading parameters. */
import type { Context } from 'hono';
import { BadRequest, notFound } from '../errors.js';
import type { ShapeContext } from '../shapes.js';
import type { DoubleProject, DoubleUser } from '../state.js';

export type RouteContext = ShapeContext;

/** Request parameters as Grape sees them: query string merged with a JSON or form body. */
export async function readParams(c: Context): Promise<Record<string, unknown>> {
  const params: Record<string, unknown> = { ...c.req.query() };
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return params;
  const type = c.req.header('content-type') ?? '';
  const text = await c.req.text();
  if (text === '') return params;
  if (type.includes('application/json')) {
    try {
      const body: unknown = JSON.parse(text);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the request body must be a JSON object');
      return { ...params, ...body };
    } catch (error) {
      if (error instanceof BadRequest) throw error;
      throw new BadRequest('the request body is not valid JSON');
    }
  }
  if (type.includes('application/x-www-form-urlencoded')) return { ...params, ...Object.fromEntries(new URLSearchParams(text)) };
  return params;
}

/** A required string parameter (`{"error": "ref is missing"}` when absent). */
export function requiredString(params: Record<string, unknown>, name: string): string {
  const value = params[name];
  if (value === undefined || value === null || value === '') throw new BadRequest(`${name} is missing`);
  if (typeof value !== 'string') throw new BadRequest(`${name} is invalid`);
  return value;
}

/** An optional boolean parameter in Grape's spellings. */
export function optionalBoolean(params: Record<string, unknown>, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (value === true || value === 'true' || value === '1' || value === 1) return true;
  if (value === false || value === 'false' || value === '0' || value === 0) return false;
  throw new BadRequest(`${name} is invalid`);
}

/** An optional parameter restricted to `values` (`{"error": "sort does not have a valid value"}`). */
export function optionalEnum<T extends string>(params: Record<string, unknown>, name: string, values: readonly T[]): T | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !values.includes(value as T)) throw new BadRequest(`${name} does not have a valid value`);
  return value as T;
}

/** An integer path parameter (Grape's `type: Integer`: 400 when it is not one). */
export function pathId(c: Context, name: string): number {
  const raw = c.req.param(name) ?? '';
  if (!/^\d+$/.test(raw)) throw new BadRequest(`${name} is invalid`);
  return Number(raw);
}

/** The project named by `:id` (numeric id or URL-encoded path); 404 `Project Not Found` otherwise. */
export function projectParam(ctx: RouteContext, c: Context): DoubleProject {
  const project = ctx.state.findProject(c.req.param('id') ?? '');
  if (!project) throw notFound('Project');
  return project;
}

/** Sorts by a key, ascending or descending. */
export function sortBy<T>(items: T[], key: (item: T) => string | number, direction: 'asc' | 'desc'): T[] {
  const sign = direction === 'asc' ? 1 : -1;
  return [...items].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -sign : ka > kb ? sign : 0;
  });
}

/** The access token a request carries (`PRIVATE-TOKEN`, `Authorization: Bearer` or `private_token`), unjudged. */
export function accessTokenOf(c: Context): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  return c.req.header('private-token') ?? bearer ?? c.req.query('private_token');
}

/** The user whose access token authenticated the request (the app's middleware already refused unknown tokens). */
export function currentUser(ctx: RouteContext, c: Context): DoubleUser {
  const token = accessTokenOf(c);
  const user = token === undefined ? undefined : ctx.state.accessTokens.get(token);
  if (!user) throw new Error('double: a route that needs a user was reached without an accepted access token');
  return user;
}
