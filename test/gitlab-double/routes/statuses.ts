/** Commit statuses: set one (`POST /projects/:id/statuses/:sha`), list a commit's. */
import type { Hono } from 'hono';
import { ApiError, BadRequest, notFound } from '../errors.js';
import { paginate } from '../pagination.js';
import { commitStatusJson } from '../shapes.js';
import { COMMIT_STATUS_STATES, CommitStatusTransitionError, type DoubleProject } from '../state.js';
import { currentUser, optionalBoolean, optionalEnum, projectParam, readParams, type RouteContext } from './context.js';

/** GitLab's column limit for `ref`, `target_url` and `description`. */
const MAX_LENGTH = 255;

/** An optional string parameter (Grape's `type: String`). */
function optionalString(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BadRequest(`${name} is invalid`);
  return value;
}

/** The commit `:sha` names (a sha, or a branch or tag, as GitLab's `project.commit` accepts); 404 `Commit Not Found` otherwise. */
function commitOf(project: DoubleProject, sha: string): string {
  const id = project.repository.resolve(sha);
  if (id === undefined) throw notFound('Commit');
  return id;
}

/** Mounts the commit status routes on `api`. */
export function statusRoutes(api: Hono, ctx: RouteContext): void {
  api.post('/projects/:id/statuses/:sha', async (c) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    if (params.state === undefined || params.state === '') throw new BadRequest('state is missing');
    const state = optionalEnum(params, 'state', COMMIT_STATUS_STATES)!;
    const input = {
      state,
      ref: optionalString(params, 'ref'),
      name: optionalString(params, 'name') ?? optionalString(params, 'context'),
      targetUrl: optionalString(params, 'target_url'),
      description: optionalString(params, 'description'),
    };
    const sha = commitOf(project, c.req.param('sha'));
    // Without `ref`: the newest pipeline's at the commit, else the first branch that contains it.
    const repository = project.repository;
    const ref = input.ref
      ?? ctx.state.pipelinesOf(project).filter((p) => p.sha === sha).at(-1)?.ref
      ?? [...repository.branches.keys()].sort().find((b) => repository.ancestors(repository.branches.get(b)!).includes(sha));
    if (ref === undefined) throw notFound('References for commit');
    // ActiveRecord validations, answered as `{"message": {"field": ["…"]}}`.
    const tooLong = Object.entries({ ref: input.ref, target_url: input.targetUrl, description: input.description }).filter(([, v]) => v !== undefined && v.length > MAX_LENGTH);
    if (tooLong.length) throw new ApiError(400, Object.fromEntries(tooLong.map(([k]) => [k, [`is too long (maximum is ${MAX_LENGTH} characters)`]])));
    try {
      return c.json(commitStatusJson(ctx, ctx.state.setCommitStatus(project, sha, ref, input, currentUser(ctx, c))), 201);
    } catch (error) {
      if (error instanceof CommitStatusTransitionError) throw new ApiError(400, error.message);
      throw error;
    }
  });

  api.get('/projects/:id/repository/commits/:sha/statuses', async (c) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const sha = commitOf(project, c.req.param('sha'));
    const all = optionalBoolean(params, 'all') ?? false;
    const statuses = ctx.state.commitStatusesOf(project, sha, { all }).filter((s) =>
      (params.ref === undefined || params.ref === '' || s.ref === params.ref)
      && (params.stage === undefined || params.stage === '' || params.stage === 'external')
      && (params.name === undefined || params.name === '' || s.name === params.name));
    return paginate(c, statuses.map((s) => commitStatusJson(ctx, s)), ctx.baseUrl);
  });
}
