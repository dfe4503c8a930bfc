/**
 * Images beside the repositories: `/images/{namespace}/{iteration}/{arch}/{name}/{file|build.log}`
 * (read-only, public like /repos), and in the API `GET /api/v1/namespaces/{name}/images` (an
 * iteration's images, the latest by default) and `POST` of the same path (build a configured image
 * now; needs an API token).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { ApiError } from '../http/http-error.js';
import type { BuildStore, IterationRow, NamespaceRow } from '../store/build-store.js';
import type { ImageRow, ImageStore } from '../store/image-store.js';
import { ImageRequestError, type ImageBuilder } from './builder.js';

const requestSchema = z.strictObject({ image: z.string().min(1), arch: z.string().regex(/^[a-z0-9_]+$/).optional() });

/** An image as the API shows it. */
export function imageView(row: ImageRow, ns: NamespaceRow, iteration: IterationRow) {
  const base = `/images/${encodeURIComponent(ns.name)}/${iteration.number}/${encodeURIComponent(row.arch)}/${encodeURIComponent(row.name)}`;
  return {
    name: row.name, arch: row.arch, iteration: iteration.number, state: row.state, reason: row.reason,
    file: row.filename, size: row.size, sha256: row.sha256,
    url: row.filename ? `${base}/${encodeURIComponent(row.filename)}` : null,
    log_url: row.state === 'building' ? null : `${base}/build.log`,
    created_at: row.created_at, finished_at: row.finished_at,
  };
}

export function imageRoutes(deps: { store: BuildStore; images: ImageStore; builder: ImageBuilder; write: MiddlewareHandler }): { api: Hono; files: Hono } {
  const { store, images, builder } = deps;
  const namespace = (name: string): NamespaceRow => {
    const ns = store.namespaceByName(name);
    if (!ns) throw new ApiError(404, 'not_found', `no build set named "${name}"`);
    return ns;
  };
  const iterationOf = (ns: NamespaceRow, text: string | undefined): IterationRow => {
    const iteration = text === undefined || text === 'latest' ? store.latestIteration(ns.id) : /^\d{1,9}$/.test(text) ? store.iteration(ns.id, Number(text)) : undefined;
    if (!iteration) throw new ApiError(404, 'not_found', `build set "${ns.name}" has no iteration "${text ?? 'latest'}" (a number, or latest)`);
    return iteration;
  };

  const api = new Hono();
  api.get('/namespaces/:name/images', (c) => {
    const ns = namespace(c.req.param('name'));
    const iteration = iterationOf(ns, c.req.query('iteration'));
    return c.json({ namespace: ns.name, iteration: iteration.number, images: images.ofIteration(iteration.id).map((row) => imageView(row, ns, iteration)) });
  });
  api.post('/namespaces/:name/images', deps.write, async (c) => {
    const ns = namespace(c.req.param('name'));
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text()) as unknown;
    } catch (error) {
      throw new ApiError(400, 'invalid_json', `the body is not JSON: ${(error as Error).message}`);
    }
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) throw parsed.error;
    let rows: ImageRow[];
    try {
      rows = builder.request(ns, parsed.data.image, parsed.data.arch);
    } catch (error) {
      if (error instanceof ImageRequestError) throw new ApiError(error.code === 'unknown_image' ? 404 : 409, error.code, error.message);
      throw error;
    }
    const iteration = store.iterationById(rows[0]!.iteration_id)!;
    return c.json({ namespace: ns.name, iteration: iteration.number, images: rows.map((row) => imageView(row, ns, iteration)) }, 202);
  });

  const files = new Hono();
  files.get('/images/:namespace/:iteration/:arch/:name/:file', async (c) => {
    const ns = namespace(c.req.param('namespace'));
    const iteration = iterationOf(ns, c.req.param('iteration'));
    const row = images.find(iteration.id, c.req.param('arch'), c.req.param('name'));
    const file = c.req.param('file');
    // Only the two files the store names: nothing else of the directory, whatever it holds.
    const served = row && ((file === row.filename && row.state === 'built') || (file === 'build.log' && row.state !== 'building'));
    if (!row || !served) throw new ApiError(404, 'not_found', `${file} is not an image or log of /images/${ns.name}/${iteration.number}/${c.req.param('arch')}/${c.req.param('name')}/`);
    const path = join(builder.dir(ns.name, iteration.number, row.arch, row.name), file);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw new ApiError(404, 'not_found', `${file} is gone from the server's disk`);
    const headers = { 'Content-Type': file === 'build.log' ? 'text/plain; charset=utf-8' : 'application/octet-stream', 'Content-Length': String(info.size), 'Last-Modified': info.mtime.toUTCString() };
    if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers });
    return new Response(Readable.toWeb(createReadStream(path)) as ReadableStream, { status: 200, headers });
  });
  return { api, files };
}
