/** Bumps over HTTP: `POST /api/v1/namespaces/{name}/bump` (an API token; starts or resumes, 202) and `GET` of the same (its progress). */
import { Hono } from 'hono';
import { bumpSchema } from '../api/schemas.js';
import { requireApiToken } from '../api/routes.js';
import { ApiError } from '../http/http-error.js';
import { tokenIdentity } from '../http/token-check.js';
import type { BuildStore, NamespaceRow } from '../store/build-store.js';
import { BumpRefused, type Bumper } from './bumper.js';

/** The bump routes. */
export function bumpRoutes(deps: { store: BuildStore; bumper: Bumper; apiTokens: readonly string[] }): Hono {
  const app = new Hono();
  const namespace = (name: string): NamespaceRow => {
    const ns = deps.store.namespaceByName(name);
    if (!ns) throw new ApiError(404, 'not_found', `no build set named "${name}"`);
    return ns;
  };

  app.post('/api/v1/namespaces/:name/bump', requireApiToken(deps.apiTokens), async (c) => {
    const ns = namespace(c.req.param('name'));
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch (error) {
      throw new ApiError(400, 'invalid_json', `the body is not JSON: ${(error as Error).message}`);
    }
    const parsed = bumpSchema.safeParse(body);
    if (!parsed.success) throw parsed.error;
    // The middleware checked the token; who it is goes into the record.
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('Authorization') ?? '')![1]!;
    try {
      const view = deps.bumper.request(ns, { reason: parsed.data.reason, maintainer: parsed.data.maintainer ?? null, actor: tokenIdentity(token) });
      return c.json(view, 202);
    } catch (error) {
      if (error instanceof BumpRefused) throw new ApiError(error.code === 'no_iteration' ? 404 : error.code === 'invalid_branch' ? 422 : 409, error.code, error.message);
      throw error;
    }
  });

  app.get('/api/v1/namespaces/:name/bump', (c) => {
    const ns = namespace(c.req.param('name'));
    const view = deps.bumper.view(ns);
    if (!view) throw new ApiError(404, 'not_found', `build set "${ns.name}" has no bump; request one with POST (quarters ns bump ${ns.name} --reason TEXT)`);
    return c.json(view);
  });
  return app;
}
