/**
 * Releases over HTTP: `POST /api/v1/namespaces/{name}/release` (an API token), `GET /api/v1/releases[/{id}]`,
 * `GET /api/v1/repositories`, and the distribution repositories themselves, read-only, at `/dist/{repo}/{arch}/[file]`.
 */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ReleaseRefused } from '../../core/release/release-plan.js';
import { installSnippet, type SigningKeyRef } from '../../core/build-set/progress.js';
import type { Flavour } from '../../core/recipe/model.js';
import { releaseSchema } from '../api/schemas.js';
import { requireApiToken } from '../api/routes.js';
import { isRepositorySegment, serveRepositoryFile } from '../artifacts/repos-route.js';
import { ApiError } from '../http/http-error.js';
import { tokenIdentity } from '../http/token-check.js';
import type { BuildStore } from '../store/build-store.js';
import type { ReleaseStore } from '../store/release-store.js';
import type { DistributionRepositories, DistributionRepository } from './distribution.js';
import type { Releases } from './releases.js';

const REFUSED_STATUS: Record<ReleaseRefused['code'], ContentfulStatusCode> = { not_releasable: 409, version_downgrade: 409, nothing_to_release: 409, unknown_pkgbase: 422 };

/** The release routes. */
export function releaseRoutes(deps: { store: BuildStore; releases: Releases; releaseStore: ReleaseStore; distribution: DistributionRepositories; apiTokens: readonly string[]; publicUrl: string; flavour: Flavour; signing: SigningKeyRef | null }): Hono {
  const app = new Hono();
  const base = deps.publicUrl.replace(/\/+$/, '');
  const repository = (name: string, status: ContentfulStatusCode = 404): DistributionRepository => {
    const found = deps.distribution.get(name);
    if (!found) {
      const known = deps.distribution.all().map((r) => r.name);
      throw new ApiError(status, 'unknown_repository', `no distribution repository "${name}" (${known.length ? `configured: ${known.join(', ')}` : 'none is configured: add [repositories.NAME] to the server config'})`);
    }
    return found;
  };
  const repositoryView = (r: DistributionRepository) => {
    const url = `${base}/dist/${r.name}`;
    return { name: r.name, flavour: r.flavour, architectures: r.architectures, url, install: installSnippet(deps.flavour, url, r.architectures, deps.signing, r.name) };
  };

  app.post('/api/v1/namespaces/:name/release', requireApiToken(deps.apiTokens), async (c) => {
    const ns = deps.store.namespaceByName(c.req.param('name'));
    if (!ns) throw new ApiError(404, 'not_found', `no build set named "${c.req.param('name')}"`);
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch (error) {
      throw new ApiError(400, 'invalid_json', `the body is not JSON: ${(error as Error).message}`);
    }
    const parsed = releaseSchema.safeParse(body);
    if (!parsed.success) throw parsed.error;
    // The middleware checked the token; who it is goes into the record.
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('Authorization') ?? '')![1]!;
    try {
      const outcome = await deps.releases.release({
        namespace: ns, repository: repository(parsed.data.to, 422), partial: parsed.data.partial ?? [], dryRun: parsed.data.dry_run ?? false, force: parsed.data.force ?? false, actor: tokenIdentity(token),
      });
      return c.json(outcome, outcome.release ? 201 : 200);
    } catch (error) {
      if (error instanceof ReleaseRefused) throw new ApiError(REFUSED_STATUS[error.code], error.code, error.message);
      throw error;
    }
  });

  app.get('/api/v1/releases', (c) => {
    const filter = { repository: c.req.query('repository'), namespace: c.req.query('namespace') };
    return c.json({ releases: deps.releaseStore.list(filter) });
  });
  app.get('/api/v1/releases/:id', (c) => {
    const text = c.req.param('id');
    const release = /^[1-9]\d{0,15}$/.test(text) ? deps.releaseStore.get(Number(text)) : undefined;
    if (!release) throw new ApiError(404, 'not_found', `no release ${text}`);
    return c.json({ ...release, packages: deps.releaseStore.packages(release.id) });
  });
  app.get('/api/v1/repositories', (c) => c.json({ repositories: deps.distribution.all().map(repositoryView) }));

  const archOf = (r: DistributionRepository, arch: string) => {
    if (!isRepositorySegment(arch) || !r.architectures.includes(arch)) throw new ApiError(404, 'not_found', `${r.name} has no architecture "${arch}" (${r.architectures.join(', ')})`);
    return arch;
  };
  app.get('/dist/:repo/:arch/', async (c) => {
    const r = repository(c.req.param('repo'));
    const arch = archOf(r, c.req.param('arch'));
    return c.json({ repository: r.name, arch, files: (await deps.distribution.list(r, arch)) ?? [] });
  });
  app.get('/dist/:repo/:arch/:file', async (c) => {
    const r = repository(c.req.param('repo'));
    const arch = archOf(r, c.req.param('arch'));
    return serveRepositoryFile(c.req.method, deps.distribution.archDir(r, arch), c.req.param('file'), `/dist/${r.name}/${arch}/`);
  });
  return app;
}
