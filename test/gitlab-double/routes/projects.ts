/** `GET /projects/:id`, `GET /groups/:id/projects`. */
import type { Hono } from 'hono';
import { notFound } from '../errors.js';
import { paginate } from '../pagination.js';
import { projectJson } from '../shapes.js';
import { optionalBoolean, optionalEnum, projectParam, readParams, sortBy, type RouteContext } from './context.js';

const GROUP_PROJECT_ORDER = ['id', 'name', 'path', 'created_at', 'updated_at', 'last_activity_at', 'similarity'] as const;

/** Mounts the project and group routes on `api`. */
export function projectRoutes(api: Hono, ctx: RouteContext): void {
  api.get('/projects/:id', (c) => c.json(projectJson(ctx, projectParam(ctx, c))));

  api.get('/groups/:id/projects', async (c) => {
    const group = ctx.state.findGroup(c.req.param('id'));
    if (!group) throw notFound('Group');
    const params = await readParams(c);
    const includeSubgroups = optionalBoolean(params, 'include_subgroups') ?? false;
    const archived = optionalBoolean(params, 'archived');
    // Validated for fidelity; the double has no sharing, so `with_shared` changes nothing.
    optionalBoolean(params, 'with_shared');
    const orderBy = optionalEnum(params, 'order_by', GROUP_PROJECT_ORDER) ?? 'created_at';
    const sort = optionalEnum(params, 'sort', ['asc', 'desc'] as const) ?? 'desc';
    const projects = [...ctx.state.projects.values()].filter((p) =>
      (p.group.id === group.id || (includeSubgroups && p.group.fullPath.startsWith(`${group.fullPath}/`)))
      && (archived === undefined || p.archived === archived));
    const key = (p: (typeof projects)[number]) => (orderBy === 'name' ? p.name : orderBy === 'path' ? p.path : p.id);
    return paginate(c, sortBy(projects, key, sort).map((p) => projectJson(ctx, p)), ctx.baseUrl);
  });
}
