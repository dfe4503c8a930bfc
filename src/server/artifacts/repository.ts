/**
 * Package repositories, one per build set, iteration and architecture, under
 * `<data_dir>/repos/<namespace>/<iteration>/<arch>/`: a pacman repository named `quarters`
 * (repo-add's format, written by pacman-index.ts) for pkgbuild, an apt flat repository (`apt-ftparchive`) otherwise, which for flavour
 * debian also has a `Sources` index of the source packages full builds published (empty until one
 * does, so that a `deb-src` entry always finds it). Uploaded files live
 * once in `<data_dir>/pool/<build>/` and are hard-linked into every repository that carries them.
 * Changes to one repository are serialised, and the index and the files it names change together or
 * not at all: each change is made in a new generation directory (`.<arch>.gen-N`, the packages
 * hard-linked, the index copied), and only when the index tool succeeded does the `<arch>` symlink
 * switch to it (a rename). A failed change leaves the served repository as it was. With a signing key
 * ([signing]) the same change signs what it indexed (each added package's `.sig`, the pacman databases'
 * `.sig`, apt's `InRelease` and `Release.gpg`) before the switch: a repository is never served with an
 * index whose signature is stale or missing, and a key that cannot sign leaves it as it was.
 */
import { fsyncPath } from '../../common/fsync.js';
import { copyFile, link, lstat, mkdir, open, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { existsSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Flavour } from '../../core/recipe/model.js';
import { isBuildRecord } from '../../core/build-set/artifact-name.js';
import { KeyedLock } from '../keyed-lock.js';
import type { Signer } from '../signing/signer.js';
import { addToPacmanIndex } from './pacman-index.js';
import { RepositoryError, runIndexTool as run } from './repository-error.js';

/** The pacman repository's name: `quarters.db`, `quarters.files`. */
export const PACMAN_REPO_NAME = 'quarters';

/** Files of a repository directory that are never part of it: locks, temporary files, repo-add's backups. */
export function isScratchFile(name: string): boolean {
  return name.startsWith('.') || name.endsWith('.lck') || name.endsWith('.old') || name.includes('.tmp-');
}

/** The names in a directory; none when it does not exist. */
function existing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** How long a replaced generation is kept. */
const RETAIN_REPLACED_MS = 60 * 60 * 1000;

/** When a generation was made (its name says; a repository of an earlier quarters, `gen-0`, first). */
const createdAt = (name: string, prefix: string): number => Number(name.slice(prefix.length).split('-')[0]) || 0;

/** The two kinds of repository index: repo-add's pacman database, apt-ftparchive's flat repository. */
export type IndexKind = 'pacman' | 'apt';

/** The index a flavour's packages go into. */
export const indexKindOf = (flavour: Flavour): IndexKind => (flavour === 'pkgbuild' ? 'pacman' : 'apt');

/** A repository's index: its kind and, for pacman, the database's name (`NAME.db`). */
export interface IndexSpec {
  kind: IndexKind;
  name: string;
  /** apt: also a `Sources` index of the source packages (flavour debian, whose full builds publish them). */
  sources?: boolean;
}

/** The signatures of an index (never of a package): made anew by every change that signs, dropped by every other. */
export function isIndexSignature(file: string, index: IndexSpec): boolean {
  if (index.kind === 'apt') return file === 'InRelease' || file === 'Release.gpg';
  return [`${index.name}.db.sig`, `${index.name}.db.tar.gz.sig`, `${index.name}.files.sig`, `${index.name}.files.tar.gz.sig`].includes(file);
}

/** Index files are rewritten by the index tool, so a new generation gets copies; packages (and their signatures) are hard-linked. */
const isIndexFile = (file: string, index: IndexSpec): boolean =>
  index.kind === 'apt' ? file === 'Packages' || file === 'Sources' || file === 'Release' : [`${index.name}.db`, `${index.name}.db.tar.gz`, `${index.name}.files`, `${index.name}.files.tar.gz`].includes(file);

/** A file of the pool to put into a repository; what the upload learnt of it spares the index reading it again. */
export interface RepositoryFile {
  poolPath: string;
  filename: string;
  sha256?: string;
  size?: number;
  /** A pacman package's archive listing (pacman-index.ts). */
  listing?: readonly string[] | null;
}

export { RepositoryError };

/** Writes `text` to `path` atomically: a fsynced temporary file renamed over it. */
export async function writeFileAtomic(path: string, text: string | Buffer): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

/** Fsyncs a directory, so that a rename in it survives a crash. */
export const syncDir: (dir: string) => Promise<void> = fsyncPath;

/** What a change does to a repository: files to add (from the pool or another repository, hard-linked), package files to remove. */
export interface RepositoryChange {
  add: readonly RepositoryFile[];
  /** Package files to take out, with the package names their index entries have (pacman's repo-remove takes names). */
  remove?: readonly { filename: string; name: string }[];
}

/**
 * Changes the repository at `dir` (a symlink to its current generation, made on the first change) in a
 * new generation: the current one's packages hard-linked and index copied, the change made, the index
 * updated and signed, and only then the symlink switched (a rename). A failure removes the new
 * generation and leaves the served one as it was. The caller serialises changes of one `dir`.
 */
export async function changeRepository(dir: string, index: IndexSpec, signer: Signer | null, change: RepositoryChange): Promise<void> {
  // A key that could not sign last time is asked again before anything is made.
  await signer?.ensureUsable();
  await swapGeneration(dir, (next, current) => applyChange(current, next, index, signer, change));
}

/**
 * Makes a new generation of the directory `dir` (a symlink beside its generations, `.NAME.gen-*`): `make`
 * fills the new generation directory (given the current one, null at first), which is fsynced and only
 * then made current by renaming a new symlink over `dir`. A failure removes the new generation and
 * leaves `dir` as it was; a crash leaves it as it was too (removeInterruptedChangesIn cleans up at start).
 */
export async function swapGeneration(dir: string, make: (next: string, current: string | null) => Promise<void>): Promise<void> {
  const parent = dirname(dir);
  const name = basename(dir);
  await mkdir(parent, { recursive: true });
  const current = await currentGeneration(dir);
  const next = join(parent, `.${name}.gen-${Date.now()}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(next);
    await make(next, current);
    await syncTree(next);
    const pointer = join(parent, `.${name}.link-${randomBytes(6).toString('hex')}`);
    await symlink(basename(next), pointer);
    await rename(pointer, dir);
    await syncDir(parent);
  } catch (error) {
    await rm(next, { recursive: true, force: true });
    throw error;
  }
  await prune(parent, name, basename(next));
}

/** Fsyncs a generation directory and the directories in it (a distribution repository's architectures). */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) await syncTree(join(dir, entry.name));
  await syncDir(dir);
}

/**
 * Makes the repository directory `next` from `current` (null: none yet) and a change: the current
 * packages and their signatures hard-linked, the index copied, its signatures dropped; the change's
 * files linked in, removed ones left out; the index updated and (with a signer) signed. A change
 * that adds and removes nothing copies the current repository as it is, signatures included.
 */
export async function applyChange(current: string | null, next: string, index: IndexSpec, signer: Signer | null, change: RepositoryChange): Promise<void> {
  const unchanged = change.add.length === 0 && (change.remove ?? []).length === 0;
  const removed = new Set((change.remove ?? []).map((r) => r.filename));
  if (current) {
    for (const name of await readdir(current)) {
      if (isScratchFile(name) || removed.has(name) || removed.has(name.replace(/\.sig$/, ''))) continue;
      if (!unchanged && isIndexSignature(name, index)) continue;
      const info = await lstat(join(current, name));
      if (info.isSymbolicLink()) await symlink(await readlink(join(current, name)), join(next, name));
      else if (isIndexFile(name, index)) await copyFile(join(current, name), join(next, name));
      else await link(join(current, name), join(next, name));
    }
  }
  if (unchanged) return;
  for (const file of change.add) {
    // A replaced package's signature goes with it (and repo-add must not find one to embed: see signIndex).
    await rm(join(next, file.filename), { force: true });
    await rm(join(next, `${file.filename}.sig`), { force: true });
    await link(file.poolPath, join(next, file.filename));
  }
  const added = change.add.map((f) => f.filename);
  await reindex(next, index, change.add, [...new Set((change.remove ?? []).map((r) => r.name))]);
  if (signer) await signIndex(next, index, signer, added);
  for (const name of await readdir(next)) if (isScratchFile(name)) await rm(join(next, name), { force: true });
}

/**
 * The directory the repository's symlink points at, or null for a new repository. A repository of an
 * earlier quarters (a plain directory) is moved to a generation first.
 */
async function currentGeneration(dir: string): Promise<string | null> {
  const info = await lstat(dir).catch(() => null);
  if (!info) return null;
  if (info.isSymbolicLink()) return join(dirname(dir), await readlink(dir));
  const moved = join(dirname(dir), `.${basename(dir)}.gen-0`);
  await rename(dir, moved);
  await symlink(basename(moved), dir);
  return moved;
}

/**
 * Removes generations replaced more than RETAIN_REPLACED_MS ago (a local build's container may have
 * one bound, a reader may still be on one), and aborted changes' leftovers. `current` is never removed.
 */
async function prune(parent: string, arch: string, current: string): Promise<void> {
  const prefix = `.${arch}.gen-`;
  const names = await readdir(parent);
  const generations = names.filter((n) => n.startsWith(prefix)).sort((a, b) => createdAt(a, prefix) - createdAt(b, prefix));
  const now = Date.now();
  for (const [i, name] of generations.entries()) {
    const successor = generations[i + 1];
    if (name === current || !successor || now - createdAt(successor, prefix) < RETAIN_REPLACED_MS) continue;
    await rm(join(parent, name), { recursive: true, force: true });
  }
  for (const name of names.filter((n) => n.startsWith(`.${arch}.link-`))) await rm(join(parent, name), { force: true });
}

/**
 * Updates the index of the repository in `dir` for the added package files and the removed package names.
 * pacman: the entries are written by pacman-index.ts from what the upload streamed (repo-add would read
 * each package again); removals still go through repo-remove, which reads only the database.
 */
async function reindex(dir: string, index: IndexSpec, added: readonly RepositoryFile[], removedNames: string[]): Promise<void> {
  if (index.kind === 'pacman') {
    if (removedNames.length > 0) await run('repo-remove', ['-q', `${index.name}.db.tar.gz`, ...removedNames], dir);
    const known = (f: RepositoryFile) => (f.sha256 !== undefined && f.size !== undefined && f.listing ? { sha256: f.sha256, size: f.size, listing: f.listing } : undefined);
    if (added.length > 0) await addToPacmanIndex(dir, index.name, added.map((f) => ({ filename: f.filename, known: known(f) })));
    return;
  }
  const packages = await run('apt-ftparchive', ['packages', '.'], dir);
  await writeFileAtomic(join(dir, 'Packages'), packages);
  if (index.sources) {
    // The source packages' .dsc files, as `apt-get source` reads them; Release below lists the index.
    const sources = await run('apt-ftparchive', ['sources', '.'], dir);
    await writeFileAtomic(join(dir, 'Sources'), sources);
  }
  const release = await run('apt-ftparchive', ['-o', `APT::FTPArchive::Release::Origin=${index.name}`, 'release', '.'], dir);
  await writeFileAtomic(join(dir, 'Release'), release);
}

/**
 * Signs what a change indexed. pacman: a detached `.sig` per added package and per database
 * (`NAME.db.tar.gz.sig`, with the `NAME.db.sig` symlink pacman asks for, as repo-add --sign makes
 * them). The packages are signed after repo-add on purpose: repo-add would embed a signature it finds
 * (%PGPSIG%), and pacman checks an embedded signature even at `SigLevel = Optional`, which the builds'
 * own pacman.conf uses without the key; a client that requires signatures fetches the `.sig` instead.
 * apt: `InRelease` (clear-signed Release) and `Release.gpg` (armored detached).
 */
async function signIndex(dir: string, index: IndexSpec, signer: Signer, added: string[]): Promise<void> {
  if (index.kind === 'apt') {
    await signer.clearSign(join(dir, 'Release'), join(dir, 'InRelease'));
    await signer.detachSign(join(dir, 'Release'), join(dir, 'Release.gpg'), { armor: true });
    return;
  }
  for (const file of added) await signer.detachSign(join(dir, file), join(dir, `${file}.sig`));
  for (const db of ['db', 'files']) {
    const target = `${index.name}.${db}.tar.gz`;
    if (!existsSync(join(dir, target))) continue;
    await signer.detachSign(join(dir, target), join(dir, `${target}.sig`));
    await rm(join(dir, `${index.name}.${db}.sig`), { force: true });
    await symlink(`${target}.sig`, join(dir, `${index.name}.${db}.sig`));
  }
}

/** The files of the repository at `dir` (index files, signatures and packages), or null when it does not exist. */
export async function listRepository(dir: string): Promise<{ name: string; size: number }[] | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  const files: { name: string; size: number }[] = [];
  for (const name of names.filter((n) => !isScratchFile(n)).sort()) {
    const info = await stat(join(dir, name)).catch(() => null);
    if (info?.isFile()) files.push({ name, size: info.size });
  }
  return files;
}

/**
 * Removes what interrupted changes (a crash or kill mid-update) left beside the repositories in
 * `parent` (of the one named `only`, when given): generations made after the served one, which the
 * symlink never pointed at and so nobody reads, and the symlinks about to replace it. Only at start-up, before any change runs. Returns how many were removed.
 */
export function removeInterruptedChangesIn(parent: string, only?: string): number {
  let removed = 0;
  for (const name of existing(parent)) {
    const match = /^\.(.+)\.(gen|link)-/.exec(name);
    if (!match) continue;
    const [, arch, kind] = match as unknown as [string, string, string];
    if (only !== undefined && arch !== only) continue;
    let served: string | null = null;
    try {
      served = readlinkSync(join(parent, arch));
    } catch {
      // No repository yet: its first change never finished.
    }
    const prefix = `.${arch}.gen-`;
    if (kind === 'gen' && (name === served || (served !== null && createdAt(name, prefix) < createdAt(served, prefix)))) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

export class Repositories {
  private readonly lock = new KeyedLock();
  private readonly index: IndexSpec;

  constructor(
    private readonly dataDir: string,
    private readonly flavour: Flavour,
    /** Signs every change when set ([signing]). */
    readonly signer: Signer | null = null,
  ) {
    this.index = { kind: indexKindOf(flavour), name: PACMAN_REPO_NAME, sources: flavour === 'debian' };
  }

  /** A repository's directory. */
  dir(namespace: string, iteration: number, arch: string): string {
    return join(this.dataDir, 'repos', namespace, String(iteration), arch);
  }

  /** Where a build's uploaded file is kept. */
  poolPath(buildId: number, filename: string): string {
    return join(this.dataDir, 'pool', String(buildId), filename);
  }

  /** The directory uploads are streamed into before they are renamed into the pool. */
  tempDir(): string {
    return join(this.dataDir, 'tmp');
  }

  /**
   * Adds files of the pool to a repository and updates (and signs) its index. A file of the same name is
   * replaced. A build's records (Debian .buildinfo, .changes) stay in the pool only: they are no packages.
   * All or nothing: a failing index tool (a full disk, say) or key leaves the repository as it was and throws.
   */
  add(namespace: string, iteration: number, arch: string, pool: readonly RepositoryFile[]): Promise<void> {
    const dir = this.dir(namespace, iteration, arch);
    const files = this.flavour === 'debian' ? pool.filter((f) => !isBuildRecord(f.filename)) : pool;
    return this.lock.run(dir, async () => {
      if (files.length === 0) return;
      await changeRepository(dir, this.index, this.signer, { add: files });
    });
  }

  /** The files of a repository (index files, signatures and packages), or null when it does not exist. */
  list(namespace: string, iteration: number, arch: string): Promise<{ name: string; size: number }[] | null> {
    return listRepository(this.dir(namespace, iteration, arch));
  }

  /**
   * Removes what interrupted uploads left (`tmp/*`, `pool/<build>/.<file>.incoming-*`); only at start-up,
   * before any upload runs. Returns how many were removed.
   */
  removeInterruptedUploads(): number {
    let removed = 0;
    const tmp = this.tempDir();
    for (const name of existing(tmp)) {
      rmSync(join(tmp, name), { recursive: true, force: true });
      removed += 1;
    }
    const pool = join(this.dataDir, 'pool');
    for (const build of existing(pool)) {
      for (const name of existing(join(pool, build)).filter((n) => n.startsWith('.') && n.includes('.incoming-'))) {
        rmSync(join(pool, build, name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  /** removeInterruptedChangesIn for every build set's repositories. */
  removeInterruptedChanges(): number {
    let removed = 0;
    const repos = join(this.dataDir, 'repos');
    for (const namespace of existing(repos)) {
      for (const iteration of existing(join(repos, namespace))) removed += removeInterruptedChangesIn(join(repos, namespace, iteration));
    }
    return removed;
  }

  /** Removes a temporary upload that will not be kept. */
  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }
}
