/**
 * Which index a build set's repository has, and what it names: the files as fetched (bytes) in, the
 * packages with their sizes and checksums out (the formats are read by src/core/repository-index.ts).
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { aptPackages, aptReleaseEntry, pacmanDbPackages, RepositoryIndexError, type IndexedPackage } from '../../core/repository-index.js';
import { TarError, tarFiles } from './tar.js';

/** The pacman repository the server keeps (repo-add's `quarters.db`, a gzip'd tar). */
export const PACMAN_DB = 'quarters.db';

/** The kinds of index, and the files each consists of (fetched in this order). */
export const INDEX_FILES = { pacman: [PACMAN_DB], apt: ['Packages', 'Release'] } as const;
export type IndexKind = keyof typeof INDEX_FILES;

/** The index a repository with these files has; null when it has none yet (nothing built). */
export function indexKindOf(files: readonly string[]): IndexKind | null {
  if (files.includes(PACMAN_DB)) return 'pacman';
  if (files.includes('Packages')) return 'apt';
  return null;
}

/** The packages of a pacman database file (gzip'd or plain tar). */
export function pacmanDbIndex(db: Uint8Array, name = PACMAN_DB): IndexedPackage[] {
  let archive: Uint8Array;
  try {
    archive = db[0] === 0x1f && db[1] === 0x8b ? gunzipSync(db) : db;
  } catch (error) {
    throw new RepositoryIndexError(`${name}: cannot decompress it: ${(error as Error).message}`);
  }
  let files;
  try {
    files = tarFiles(archive);
  } catch (error) {
    if (error instanceof TarError) throw new RepositoryIndexError(`${name}: ${error.message}`);
    throw error;
  }
  const decoder = new TextDecoder();
  return pacmanDbPackages(files.map((f) => ({ path: f.path, text: decoder.decode(f.data) })), name);
}

/** The packages of an apt flat repository; `Packages` must be what `Release` says it is. */
export function aptIndex(packages: Uint8Array, release: Uint8Array): IndexedPackage[] {
  const listed = aptReleaseEntry(Buffer.from(release).toString('utf8'), 'Packages');
  if (!listed) throw new RepositoryIndexError('Release does not list Packages in its SHA256 section');
  const sha256 = createHash('sha256').update(packages).digest('hex');
  if (sha256 !== listed.sha256 || packages.length !== listed.size) {
    throw new RepositoryIndexError(`Packages does not match Release: its sha256 is ${sha256} (${packages.length} bytes), Release says ${listed.sha256} (${listed.size} bytes)`);
  }
  return aptPackages(Buffer.from(packages).toString('utf8'));
}

/** The packages an index names, from its files (INDEX_FILES[kind], in that order). */
export function indexedPackages(kind: IndexKind, files: readonly Uint8Array[]): IndexedPackage[] {
  return kind === 'pacman' ? pacmanDbIndex(files[0]!) : aptIndex(files[0]!, files[1]!);
}
