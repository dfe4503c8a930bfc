/** `GET /job`: the job a CI_JOB_TOKEN belongs to. */
import type { Hono } from 'hono';
import { notFound, unauthorized } from '../errors.js';
import { jobJson } from '../shapes.js';
import { pathId, projectParam, type RouteContext } from './context.js';

/** The job token of a request: `JOB-TOKEN` header, `job_token` parameter, or `Authorization: Bearer`, as GitLab accepts. */
export function jobTokenOf(headers: { header(name: string): string | undefined }, query: (name: string) => string | undefined): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.header('authorization') ?? '')?.[1];
  return headers.header('job-token') ?? query('job_token') ?? bearer;
}

/** Mounts the `GET /job` on `api`. */
export function jobRoutes(api: Hono, ctx: RouteContext): void {
  api.get('/job', (c) => {
    const token = jobTokenOf(c.req, (name) => c.req.query(name));
    const job = token === undefined ? undefined : ctx.state.jobForToken(token);
    if (!job) throw unauthorized();
    return c.json(jobJson(ctx, job));
  });

  // The job's log as plain text (GitLab answers 404 "Job Not Found" for a job of another project).
  api.get('/projects/:id/jobs/:job_id/trace', (c) => {
    const project = projectParam(ctx, c);
    const job = ctx.state.jobs.get(pathId(c, 'job_id'));
    if (!job || job.projectId !== project.id) throw notFound('Job');
    return c.body(job.log, 200, { 'Content-Type': 'text/plain' });
  });
}
