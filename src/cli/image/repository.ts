/**
 * The build set's repository an image installs from (`--from`): a repository directory, a local build
 * set of the server's data_dir (`quarters build`), or a build set on the quarters server. Whichever it
 * is, it is fetched into the image's work directory the way the executor fetches a job's (every
 * package checked against the index), and read from there: the image sees one consistent snapshot.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BuildSetError, checkBuildSetName } from '../../core/build-set/origin.js';
import { aptRepositoryPackages, pacmanRepositoryPackages, type RepositoryPackage } from '../../core/image/cache-key.js';
import { RepositoryIndexError } from '../../core/repository-index.js';
import { directorySource, fetchBuildSetRepository, httpSource, PackageCache, type RepositorySource } from '../../executor/build-set-repository/index.js';
import { indexKindOf, type IndexKind } from '../../executor/build-set-repository/index-files.js';
import { tarFiles } from '../../executor/build-set-repository/tar.js';
import { SystemFailure } from '../../executor/failure.js';
import { CommandError, UsageError } from '../command.js';

/** A repository fetched for an image. */
export interface ImageRepository {
  /** Where it was fetched from, for messages. */
  location: string;
  /** Its copy in the work directory. */
  dir: string;
  kind: IndexKind;
  /** Its packages with their relations. */
  packages: RepositoryPackage[];
  /** Every file the index names, with its sha256. */
  files: Map<string, string>;
}

export interface FromOptions {
  /** A server's data_dir holding local build sets, when given. */
  dataDir: string | null;
  /** The quarters server's URL, when no data_dir is given. */
  server: () => Promise<string>;
  arch: string;
}

/** `NAMESPACE[/ITERATION]` read; a UsageError when it is neither. */
export function parseFrom(text: string): { namespace: string; iteration: number | 'latest' } {
  const [namespace, iteration, ...rest] = text.split('/');
  try {
    checkBuildSetName(namespace ?? '');
  } catch (error) {
    if (error instanceof BuildSetError) throw new UsageError(`--from ${text}: ${error.message} (give NAMESPACE[/ITERATION], or a repository directory)`);
    throw error;
  }
  if (rest.length || (iteration !== undefined && iteration !== 'latest' && !/^[1-9]\d{0,8}$/.test(iteration))) throw new UsageError(`--from ${text}: expected NAMESPACE[/ITERATION] with ITERATION a number or "latest", or a repository directory`);
  return { namespace: namespace!, iteration: iteration === undefined || iteration === 'latest' ? 'latest' : Number(iteration) };
}

/** The highest iteration of a local build set that has a repository for `arch`. */
async function latestLocal(dataDir: string, namespace: string, arch: string): Promise<number | null> {
  const names = await readdir(join(dataDir, 'repos', namespace)).catch(() => [] as string[]);
  const numbers = names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => b - a);
  return numbers.find((n) => existsSync(join(dataDir, 'repos', namespace, String(n), arch))) ?? null;
}

/** Where `--from` points. */
export async function repositorySource(from: string, options: FromOptions): Promise<RepositorySource> {
  // A directory: a path that exists (tests, and repositories copied by hand).
  if (from.includes('/') && existsSync(from) && statSync(from).isDirectory()) {
    if (!indexKindOf(await readdir(from))) throw new CommandError(`--from ${from}: the directory has no repository index (quarters.db, or Packages and Release)`);
    return directorySource(from);
  }
  const { namespace, iteration } = parseFrom(from);
  if (options.dataDir) {
    const number = iteration === 'latest' ? await latestLocal(options.dataDir, namespace, options.arch) : iteration;
    const dir = number === null ? null : join(options.dataDir, 'repos', namespace, String(number), options.arch);
    if (!dir || !existsSync(dir)) throw new CommandError(`--from ${from}: ${options.dataDir} has no repository of build set "${namespace}"${iteration === 'latest' ? '' : ` iteration ${iteration}`} for ${options.arch}`);
    return directorySource(dir);
  }
  const server = await options.server();
  return httpSource(`${server}/repos/${encodeURIComponent(namespace)}/${iteration}/${encodeURIComponent(options.arch)}/`);
}

/** Fetches the repository into `into` and reads its index; packages from a server are kept in `packageCache` by checksum, for the next image. */
export async function fetchImageRepository(source: RepositorySource, into: string, packageCache: string, log: (line: string) => void): Promise<ImageRepository> {
  let fetched;
  try {
    fetched = await fetchBuildSetRepository(source, into, { cache: new PackageCache(packageCache), log });
  } catch (error) {
    if (error instanceof SystemFailure) throw new CommandError(error.message);
    throw error;
  }
  if (!fetched) throw new CommandError(`the build set's repository ${source.location} has no index yet: nothing of it is built`);
  const names = await readdir(into);
  const kind = indexKindOf(names)!;
  if (kind === 'pacman') {
    const db = await readFile(join(into, 'quarters.db'));
    const archive = db[0] === 0x1f && db[1] === 0x8b ? gunzipSync(db) : db;
    const decoder = new TextDecoder();
    const packages = pacmanRepositoryPackages(tarFiles(archive).map((f) => ({ path: f.path, text: decoder.decode(f.data) })));
    return { location: source.location, dir: into, kind, packages, files: new Map(packages.map((p) => [p.filename, p.sha256])) };
  }
  let packages: RepositoryPackage[];
  try {
    packages = aptRepositoryPackages(await readFile(join(into, 'Packages'), 'utf8'), `${source.location} Packages`);
  } catch (error) {
    if (error instanceof RepositoryIndexError) throw new CommandError(`the build set's repository: ${error.message}`);
    throw error;
  }
  return { location: source.location, dir: into, kind, packages, files: new Map(packages.map((p) => [p.filename, p.sha256])) };
}
