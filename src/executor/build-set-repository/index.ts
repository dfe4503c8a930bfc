/**
 * The build set's repository, as of the job's iteration, offered to the guest read-only at
 * /quarters/repo. `prepare` fetches it on the host (guests have no route to the server): the index,
 * then every package the index names, each checked against the index's size and sha256, from the
 * quarters server (packages cached by checksum on the runner host) or from the server's directory on a
 * shared filesystem (repositories_dir). The job gets its own directory of it, in its workspace: index
 * files copied, packages hard-linked, so a repository that changes while the job runs does not change
 * under it.
 */
import { copyFile, link, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RepositoryIndexError, type IndexedPackage } from '../../core/repository-index.js';
import { SystemFailure } from '../failure.js';
import { makeDir } from '../fs-layers.js';
import type { JobSession } from '../session.js';
import { formatBytes } from '../usage.js';
import { indexedPackages, indexKindOf, INDEX_FILES } from './index-files.js';
import { PackageCache, verify } from './package-cache.js';
import { directorySource, httpSource, type RepositorySource } from './source.js';

export { PackageCache } from './package-cache.js';
export { directorySource, httpSource, type RepositorySource } from './source.js';

/** What a fetch put in the job's directory. */
export interface FetchedRepository {
  dir: string;
  packages: number;
  /** Packages that were in the runner host's cache already. */
  fromCache: number;
  bytesDownloaded: number;
}

export interface FetchOptions {
  /** The checksum cache for remote sources; null: no cache (every package is fetched into `into`). */
  cache: PackageCache | null;
  log: (line: string) => void;
  /** Packages fetched at once. */
  concurrency?: number;
}

/**
 * Fetches the repository at `source` into the directory `into` (created), verifying every package
 * against the index; null when the repository has no index yet (nothing built in the build set), in
 * which case `into` is not created. Throws SystemFailure naming the URL or path and the reason.
 */
export async function fetchBuildSetRepository(source: RepositorySource, into: string, options: FetchOptions): Promise<FetchedRepository | null> {
  const kind = indexKindOf(await source.list());
  if (!kind) {
    options.log(`quarters: the build set's repository ${source.location} has no index yet (nothing built); none is offered`);
    return null;
  }
  const names = INDEX_FILES[kind];
  const files: Uint8Array[] = [];
  for (const name of names) files.push(await source.read(name));
  let packages: IndexedPackage[];
  try {
    packages = indexedPackages(kind, files);
  } catch (error) {
    if (error instanceof RepositoryIndexError) throw new SystemFailure(`the index of the build set's repository ${source.location} does not verify: ${error.message}`);
    throw error;
  }
  const clash = packages.find((p) => (names as readonly string[]).includes(p.filename));
  if (clash) throw new SystemFailure(`the index of the build set's repository ${source.location} does not verify: it names its own file ${clash.filename} as a package`);
  await makeDir(into, 0o755);
  for (const [i, name] of names.entries()) await writeFile(join(into, name), files[i]!, { mode: 0o644 });

  let fromCache = 0;
  let bytesDownloaded = 0;
  const cache = source.remote ? options.cache : null;
  const place = async (pkg: IndexedPackage): Promise<void> => {
    const dest = join(into, pkg.filename);
    if (!cache) {
      verify(await source.copyTo(pkg.filename, dest, pkg.size), pkg, source.locate(pkg.filename));
      if (source.remote) bytesDownloaded += pkg.size;
      return;
    }
    let cached = await cache.obtain(pkg, source);
    try {
      await linkOrCopy(cached.path, dest);
    } catch (error) {
      // Pruned (cleanup packages) between the look and the link: fetch it again.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      cached = await cache.obtain(pkg, source);
      await linkOrCopy(cached.path, dest);
    }
    if (cached.downloaded === 0) fromCache++;
    bytesDownloaded += cached.downloaded;
  };
  await inParallel(packages, options.concurrency ?? 4, place);
  const how = source.remote ? `${fromCache} from the cache, ${formatBytes(bytesDownloaded)} downloaded` : 'read from the shared filesystem';
  options.log(`quarters: the build set's repository ${source.location}: ${packages.length} package${packages.length === 1 ? '' : 's'}, ${how}, every one verified`);
  return { dir: into, packages: packages.length, fromCache, bytesDownloaded };
}

/** A hard link where the filesystem allows one, else a copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
  }
}

/** Runs `fn` on every item, at most `limit` at a time; the first failure is thrown once all started ones ended. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw failure;
}

/** Where the job's build set repository comes from: repositories_dir when set, else the server; null when the job names no build set iteration. */
export function jobRepositorySource(session: JobSession, serverUrl: string | null): RepositorySource | null {
  const { QUARTERS_NAMESPACE: namespace, QUARTERS_ITERATION: iteration } = session.job.variables;
  if (!namespace || !iteration) return null;
  // The executor's own architecture: a job's QUARTERS_ARCH is a claim, and this host builds for one.
  const arch = session.config.arch;
  if (session.config.repositories_dir) return directorySource(join(session.config.repositories_dir, namespace, iteration, arch));
  if (!serverUrl) return null;
  return httpSource(`${serverUrl}/repos/${encodeURIComponent(namespace)}/${iteration}/${encodeURIComponent(arch)}/`);
}

/** Fetches the job's build set repository into `workspace/repository`; its directory, or null when there is none to offer. */
export async function fetchJobRepository(session: JobSession, serverUrl: string | null, workspace: string): Promise<string | null> {
  const source = jobRepositorySource(session, serverUrl);
  if (!source) return null;
  const fetched = await fetchBuildSetRepository(source, join(workspace, 'repository'), { cache: new PackageCache(session.layout.packages), log: session.log });
  return fetched?.dir ?? null;
}
