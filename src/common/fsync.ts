/** fsync of a file or directory by path (a directory's, so that a rename in it survives a crash). */
import { open } from 'node:fs/promises';

async function syncPath(path: string, how: 'sync' | 'datasync'): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle[how]();
  } finally {
    await handle.close();
  }
}

/** Opens `path` read-only and fsyncs it. */
export const fsyncPath = (path: string): Promise<void> => syncPath(path, 'sync');

/**
 * Opens `path` read-only and fdatasyncs it: its data, and of its metadata only what reading the data
 * back needs (its size), so a file rewritten in place (a reused SQLite WAL) needs no journal commit.
 * As durable for that data as fsync (POSIX fdatasync); SQLite's unix VFS syncs with it where it exists.
 */
export const fdatasyncPath = (path: string): Promise<void> => syncPath(path, 'datasync');
