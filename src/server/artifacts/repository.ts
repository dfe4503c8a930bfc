/**
 * Package repositories, one per build set, iteration and architecture, under
 * `<data_dir>/repos/<namespace>/<iteration>/<arch>/`: a pacman repository named `quarters`
 * (`repo-add`) for pkgbuild, an apt flat repository (`apt-ftparchive`) otherwise, which for flavour
 * debian also has a `Sources` index of the source packages full builds published (empty until one
 * does, so that a `deb-src` entry always finds it). Uploaded files live
 * once in `<data_dir>/pool/<build>/` and are hard-linked into every repository that carries them.
 * Changes to one repository are serialised, and the index and the files it names change together or
 * not at all: each change is made in a new generation directory (`.<arch>.gen-N`, the packages
 * hard-linked, the index copied), and only when the index tool succeeded does the `<arch>` symlink
 * switch to it (a rename). A failed change leaves the served repository as it was.
 */
import { fsyncPath } from '../../common/fsync.js';
import { execa } from 'execa';
import { copyFile, link, lstat, mkdir, open, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Flavour } from '../../core/recipe/model.js';
import { isBuildRecord } from '../../core/build-set/artifact-name.js';
import { KeyedLock } from '../keyed-lock.js';

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

/** Index files are rewritten by the index tool, so a new generation gets copies; packages are hard-linked. */
const isIndexFile = (name: string): boolean => name.startsWith(`${PACMAN_REPO_NAME}.`) || name === 'Packages' || name === 'Sources' || name === 'Release';

/** A repository index tool failed; the message carries its output. */
export class RepositoryError extends Error {
  override name = 'RepositoryError';
}

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

export class Repositories {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly dataDir: string,
    private readonly flavour: Flavour,
  ) {}

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
   * Adds files of the pool to a repository and updates its index. A file of the same name is replaced.
   * A build's records (Debian .buildinfo, .changes) stay in the pool only: they are no packages.
   * All or nothing: a failing index tool (a full disk, say) leaves the repository as it was and throws.
   */
  add(namespace: string, iteration: number, arch: string, pool: readonly { poolPath: string; filename: string }[]): Promise<void> {
    const dir = this.dir(namespace, iteration, arch);
    const files = this.flavour === 'debian' ? pool.filter((f) => !isBuildRecord(f.filename)) : pool;
    return this.lock.run(dir, async () => {
      if (files.length === 0) return;
      const parent = dirname(dir);
      await mkdir(parent, { recursive: true });
      const current = await this.currentGeneration(dir);
      const next = join(parent, `.${arch}.gen-${Date.now()}-${randomBytes(4).toString('hex')}`);
      try {
        await mkdir(next);
        if (current) {
          for (const name of await readdir(current)) {
            if (isScratchFile(name)) continue;
            if (isIndexFile(name)) await copyFile(join(current, name), join(next, name));
            else await link(join(current, name), join(next, name));
          }
        }
        for (const file of files) {
          await rm(join(next, file.filename), { force: true });
          await link(file.poolPath, join(next, file.filename));
        }
        await this.reindex(next, files.map((f) => f.filename));
        for (const name of await readdir(next)) if (isScratchFile(name)) await rm(join(next, name), { force: true });
        await syncDir(next);
        const pointer = join(parent, `.${arch}.link-${randomBytes(6).toString('hex')}`);
        await symlink(basename(next), pointer);
        await rename(pointer, dir);
        await syncDir(parent);
      } catch (error) {
        await rm(next, { recursive: true, force: true });
        throw error;
      }
      await this.prune(parent, arch, basename(next));
    });
  }

  /**
   * The directory the repository's symlink points at, or null for a new repository. A repository of an
   * earlier quarters (a plain directory) is moved to a generation first.
   */
  private async currentGeneration(dir: string): Promise<string | null> {
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
  private async prune(parent: string, arch: string, current: string): Promise<void> {
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

  private async reindex(dir: string, added: string[]): Promise<void> {
    if (this.flavour === 'pkgbuild') {
      await this.run('repo-add', ['-q', `${PACMAN_REPO_NAME}.db.tar.gz`, ...added], dir);
      return;
    }
    const packages = await this.run('apt-ftparchive', ['packages', '.'], dir);
    await writeFileAtomic(join(dir, 'Packages'), packages);
    if (this.flavour === 'debian') {
      // The source packages' .dsc files, as `apt-get source` reads them; Release below lists the index.
      const sources = await this.run('apt-ftparchive', ['sources', '.'], dir);
      await writeFileAtomic(join(dir, 'Sources'), sources);
    }
    const release = await this.run('apt-ftparchive', ['-o', 'APT::FTPArchive::Release::Origin=quarters', 'release', '.'], dir);
    await writeFileAtomic(join(dir, 'Release'), release);
  }

  private async run(command: string, args: string[], cwd: string): Promise<string> {
    const result = await execa(command, args, { cwd, reject: false, env: { LC_ALL: 'C' } });
    if (result.failed) throw new RepositoryError(`${command} failed in ${cwd}: ${String(result.stderr || result.stdout || result.shortMessage).trim()}`);
    return String(result.stdout);
  }

  /** The files of a repository (index files and packages), or null when it does not exist. */
  async list(namespace: string, iteration: number, arch: string): Promise<{ name: string; size: number }[] | null> {
    const dir = this.dir(namespace, iteration, arch);
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

  /**
   * Removes what interrupted repository changes (a crash or kill mid-update) left beside the repositories:
   * generations made after the served one, which the symlink never pointed at and so nobody reads, and
   * the symlinks about to replace it. Only at start-up, before any change runs. Returns how many were removed.
   */
  removeInterruptedChanges(): number {
    let removed = 0;
    const repos = join(this.dataDir, 'repos');
    for (const namespace of existing(repos)) {
      for (const iteration of existing(join(repos, namespace))) {
        const parent = join(repos, namespace, iteration);
        const names = existing(parent);
        for (const name of names) {
          const match = /^\.(.+)\.(gen|link)-/.exec(name);
          if (!match) continue;
          const [, arch, kind] = match as unknown as [string, string, string];
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
      }
    }
    return removed;
  }

  /** Removes a temporary upload that will not be kept. */
  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }
}
