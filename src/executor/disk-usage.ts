/** Disk use of a directory tree in bytes (allocated blocks, hard links counted once), without following mounts. */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Sums the allocated size of every file below `path`; 0 when it does not exist. */
export async function diskUsage(path: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  let rootDevice: number | null = null;
  const walk = async (p: string): Promise<void> => {
    let info;
    try {
      info = await lstat(p, { bigint: false });
    } catch {
      return;
    }
    rootDevice ??= info.dev;
    if (info.dev !== rootDevice) return;
    const key = `${info.dev}:${info.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    total += info.blocks * 512;
    if (info.isDirectory()) {
      const entries = await readdir(p).catch(() => [] as string[]);
      for (const entry of entries) await walk(join(p, entry));
    }
  };
  await walk(path);
  return total;
}
