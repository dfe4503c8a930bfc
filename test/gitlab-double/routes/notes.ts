/** Merge request notes: list, create, edit. */
import type { Context, Hono } from 'hono';
import { notFound, recordNotFound } from '../errors.js';
import { paginate } from '../pagination.js';
import { noteJson } from '../shapes.js';
import type { DoubleMergeRequest, DoubleNote, DoubleProject } from '../state.js';
import { optionalEnum, pathId, projectParam, readParams, requiredString, sortBy, type RouteContext } from './context.js';

/** Mounts the merge request note routes on `api`. */
export function noteRoutes(api: Hono, ctx: RouteContext): void {
  const mergeRequestParam = (c: Context): { project: DoubleProject; mergeRequest: DoubleMergeRequest } => {
    const project = projectParam(ctx, c);
    const mergeRequest = project.mergeRequests.get(pathId(c, 'iid'));
    // GitLab names the noteable class here: `not_found!(MergeRequest)`.
    if (!mergeRequest) throw notFound('MergeRequest');
    return { project, mergeRequest };
  };

  api.get('/projects/:id/merge_requests/:iid/notes', async (c) => {
    const { project, mergeRequest } = mergeRequestParam(c);
    const params = await readParams(c);
    const sort = optionalEnum(params, 'sort', ['asc', 'desc'] as const) ?? 'desc';
    const orderBy = optionalEnum(params, 'order_by', ['created_at', 'updated_at'] as const) ?? 'created_at';
    const notes = ctx.state.mergeRequestNotes(project, mergeRequest.iid);
    // Ties on the timestamp fall back to the id, as GitLab's ordering does.
    const key = (n: DoubleNote) => `${orderBy === 'updated_at' ? n.updatedAt : n.createdAt}#${String(n.id).padStart(12, '0')}`;
    return paginate(c, sortBy(notes, key, sort).map((n) => noteJson(ctx, n, mergeRequest)), ctx.baseUrl);
  });

  api.post('/projects/:id/merge_requests/:iid/notes', async (c) => {
    const { project, mergeRequest } = mergeRequestParam(c);
    const body = requiredString(await readParams(c), 'body');
    return c.json(noteJson(ctx, ctx.state.addNote(project, mergeRequest.iid, body), mergeRequest), 201);
  });

  api.put('/projects/:id/merge_requests/:iid/notes/:note_id', async (c) => {
    const { project, mergeRequest } = mergeRequestParam(c);
    const note = ctx.state.notes.get(pathId(c, 'note_id'));
    if (!note || note.projectId !== project.id || note.mergeRequestIid !== mergeRequest.iid) throw recordNotFound();
    note.body = requiredString(await readParams(c), 'body');
    note.updatedAt = new Date().toISOString();
    return c.json(noteJson(ctx, note, mergeRequest));
  });
}
