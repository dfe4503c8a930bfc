/** The JSON API under /api/v1: build sets, iterations, builds, the graph. Writes need an API token. */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Hono, type MiddlewareHandler } from 'hono';
import { buildLogPath } from '../../core/build-set/log-path.js';
import type { BuildSetControl } from '../build-sets/control.js';
import type { BuildSets } from '../build-sets/planning.js';
import type { BuildStore, NamespaceRow } from '../store/build-store.js';
import { localOnlyError } from '../gitlab/none.js';
import { ApiError, errorBody } from '../http/http-error.js';
import { matchesSecret } from '../http/token-check.js';
import { openApiDocument } from './openapi.js';
import { jobUrl } from '../build-sets/job-reports.js';
import type { JobStore } from '../store/job-store.js';
import { buildersView } from './builders.js';
import { installSnippet, type SigningKeyRef } from '../../core/build-set/progress.js';
import type { Flavour } from '../../core/recipe/model.js';

/** What the install snippets need: where the server is, what it builds, and its signing key (null: unsigned). */
export interface InstallSettings {
  publicUrl: string;
  flavour: Flavour;
  architectures: readonly string[];
  signing: SigningKeyRef | null;
}
import { controlBuildSetSchema, createNamespaceSchema } from './schemas.js';
import { buildView, iterationView, namespaceView } from './views.js';

/** Refuses a request without a valid `Authorization: Bearer` API token (constant-time check). */
export function requireApiToken(tokens: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !matchesSecret(match[1], tokens)) {
      c.header('WWW-Authenticate', 'Bearer realm="quarters"');
      return c.json(errorBody('unauthorized', 'this request needs an API token from [api] tokens: Authorization: Bearer TOKEN'), 401);
    }
    await next();
  };
}

async function jsonBody(c: { req: { text: () => Promise<string> } }, empty?: unknown): Promise<unknown> {
  const text = await c.req.text();
  if (empty !== undefined && text.trim() === '') return empty;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError(400, 'invalid_json', `the body is not JSON: ${(error as Error).message}`);
  }
}

/** The API routes. */
export function apiRoutes(deps: { store: BuildStore; jobs: JobStore; buildSets: BuildSets; control: BuildSetControl; apiTokens: readonly string[]; localOnly?: boolean; dataDir: string; install?: InstallSettings }): Hono {
  const { store, buildSets, control } = deps;
  const api = new Hono();
  const write = requireApiToken(deps.apiTokens);

  const namespace = (name: string): NamespaceRow => {
    const ns = store.namespaceByName(name);
    if (!ns) throw new ApiError(404, 'not_found', `no build set named "${name}"`);
    return ns;
  };
  const id = (text: string, what: string): number => {
    if (!/^[1-9]\d{0,15}$/.test(text)) throw new ApiError(400, 'invalid_request', `${what} must be a positive integer`);
    return Number(text);
  };

  api.get('/openapi.json', (c) => c.json(openApiDocument()));
  api.get('/builders', (c) => {
    const hours = c.req.query('hours');
    if (hours !== undefined && !(/^\d+(\.\d+)?$/.test(hours) && Number(hours) > 0 && Number(hours) <= 24 * 90)) {
      throw new ApiError(400, 'invalid_request', `hours must be a number of hours from 0 to 2160, not "${hours}"`);
    }
    return c.json(buildersView(store, deps.jobs, Date.now(), hours === undefined ? undefined : Number(hours)));
  });

  api.post('/namespaces', write, async (c) => {
    if (deps.localOnly) throw localOnlyError('creating a build set');
    const parsed = createNamespaceSchema.safeParse(await jsonBody(c));
    if (!parsed.success) throw parsed.error;
    const ns = await buildSets.create({ name: parsed.data.name, origins: parsed.data.origin_changesets, packager: parsed.data.packager ?? null, kind: 'api' });
    return c.json(namespaceView(store, ns), 201);
  });
  api.get('/namespaces', (c) => c.json({ namespaces: store.listNamespaces().map((ns) => namespaceView(store, ns, false)) }));
  api.get('/namespaces/:name', (c) => c.json(namespaceView(store, namespace(c.req.param('name')))));
  api.get('/namespaces/:name/iterations', (c) => {
    const ns = namespace(c.req.param('name'));
    return c.json({ iterations: store.iterations(ns.id).map((i) => iterationView(i, store.builds(i.id))) });
  });
  api.get('/namespaces/:name/iterations/:number', (c) => {
    const ns = namespace(c.req.param('name'));
    const iteration = store.iteration(ns.id, id(c.req.param('number'), 'the iteration number'));
    if (!iteration) throw new ApiError(404, 'not_found', `build set "${ns.name}" has no iteration ${c.req.param('number')}`);
    const builds = store.builds(iteration.id);
    return c.json({ ...iterationView(iteration, builds), builds: builds.map((b) => buildView(b, store.artifacts(b.id))) });
  });
  api.get('/namespaces/:name/install', (c) => {
    const ns = namespace(c.req.param('name'));
    if (!deps.install) throw new ApiError(404, 'not_found', 'this server does not describe its repositories');
    const { publicUrl, flavour, architectures, signing } = deps.install;
    const url = `${publicUrl.replace(/\/+$/, '')}/repos/${ns.name}/latest`;
    return c.json({ repository_url: url, architectures, signing_key: signing, snippet: installSnippet(flavour, url, architectures, signing) });
  });
  api.get('/namespaces/:name/graph', (c) => {
    const ns = namespace(c.req.param('name'));
    const latest = store.latestIteration(ns.id);
    const builds = latest ? store.builds(latest.id) : [];
    return c.json({
      iteration: latest?.number ?? null,
      nodes: builds.map((b) => ({ id: b.id, pkgbase: b.pkgbase, arch: b.arch, pass: b.pass, state: b.state })),
      edges: builds.flatMap((b) => b.depends_on.map((dep) => ({ from: b.id, to: dep }))),
      cycles: latest?.cycles ?? [],
    });
  });
  for (const action of ['cancel', 'resume', 'retry'] as const) {
    api.post(`/namespaces/:name/${action}`, write, async (c) => {
      const ns = namespace(c.req.param('name'));
      if (ns.status === 'retired') throw new ApiError(409, 'retired', `build set "${ns.name}" is retired (its merge request was merged or closed)`);
      if (ns.kind === 'local') throw new ApiError(409, 'local_build_set', `build set "${ns.name}" was built by "quarters build": run it again with --name ${ns.name} to ${action}`);
      const parsed = controlBuildSetSchema.safeParse(await jsonBody(c, {}));
      if (!parsed.success) throw parsed.error;
      const pkgbases = parsed.data.pkgbases;
      if (pkgbases) {
        const latest = store.latestIteration(ns.id);
        const known = new Set(latest ? store.builds(latest.id).map((b) => b.pkgbase) : []);
        const unknown = pkgbases.filter((p) => !known.has(p));
        if (unknown.length > 0) throw new ApiError(422, 'unknown_pkgbase', `build set "${ns.name}" builds no ${unknown.map((p) => `"${p}"`).join(', ')} in its latest iteration`);
      }
      const only = pkgbases ? new Set(pkgbases) : undefined;
      if (action === 'cancel') await control.cancel(ns.id, 'cancelled', only);
      else if (action === 'resume') await control.resume(ns.id, only);
      else await control.retry(ns.id, only);
      return c.json(namespaceView(store, store.namespaceById(ns.id)!));
    });
  }
  api.get('/builds/:id', (c) => {
    const build = store.build(id(c.req.param('id'), 'the build id'));
    if (!build) throw new ApiError(404, 'not_found', `no build ${c.req.param('id')}`);
    const ns = store.namespaceOfBuild(build);
    const iteration = store.iterationById(build.iteration_id)!;
    return c.json({ ...buildView(build, store.artifacts(build.id)), namespace: ns.name, iteration: iteration.number });
  });
  api.get('/builds/:id/log', (c) => {
    const found = store.build(id(c.req.param('id'), 'the build id'));
    if (!found) throw new ApiError(404, 'not_found', `no build ${c.req.param('id')}`);
    // A build carried over from an earlier iteration has the log of the run that built it.
    const build = (found.reused_from !== null ? store.build(found.reused_from) : undefined) ?? found;
    const ns = store.namespaceOfBuild(build);
    if (ns.kind === 'local') {
      const file = join(deps.dataDir, buildLogPath(ns.name, store.iterationById(build.iteration_id)!.number, build.arch, build.pkgbase));
      if (!existsSync(file)) throw new ApiError(404, 'no_log', `build ${found.id} (${build.pkgbase}/${build.arch}) has no log: it never started`);
      return new Response(Readable.toWeb(createReadStream(file)) as ReadableStream, { headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    }
    // GitLab keeps the logs of GitLab builds: the answer is where, the job if it uploaded, else its pipeline.
    if (build.pipeline_url === null) throw new ApiError(404, 'no_log', `build ${found.id} (${build.pkgbase}/${build.arch}) has no pipeline yet, so no log (state ${found.state})`);
    const job = store.lastUploadJob(build.id);
    const url = jobUrl(build.pipeline_url, job) ?? build.pipeline_url;
    return c.json({ url, job_id: job, pipeline_url: build.pipeline_url }, 303, { Location: url });
  });
  return api;
}
