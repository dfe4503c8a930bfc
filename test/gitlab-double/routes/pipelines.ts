/** Pipelines: create, list, show, cancel, retry, variables, jobs. */
import type { Context, Hono } from 'hono';
import { ApiError, BadRequest, recordNotFound } from '../errors.js';
import { paginate } from '../pagination.js';
import { jobJson, pipelineBasicJson, pipelineJson } from '../shapes.js';
import { PIPELINE_STATUSES, type DoublePipeline, type JobStatus, type PipelineVariable } from '../state.js';
import { currentUser, optionalBoolean, optionalEnum, pathId, projectParam, readParams, requiredString, sortBy, type RouteContext } from './context.js';

const SCOPES = ['running', 'pending', 'finished', 'branches', 'tags'] as const;
const ORDER = ['id', 'status', 'ref', 'updated_at', 'user_id'] as const;
const JOB_SCOPES: readonly JobStatus[] = ['created', 'pending', 'running', 'failed', 'success', 'canceled', 'skipped', 'manual'];

/** `variables` of `POST /pipeline`: an array of `{key, value, variable_type?}`. */
function parseVariables(raw: unknown): PipelineVariable[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new BadRequest('variables is invalid');
  return raw.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) throw new BadRequest('variables is invalid');
    const { key, value, variable_type: type } = entry as Record<string, unknown>;
    if (typeof key !== 'string' || key === '') throw new BadRequest('variables[key] is missing');
    if (typeof value !== 'string') throw new BadRequest('variables[value] is missing');
    if (type !== undefined && type !== 'env_var' && type !== 'file') throw new BadRequest('variables[variable_type] does not have a valid value');
    return { key, value, variable_type: type ?? 'env_var' };
  });
}

/** Job `scope`: one status or `scope[]=a&scope[]=b`. */
function jobScope(c: Context): JobStatus[] | undefined {
  const values = [...c.req.queries('scope') ?? [], ...c.req.queries('scope[]') ?? []];
  if (values.length === 0) return undefined;
  for (const value of values) if (!JOB_SCOPES.includes(value as JobStatus)) throw new BadRequest('scope does not have a valid value');
  return values as JobStatus[];
}

/** Mounts the pipeline routes on `api`. */
export function pipelineRoutes(api: Hono, ctx: RouteContext): void {
  const pipelineParam = (c: Context): DoublePipeline => {
    const project = projectParam(ctx, c);
    const pipeline = ctx.state.pipelines.get(pathId(c, 'pipeline_id'));
    if (!pipeline || pipeline.projectId !== project.id) throw recordNotFound();
    return pipeline;
  };

  api.post('/projects/:id/pipeline', async (c) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const ref = requiredString(params, 'ref');
    const variables = parseVariables(params.variables);
    const repository = project.repository;
    const sha = repository.branches.get(ref) ?? repository.tags.get(ref);
    if (sha === undefined) throw new ApiError(400, { base: ['Reference not found'] });
    if (project.ciJobs.length === 0) throw new ApiError(400, { base: ['Missing CI config file'] });
    return c.json(pipelineJson(ctx, ctx.state.createPipeline(project, ref, sha, variables, 'api', currentUser(ctx, c))), 201);
  });

  api.get('/projects/:id/pipelines', async (c) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const scope = optionalEnum(params, 'scope', SCOPES);
    const status = optionalEnum(params, 'status', PIPELINE_STATUSES);
    const orderBy = optionalEnum(params, 'order_by', ORDER) ?? 'id';
    const sort = optionalEnum(params, 'sort', ['asc', 'desc'] as const) ?? 'desc';
    const finished = new Set(['success', 'failed', 'canceled', 'skipped']);
    const pipelines = ctx.state.pipelinesOf(project).filter((p) =>
      (status === undefined || p.status === status)
      && (params.ref === undefined || p.ref === params.ref)
      && (params.sha === undefined || p.sha === params.sha)
      && (params.source === undefined || p.source === params.source)
      && (scope === undefined || (scope === 'finished' ? finished.has(p.status) : scope === 'tags' ? p.tag : scope === 'branches' ? !p.tag : p.status === scope)));
    const key = (p: DoublePipeline) => (orderBy === 'status' ? p.status : orderBy === 'ref' ? p.ref : orderBy === 'updated_at' ? p.updatedAt : orderBy === 'user_id' ? p.user.id : p.id);
    return paginate(c, sortBy(pipelines, key, sort).map((p) => pipelineBasicJson(ctx, p)), ctx.baseUrl);
  });

  api.get('/projects/:id/pipelines/:pipeline_id', (c) => c.json(pipelineJson(ctx, pipelineParam(c))));

  api.get('/projects/:id/pipelines/:pipeline_id/variables', (c) => c.json(pipelineParam(c).variables));

  api.get('/projects/:id/pipelines/:pipeline_id/jobs', async (c) => {
    const pipeline = pipelineParam(c);
    const includeRetried = optionalBoolean(await readParams(c), 'include_retried') ?? false;
    const scope = jobScope(c);
    const jobs = ctx.state.jobsOf(pipeline.id, includeRetried).filter((j) => scope === undefined || scope.includes(j.status));
    return paginate(c, sortBy(jobs, (j) => j.id, 'desc').map((j) => jobJson(ctx, j)), ctx.baseUrl);
  });

  // GitLab's cancel sets 200 explicitly; retry keeps Grape's POST default, 201. Neither fails for a pipeline with nothing to do.
  // Neither waits for the webhooks its change causes (state.settled() does), as GitLab queues them.
  api.post('/projects/:id/pipelines/:pipeline_id/cancel', (c) => {
    const pipeline = pipelineParam(c);
    void ctx.state.cancelPipeline(pipeline.id);
    return c.json(pipelineJson(ctx, pipeline), 200);
  });

  api.post('/projects/:id/pipelines/:pipeline_id/retry', (c) => {
    const pipeline = pipelineParam(c);
    if (ctx.state.retryable(pipeline.id)) void ctx.state.retryPipeline(pipeline.id);
    return c.json(pipelineJson(ctx, pipeline), 201);
  });
}
