/**
 * Partitions made before, by the sha256 of what went into them (core/image/cache-key.ts): each a
 * filesystem image `KEY.img` (sparse) beside `KEY.json` (what it holds, for people). Stored by rename,
 * so a partition in the cache is whole; a crash leaves at most a `KEY.*.PID.part` file, safe to delete.
 * Several builds may share the cache: each writes under its own name, and the same key is the same content.
 */
import { copyFile, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fsyncPath } from '../../common/fsync.js';

/** The cache directory: --cache-dir, else QUARTERS_IMAGE_CACHE, else /var/cache/quarters/images for root and ~/.cache/quarters/images for others. */
export function imageCacheDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.QUARTERS_IMAGE_CACHE) return env.QUARTERS_IMAGE_CACHE;
  if (process.getuid?.() === 0) return '/var/cache/quarters/images';
  return join(env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache'), 'quarters', 'images');
}

export class PartitionCache {
  constructor(private readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, 'partitions', `${key}.img`);
  }

  /** The cached filesystem of `key`, or null. */
  async find(key: string): Promise<string | null> {
    const path = this.path(key);
    return (await stat(path).catch(() => null))?.isFile() ? path : null;
  }

  /** Keeps `file` (a filesystem just made) as the partition of `key`; returns where it is now. */
  async store(key: string, file: string, about: object): Promise<string> {
    const dir = join(this.dir, 'partitions');
    await mkdir(dir, { recursive: true });
    const own = `${process.pid}.part`;
    await writeFile(join(dir, `${key}.json.${own}`), `${JSON.stringify({ key, stored: new Date().toISOString(), ...about }, null, 2)}\n`);
    await rename(join(dir, `${key}.json.${own}`), join(dir, `${key}.json`));
    // On the disk before it has its name: a crash must not leave a partition in the cache that is not whole.
    await fsyncPath(file);
    // A link when the work directory is on the same filesystem (it is, by default: below the cache); else a copy.
    const part = `${this.path(key)}.${own}`;
    await rm(part, { force: true });
    await link(file, part).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EXDEV') throw error;
      await copyFile(file, part);
    });
    await rename(part, this.path(key));
    await fsyncPath(dir);
    return this.path(key);
  }

  /** Packages fetched from a server, by sha256 (the executor's package cache). */
  packagesDir(): string {
    return join(this.dir, 'packages');
  }

  /** A work directory for one image build, below the cache (same filesystem: stores are links). */
  async workDir(): Promise<string> {
    const dir = join(this.dir, 'work', `${process.pid}-${Date.now().toString(36)}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }
}
