/**
 * Package repositories, one per build set, iteration and architecture, under
 * `<data_dir>/repos/<namespace>/<iteration>/<arch>/`: a pacman repository named `quarters`
 * (`repo-add`) for pkgbuild, an apt flat repository (`apt-ftparchive`) otherwise. Uploaded files live
 * once in `<data_dir>/pool/<build>/` and are hard-linked into every repository that carries them.
 * Changes to one repository are serialised.
 */
import { execa } from 'execa';
import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Flavour } from '../../core/recipe/model.js';
import { KeyedLock } from '../keyed-lock.js';

/** The pacman repository's name: `quarters.db`, `quarters.files`. */
export const PACMAN_REPO_NAME = 'quarters';

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
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

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

  /** Adds files of the pool to a repository and updates its index. A file of the same name is replaced atomically. */
  add(namespace: string, iteration: number, arch: string, files: readonly { poolPath: string; filename: string }[]): Promise<void> {
    const dir = this.dir(namespace, iteration, arch);
    return this.lock.run(dir, async () => {
      await mkdir(dir, { recursive: true });
      for (const file of files) {
        const temp = join(dir, `.${file.filename}.tmp-${randomBytes(6).toString('hex')}`);
        await link(file.poolPath, temp);
        await rename(temp, join(dir, file.filename));
      }
      await syncDir(dir);
      if (files.length) await this.reindex(dir, files.map((f) => f.filename));
    });
  }

  private async reindex(dir: string, added: string[]): Promise<void> {
    if (this.flavour === 'pkgbuild') {
      await this.run('repo-add', ['-q', `${PACMAN_REPO_NAME}.db.tar.gz`, ...added], dir);
      return;
    }
    const packages = await this.run('apt-ftparchive', ['packages', '.'], dir);
    await writeFileAtomic(join(dir, 'Packages'), packages);
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
    for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
      const info = await stat(join(dir, name)).catch(() => null);
      if (info?.isFile()) files.push({ name, size: info.size });
    }
    return files;
  }

  /** Removes a temporary upload that will not be kept. */
  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }
}
