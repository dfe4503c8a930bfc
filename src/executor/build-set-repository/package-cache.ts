/**
 * Packages of build-set repositories, kept on the runner host by checksum: `work_dir/packages/sha256/HEX`.
 * Only verified files enter it (downloaded to `tmp/`, checked against the index, fsynced, renamed into
 * place), so a file there is what its name says. Jobs get hard links to it. The directory is root's
 * and 0700: the host user, who owns the runner's cache_dir, cannot change what later jobs install.
 * Concurrent jobs of one wave download a package once: a lock per checksum covers "look, else download".
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexedPackage } from '../../core/repository-index.js';
import { SystemFailure } from '../failure.js';
import { makeDir } from '../fs-layers.js';
import { withLock, withLockUnlessSettled } from '../lock.js';
import type { Received, RepositorySource } from './source.js';

/** Throws SystemFailure naming `where` when a file received is not the one the index names. */
export function verify(received: Received, expected: IndexedPackage, where: string): void {
  if (received.size !== expected.size) throw new SystemFailure(`${where} does not verify: it has ${received.size} bytes, the index says ${expected.size}`);
  if (received.sha256 !== expected.sha256) throw new SystemFailure(`${where} does not verify: its sha256 is ${received.sha256}, the index says ${expected.sha256}`);
}

export class PackageCache {
  private ready: Promise<void> | null = null;

  constructor(readonly dir: string) {}

  /** Where the package with this sha256 is kept. */
  path(sha256: string): string {
    return join(this.dir, 'sha256', sha256);
  }

  /** The package's cached file, downloading and verifying it first unless it is there; `downloaded` is 0 for a cache hit. */
  async obtain(pkg: IndexedPackage, source: RepositorySource): Promise<{ path: string; downloaded: number }> {
    await this.prepare();
    const target = this.path(pkg.sha256);
    const cached = async () => ((await this.has(target, pkg.size)) ? { path: target, downloaded: 0 } : null);
    return withLockUnlessSettled(join(this.dir, 'locks', pkg.sha256), cached, async () => {
      const temp = join(this.dir, 'tmp', `${pkg.sha256}.${process.pid}.${randomBytes(4).toString('hex')}`);
      try {
        const received = await source.copyTo(pkg.filename, temp, pkg.size);
        verify(received, pkg, source.locate(pkg.filename));
        const handle = await open(temp, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, target);
        return { path: target, downloaded: received.size };
      } finally {
        await rm(temp, { force: true });
      }
    });
  }

  /**
   * Removes cached packages no job has (a job's copy is a hard link, so a file with one link is
   * unused) and none fetched for olderThanMs (linking it changes its ctime), and downloads left
   * half done as long; returns their names. Each under its checksum's lock, so no fetch races it.
   */
  async prune(olderThanMs: number): Promise<string[]> {
    const removed: string[] = [];
    const old = (info: { ctimeMs: number } | null) => info !== null && Date.now() - info.ctimeMs > olderThanMs;
    for (const name of await readdir(join(this.dir, 'sha256')).catch(() => [] as string[])) {
      const path = join(this.dir, 'sha256', name);
      await withLock(join(this.dir, 'locks', name), async () => {
        const info = await stat(path).catch(() => null);
        if (info?.nlink !== 1 || !old(info)) return;
        await rm(path, { force: true });
        removed.push(`packages/sha256/${name}`);
      });
    }
    for (const name of await readdir(join(this.dir, 'tmp')).catch(() => [] as string[])) {
      const path = join(this.dir, 'tmp', name);
      if (!old(await stat(path).catch(() => null))) continue;
      await rm(path, { force: true });
      removed.push(`packages/tmp/${name}`);
    }
    return removed;
  }

  private async has(path: string, size: number): Promise<boolean> {
    const info = await stat(path).catch(() => null);
    return info !== null && info.isFile() && info.size === size;
  }

  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      await makeDir(this.dir, 0o700);
      for (const sub of ['sha256', 'tmp', 'locks']) await makeDir(join(this.dir, sub), 0o700);
    })();
    return this.ready;
  }
}
