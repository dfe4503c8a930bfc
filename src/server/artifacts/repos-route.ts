/** `/repos/{namespace}/{iteration|latest}/{arch}/[file]`: the build sets' repositories, read-only. */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import type { BuildStore } from '../store/build-store.js';
import { ApiError } from '../http/http-error.js';
import { isScratchFile, type Repositories } from './repository.js';

const SEGMENT = /^[A-Za-z0-9_+][A-Za-z0-9._+@:-]*$/;

/** The repository routes. */
export function repoRoutes(deps: { store: BuildStore; repositories: Repositories }): Hono {
  const app = new Hono();

  const locate = (namespace: string, iterationText: string, arch: string) => {
    const ns = deps.store.namespaceByName(namespace);
    if (!ns) throw new ApiError(404, 'not_found', `no build set named "${namespace}"`);
    const iteration = iterationText === 'latest' ? deps.store.latestIteration(ns.id) : /^\d{1,9}$/.test(iterationText) ? deps.store.iteration(ns.id, Number(iterationText)) : undefined;
    if (!iteration) throw new ApiError(404, 'not_found', `build set "${namespace}" has no iteration "${iterationText}" (a number, or latest)`);
    if (!SEGMENT.test(arch)) throw new ApiError(400, 'invalid_request', `"${arch}" is not an architecture`);
    if (iteration.expired_at !== null) throw new ApiError(410, 'expired', `iteration ${iteration.number} of build set "${namespace}" expired at ${iteration.expired_at} ([retention]): its repository was removed`);
    return { ns, iteration };
  };

  app.get('/repos/:namespace/:iteration/:arch/', async (c) => {
    const { ns, iteration } = locate(c.req.param('namespace'), c.req.param('iteration'), c.req.param('arch'));
    const files = (await deps.repositories.list(ns.name, iteration.number, c.req.param('arch'))) ?? [];
    return c.json({ namespace: ns.name, iteration: iteration.number, arch: c.req.param('arch'), files });
  });

  app.get('/repos/:namespace/:iteration/:arch/:file', async (c) => {
    const { ns, iteration } = locate(c.req.param('namespace'), c.req.param('iteration'), c.req.param('arch'));
    const dir = deps.repositories.dir(ns.name, iteration.number, c.req.param('arch'));
    return serveRepositoryFile(c.req.method, dir, c.req.param('file'), `/repos/${ns.name}/${iteration.number}/${c.req.param('arch')}/`);
  });
  return app;
}

/**
 * Answers with one file of the repository at `dir` (`where` names it in messages). The repository is a
 * symlink to its current generation: it is resolved once, so that a change switching generations
 * meanwhile cannot mix two. `quarters.db` is a symlink to `quarters.db.tar.gz`; anything resolving
 * outside the repository, and lock, temporary and backup files, are refused.
 */
export async function serveRepositoryFile(method: string, dir: string, file: string, where: string): Promise<Response> {
  if (!SEGMENT.test(file) || file.includes('..')) throw new ApiError(400, 'invalid_request', `"${file}" is not a file of a repository`);
  let path: string;
  try {
    if (isScratchFile(file)) throw new Error('scratch');
    const root = await realpath(dir);
    path = await realpath(`${root}/${file}`);
    if (!path.startsWith(`${root}/`)) throw new Error('outside');
  } catch {
    throw new ApiError(404, 'not_found', `${file} is not in ${where}`);
  }
  const info = await stat(path);
  if (!info.isFile()) throw new ApiError(404, 'not_found', `${file} is not a file`);
  const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(info.size), 'Last-Modified': info.mtime.toUTCString() };
  if (method === 'HEAD') return new Response(null, { status: 200, headers });
  return new Response(Readable.toWeb(createReadStream(path)) as ReadableStream, { status: 200, headers });
}

/** Whether `name` may be a path segment of a repository URL (an architecture, a file). */
export const isRepositorySegment = (name: string): boolean => SEGMENT.test(name);
