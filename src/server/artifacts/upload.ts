/**
 * `PUT /api/v1/builds/:id/artifacts/:filename`: the executor uploads one built package. The executor
 * token and the job token (asked of GitLab) authenticate it; the job's pipeline must be the one
 * dispatched for the build. The body is streamed to a temporary file with its sha256 and a size
 * limit, checked against X-Checksum-Sha256, fsynced, renamed into the pool atomically, added to the
 * build set's repository, and only then recorded and acknowledged.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import type { Flavour } from '../../core/recipe/model.js';
import { RESOURCE_USAGE_HEADER, resourceUsageSchema, type ResourceUsageReport } from '../../core/resource-usage.js';
import type { Logger } from '../../common/log.js';
import { checkArtifactName } from '../../core/build-set/artifact-name.js';
import type { BuildSetEngine } from '../build-sets/engine.js';
import type { BuildRow, BuildStore } from '../store/build-store.js';
import type { RecipeTable } from '../sources/source-index.js';
import { buildProducts, type BuildProduct } from '../../core/build-set/build-products.js';
import { checkPackageFile, PackageRefused } from './package-check.js';
import type { GitLabClient } from '../gitlab/client.js';
import type { JobStore } from '../store/job-store.js';
import { recordReportedJob } from '../build-sets/job-reports.js';
import { liveBuildOf, requireBuildJob, requireExecutorToken } from './executor-auth.js';
import { ApiError, describeZodError } from '../http/http-error.js';
import type { Metrics } from '../http/metrics.js';
import { Repositories, syncDir } from './repository.js';
import { receiveFile } from './receive.js';
import { PackageListing } from './package-listing.js';

/** The resource usage header (src/core/resource-usage.ts), parsed; null when absent. */
function resourceUsage(header: string | undefined): ResourceUsageReport | null {
  if (header === undefined) return null;
  let json: unknown;
  try {
    json = JSON.parse(header);
  } catch {
    throw new ApiError(400, 'invalid_resource_usage', `${RESOURCE_USAGE_HEADER} is not JSON`);
  }
  const parsed = resourceUsageSchema.safeParse(json);
  if (!parsed.success) throw new ApiError(400, 'invalid_resource_usage', `${RESOURCE_USAGE_HEADER}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** The largest package file accepted. */
export const MAX_ARTIFACT_BYTES = 4 * 1024 ** 3;

export interface UploadDeps {
  store: BuildStore;
  engine: BuildSetEngine;
  repositories: Repositories;
  gitlab: GitLabClient;
  executorTokens: readonly string[];
  flavour: Flavour;
  metrics: Metrics;
  log: Logger;
  /** Where the uploading job (and its runner) is recorded for the builders view. */
  jobs?: JobStore;
  /** The source index, for builds planned before their products were recorded. */
  recipes?: RecipeTable;
  maxBytes?: number;
}

/** The packages a build may publish: as recorded when it was planned, else (a build planned before they were) its recipe in the index when still at the build's commit. */
function productsOf(build: BuildRow, recipes: RecipeTable | undefined): BuildProduct[] {
  if (build.products) return build.products;
  const indexed = recipes?.get(build.pkgbase, build.ref);
  if (indexed && indexed.sha === build.sha) return buildProducts(indexed.recipe, build.arch);
  throw new ApiError(409, 'products_unknown', `build ${build.id} was planned before quarters recorded what a build may publish, and its recipe has moved on: retry the build`);
}

/** The upload route. */
export function uploadRoutes(deps: UploadDeps): Hono {
  const app = new Hono();
  const maxBytes = deps.maxBytes ?? MAX_ARTIFACT_BYTES;
  const countRefusal = (error: unknown) => {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) deps.metrics.uploads.inc({ result: error.status === 401 ? 'unauthorized' : 'forbidden' });
  };
  const counted = (check: () => void) => {
    try {
      check();
    } catch (error) {
      countRefusal(error);
      throw error;
    }
  };

  app.put('/api/v1/builds/:id/artifacts/:filename', async (c) => {
    counted(() => requireExecutorToken(c, deps.executorTokens));
    const build = liveBuildOf(deps.store, c.req.param('id'));
    const filename = c.req.param('filename');
    const name = checkArtifactName(filename, deps.flavour, build.arch);
    if (!name.ok) throw new ApiError(400, 'invalid_filename', name.reason);
    const expected = (c.req.header('X-Checksum-Sha256') ?? '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(expected)) throw new ApiError(400, 'missing_checksum', 'X-Checksum-Sha256 must be the file\'s sha256, as 64 hex digits');
    const usage = resourceUsage(c.req.header(RESOURCE_USAGE_HEADER));
    const declared = c.req.header('Content-Length');
    if (declared !== undefined && Number(declared) > maxBytes) throw new ApiError(413, 'payload_too_large', `package files are limited to ${maxBytes} bytes`);

    const job = await requireBuildJob(c, deps.gitlab, build).catch((error: unknown) => {
      countRefusal(error);
      throw error;
    });
    // The executor uploads every file before its job ends, so a build still building takes a retried upload; a built one is finished.
    if (!['dispatched', 'building'].includes(build.state)) throw new ApiError(409, 'build_not_running', `build ${build.id} is ${build.state}: it takes no uploads`);
    // A key that cannot sign refuses the upload before its body is read (SigningError: 503); nothing is published unsigned.
    await deps.repositories.signer?.ensureUsable();
    if (deps.jobs) recordReportedJob(deps.jobs, build, job);
    const products = productsOf(build, deps.recipes);
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, 'empty_body', 'the body is the package file');

    const owner = build.reused_from ?? build.id;
    const tempDir = deps.repositories.tempDir();
    await mkdir(tempDir, { recursive: true });
    const temp = join(tempDir, `${owner}-${randomBytes(8).toString('hex')}.part`);
    let incoming: string | null = null;
    // The pacman index's file list, taken while the body streams in instead of from the file afterwards.
    const listing = deps.flavour === 'pkgbuild' ? new PackageListing() : null;
    try {
      const started = performance.now();
      const received = await receiveFile(body, temp, maxBytes, listing ?? undefined).catch((error: unknown) => {
        // The body was not read to its end (too large, a full disk): the answer closes the connection, which
        // would otherwise carry the unread rest of the body where the client's next request should start.
        c.header('Connection', 'close');
        throw error;
      });
      const listed = await listing?.finish();
      const receivedAt = performance.now();
      if (received.sha256 !== expected) throw new ApiError(422, 'checksum_mismatch', `the body's sha256 is ${received.sha256}, X-Checksum-Sha256 said ${expected}`);
      await checkPackageFile(deps.flavour, temp, filename, name.value, build, products).catch((error: unknown) => {
        throw error instanceof PackageRefused ? new ApiError(422, error.code, error.message) : error;
      });
      // The file waits beside its place in the pool until the repository took it: a failed index update
      // leaves the pool's file (the one the repository and the artifact record name) as it was.
      const pool = deps.repositories.poolPath(owner, filename);
      await mkdir(dirname(pool), { recursive: true });
      incoming = join(dirname(pool), `.${filename}.incoming-${randomBytes(6).toString('hex')}`);
      await rename(temp, incoming);
      const at = await deps.engine.storeArtifacts(build, [{ poolPath: incoming, filename, sha256: received.sha256, size: received.size, jobId: job.jobId, listing: listed ?? null }], usage, async () => {
        await rename(incoming!, pool);
        incoming = null;
        await syncDir(dirname(pool));
      });
      deps.metrics.uploads.inc({ result: 'stored' });
      // Where an upload's time goes: receiving the body (to disk, hashed, fsynced), then checking and indexing it.
      const ms = { receive: Math.round(receivedAt - started), check_and_index: Math.round(performance.now() - receivedAt) };
      deps.log.info({ build: build.id, filename, size: received.size, job: job.jobId, ms }, 'artifact stored');
      return c.json({ build_id: build.id, filename, sha256: received.sha256, size: received.size, repository: `/repos/${at.namespace}/${at.iteration}/${build.arch}/` }, 201);
    } catch (error) {
      listing?.abort();
      await deps.repositories.discard(temp);
      if (incoming) await deps.repositories.discard(incoming);
      if (error instanceof ApiError) deps.metrics.uploads.inc({ result: error.error });
      if (error instanceof ApiError && error.error === 'upload_interrupted') deps.log.info({ build: build.id, filename, detail: error.detail }, 'upload interrupted by the client');
      throw error;
    }
  });
  return app;
}
