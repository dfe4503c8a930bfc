/**
 * Reading a disk image back with the tools people use, never by mounting: the partition table
 * (`sfdisk --json`), a partition copied out by its offset, a byte range's digest, debugfs and mtools.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';

export const MIB = 1024 * 1024;

/** The host tools the image tests read disks with (scripts/install-deps installs them). */
const TOOLS = ['sfdisk', 'mkfs.ext4', 'debugfs', 'fsck.ext4', 'mkfs.vfat', 'fsck.vfat', 'mcopy', 'mdir', 'mtype', 'qemu-img'];

/** Null when every tool is here, else the one missing. */
export function diskToolsSkipReason(): string | null {
  for (const tool of TOOLS) if (!['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((dir) => existsSync(join(dir, tool)))) return `${tool} is missing (scripts/install-deps installs it)`;
  return null;
}

export interface SfdiskPartition {
  start: number;
  size: number;
  type: string;
  name?: string;
}

/** The partition table as sfdisk reads it. */
export async function partitionTable(disk: string): Promise<{ label: string; partitions: SfdiskPartition[] }> {
  const { stdout } = await execa('sfdisk', ['--json', disk]);
  return (JSON.parse(stdout) as { partitiontable: { label: string; partitions: SfdiskPartition[] } }).partitiontable;
}

/** A partition copied out of the disk (by its offset and size from the table), for fsck. */
export async function extractPartition(disk: string, partition: SfdiskPartition, into: string): Promise<string> {
  await execa('dd', [`if=${disk}`, `of=${into}`, 'bs=512', `skip=${partition.start}`, `count=${partition.size}`, 'status=none']);
  return into;
}

/** The sha256 of a disk's byte range. */
export async function rangeDigest(file: string, offset: number, size: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.alloc(MIB);
    for (let at = 0; at < size; at += MIB) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(MIB, size - at), offset + at);
      hash.update(buffer.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

export const mtools = (args: string[]) => execa(args[0]!, args.slice(1), { env: { MTOOLS_SKIP_CHECK: '1' } });
export const debugfs = async (fs: string, request: string) => (await execa('debugfs', ['-R', request, fs])).stdout;

/**
 * Builds `description` a second time into `again.raw` beside `first` and checks what a cache hit
 * means: both partitions reused (nothing installed), each partition the same bytes as the first
 * build's. Returns how long the build took, in seconds.
 */
export async function expectCachedRebuild(
  build: (description: string, extra: string[]) => Promise<{ exitCode?: number; stderr: string }>,
  description: string,
  first: string,
  rootMiB: number,
): Promise<number> {
  const began = Date.now();
  const result = await build(description, ['--out', 'again.raw']);
  const seconds = (Date.now() - began) / 1000;
  expect(result.exitCode, result.stderr).toBe(0);
  expect(result.stderr).toMatch(/partition 1 ESP \(vfat, 16 MiB\): reused from the cache \(normal, key [0-9a-f]{12}\)/);
  expect(result.stderr).toMatch(new RegExp(`partition 2 root \\(ext4, ${rootMiB} MiB\\): reused from the cache \\(normal, key [0-9a-f]{12}\\)`));
  expect(result.stderr).not.toMatch(/installing/);
  const second = join(first, '..', 'again.raw');
  for (const p of (await partitionTable(first)).partitions) {
    expect(await rangeDigest(second, p.start * 512, p.size * 512)).toBe(await rangeDigest(first, p.start * 512, p.size * 512));
  }
  return seconds;
}
