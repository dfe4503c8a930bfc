/** Merge requests of a project: list, show, create; and commits with actions (`POST .../repository/commits`). */
import type { Context, Hono } from 'hono';
import { ApiError, BadRequest, notFound } from '../errors.js';
import { paginate } from '../pagination.js';
import { commitDetailJson, mergeRequestJson } from '../shapes.js';
import type { DoubleMergeRequest } from '../state.js';
import { currentUser, optionalBoolean, optionalEnum, pathId, projectParam, readParams, requiredString, sortBy, type RouteContext } from './context.js';

const STATES = ['opened', 'closed', 'locked', 'merged', 'all'] as const;
const ACTIONS = ['create', 'delete', 'move', 'update', 'chmod'] as const;

/** An optional string parameter (400 `… is invalid` when it is not a string). */
function optionalString(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new BadRequest(`${name} is invalid`);
  return value;
}

/** Mounts the merge request and commit-creation routes on `api`. */
export function mergeRequestRoutes(api: Hono, ctx: RouteContext): void {
  api.get('/projects/:id/merge_requests', async (c) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const state = optionalEnum(params, 'state', STATES) ?? 'all';
    const source = optionalString(params, 'source_branch');
    const orderBy = optionalEnum(params, 'order_by', ['created_at', 'updated_at'] as const) ?? 'created_at';
    const sort = optionalEnum(params, 'sort', ['asc', 'desc'] as const) ?? 'desc';
    const targetBranch = optionalString(params, 'target_branch');
    const list = [...project.mergeRequests.values()].filter((mr) =>
      (state === 'all' || mr.state === state) && (source === undefined || mr.sourceBranch === source) && (targetBranch === undefined || mr.targetBranch === targetBranch));
    const key = (mr: DoubleMergeRequest) => `${orderBy === 'updated_at' ? mr.updatedAt : mr.createdAt}#${String(mr.id).padStart(12, '0')}`;
    return paginate(c, sortBy(list, key, sort).map((mr) => mergeRequestJson(ctx, project, mr)), ctx.baseUrl);
  });

  api.get('/projects/:id/merge_requests/:iid', (c) => {
    const project = projectParam(ctx, c);
    const mergeRequest = project.mergeRequests.get(pathId(c, 'iid'));
    if (!mergeRequest) throw notFound('Merge Request');
    return c.json(mergeRequestJson(ctx, project, mergeRequest));
  });

  api.post('/projects/:id/merge_requests', async (c) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const sourceBranch = requiredString(params, 'source_branch');
    const targetBranch = requiredString(params, 'target_branch');
    const title = requiredString(params, 'title');
    const problems: string[] = [];
    if (!project.repository.branches.has(sourceBranch)) problems.push(`Source branch "${sourceBranch}" does not exist`);
    if (!project.repository.branches.has(targetBranch)) problems.push(`Target branch "${targetBranch}" does not exist`);
    if (sourceBranch === targetBranch) problems.push('You can\'t use same project/branch for source and target');
    const open = [...project.mergeRequests.values()].find((mr) => mr.state === 'opened' && mr.sourceBranch === sourceBranch && mr.targetBranch === targetBranch);
    // GitLab: 409 when an open merge request has the same branches, 422 for other validation errors (MergeRequests::CreateService).
    if (open) throw new ApiError(409, [`Another open merge request already exists for this source branch: !${open.iid}`]);
    if (problems.length) throw new ApiError(422, problems);
    const mergeRequest = ctx.state.addMergeRequest(project, {
      sourceBranch, targetBranch, title, description: optionalString(params, 'description') ?? '',
      author: currentUser(ctx, c), removeSourceBranch: optionalBoolean(params, 'remove_source_branch') ?? false,
    });
    return c.json(mergeRequestJson(ctx, project, mergeRequest), 201);
  });

  api.post('/projects/:id/repository/commits', async (c: Context) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const branch = requiredString(params, 'branch');
    const message = requiredString(params, 'commit_message');
    const startBranch = optionalString(params, 'start_branch');
    const startSha = optionalString(params, 'start_sha');
    if (startBranch !== undefined && startSha !== undefined) throw new BadRequest('start_branch, start_sha are mutually exclusive');
    const actions = params.actions;
    if (!Array.isArray(actions) || actions.length === 0) throw new BadRequest('actions is missing');
    const { repository } = project;
    const exists = repository.branches.has(branch);
    const start = startSha ?? startBranch;
    const force = optionalBoolean(params, 'force') ?? false;
    // Files::MultiService / Commits::CreateService's validation, with GitLab's messages.
    if (exists && start !== undefined && !force && repository.resolve(start) !== repository.branches.get(branch)) {
      throw new ApiError(400, `A branch called '${branch}' already exists. Switch to that branch in order to make changes`);
    }
    if (!exists && start === undefined) throw new ApiError(400, 'You can only create or edit files when you are on a branch');
    const base = start === undefined || (exists && !force) ? repository.commitAt(branch) : repository.commitAt(start);
    if (!base) throw new ApiError(400, `Cannot find start_${startSha !== undefined ? 'sha' : 'branch'} '${start}'`);
    const files = new Map(base.files);
    const changes: Record<string, string | null> = {};
    for (const [i, raw] of actions.entries()) {
      if (typeof raw !== 'object' || raw === null) throw new BadRequest(`actions[${i}] is invalid`);
      const action = raw as Record<string, unknown>;
      const kind = optionalEnum(action, 'action', ACTIONS);
      if (kind === undefined) throw new BadRequest(`actions[${i}][action] is missing`);
      const path = requiredString(action, 'file_path');
      const encoding = optionalEnum(action, 'encoding', ['text', 'base64'] as const) ?? 'text';
      const text = typeof action.content === 'string' ? (encoding === 'base64' ? Buffer.from(action.content, 'base64').toString('utf8') : action.content) : undefined;
      const present = files.has(path);
      if (kind === 'create' && present) throw new ApiError(400, 'A file with this name already exists');
      if ((kind === 'update' || kind === 'delete' || kind === 'chmod') && !present) throw new ApiError(400, 'A file with this name doesn\'t exist');
      if (kind === 'create' || kind === 'update') {
        files.set(path, text ?? '');
        changes[path] = text ?? '';
      } else if (kind === 'delete') {
        files.delete(path);
        changes[path] = null;
      } else if (kind === 'move') {
        const from = requiredString(action, 'previous_path');
        if (!files.has(from)) throw new ApiError(400, 'A file with this name doesn\'t exist');
        const content = text ?? files.get(from)!;
        files.delete(from);
        files.set(path, content);
        changes[from] = null;
        changes[path] = content;
      }
    }
    const user = currentUser(ctx, c);
    const authorName = optionalString(params, 'author_name');
    const authorEmail = optionalString(params, 'author_email');
    const author = { name: authorName ?? user.name, email: authorEmail ?? user.email };
    if (!exists || force) repository.resetBranch(branch, base.id);
    const commit = repository.commit(branch, { files: changes, message, author });
    return c.json(commitDetailJson(ctx, project, commit), 201);
  });
}
