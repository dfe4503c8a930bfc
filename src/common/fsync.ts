/** fsync of a file or directory by path (a directory's, so that a rename in it survives a crash). */
import { open } from 'node:fs/promises';

/** Opens `path` read-only and fsyncs it. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
