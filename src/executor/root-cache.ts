/**
 * Files the executor keeps between its starts to start faster (V8's code cache of the bundle, the
 * validated config): in a directory only root may write, since both are trusted as they are read (a
 * code cache is code; a config says which paths are bound where). Anything that is not exactly as
 * root left it (another owner, a mode that lets others write, a link) is ignored, never trusted; a
 * cache that cannot be read or written only costs the start-up it would have saved.
 *
 * Self-contained (node:fs and node:path only): the bundle's launcher uses it before the executor loads.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/** Where the caches live by default: /run is root's and empties at boot, which no cache needs to outlive. */
export const ROOT_CACHE_DIR = '/run/quarters-executor';

/** The cache directory for this process, or null when there is none: only root keeps caches, and QUARTERS_EXECUTOR_CACHE_DIR="" turns them off. */
export function rootCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (process.getuid?.() !== 0) return null;
  const dir = env.QUARTERS_EXECUTOR_CACHE_DIR ?? ROOT_CACHE_DIR;
  return dir.startsWith('/') ? dir : null;
}

/** Root's own and nobody else's: owned by root, no access for group or others. */
function isRootsOnly(stats: Stats): boolean {
  return stats.uid === 0 && (stats.mode & 0o077) === 0;
}

function isTrustedDir(dir: string): boolean {
  try {
    const stats = lstatSync(dir);
    return stats.isDirectory() && isRootsOnly(stats);
  } catch {
    return false;
  }
}

/** The cache file's contents, or null when it is missing or not root's alone. */
export function readRootCache(dir: string, name: string): Buffer | null {
  if (!isTrustedDir(dir)) return null;
  let fd: number;
  try {
    fd = openSync(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stats = fstatSync(fd);
    // One name only: a second one (a hard link) would be a file root made for something else.
    if (!stats.isFile() || !isRootsOnly(stats) || stats.nlink !== 1) return null;
    return readFileSync(fd);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Replaces the cache file (whole, by a rename), making the directory root-only if it is missing; does nothing where the directory is not root's alone. */
export function writeRootCache(dir: string, name: string, data: string | Uint8Array): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch {
    // It exists (checked next), or cannot be made (then nothing is cached).
  }
  if (!isTrustedDir(dir)) return;
  const file = join(dir, name);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch {
    // A full or read-only /run: the next start compiles or validates again, as without a cache.
    try {
      unlinkSync(temporary);
    } catch {
      // Never made.
    }
  }
}
