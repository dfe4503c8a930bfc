/**
 * Filesystems and disks as files, with nothing mounted: ext4 from a directory (`mkfs.ext4 -d`), vfat
 * with `mkfs.vfat` then `mcopy -s`, the partition table with `sfdisk` reading a script, partitions
 * written into the disk at their offsets, qcow2 by `qemu-img convert`.
 */
import { open, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Filesystem } from '../../core/image/description.js';
import { MIB, sfdiskScript, type PlacedPartition } from '../../core/image/layout.js';
import { CommandError } from '../command.js';

/** Runs a tool; its failure is a CommandError with its own message. */
async function tool(command: string, args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
  const result = await execa(command, args, { reject: false, all: true, ...(options.input !== undefined ? { input: options.input } : {}), env: { LC_ALL: 'C', ...options.env } });
  if (result.failed) {
    const why = result.code === 'ENOENT' ? 'is not installed (scripts/install-deps installs it)' : `failed (exit ${result.exitCode ?? result.signal}): ${result.all?.trim().split('\n').slice(-5).join(' | ')}`;
    throw new CommandError(`${command} ${why}`);
  }
  return result.stdout;
}

// mtools refuses images whose geometry it finds odd unless told not to check.
const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: '1' };

/** Makes the filesystem of a partition from `tree` into `file` (`size` bytes; made here). */
export async function makeFilesystem(filesystem: Exclude<Filesystem, 'none'>, tree: string, file: string, size: number, label: string): Promise<void> {
  await (await open(file, 'wx')).close();
  await truncate(file, size);
  if (filesystem === 'ext4') {
    // -d copies the tree with its owners, modes, links and special files; -E root_owner keeps / root's.
    await tool('mkfs.ext4', ['-q', '-F', '-L', label, '-E', 'root_owner=0:0', '-d', tree, file]);
    return;
  }
  await tool('mkfs.vfat', ['-n', label.toUpperCase(), file]);
  const entries = await readdir(tree);
  if (entries.length) await tool('mcopy', ['-s', '-p', '-Q', '-i', file, ...entries.map((e) => join(tree, e)), '::/'], { env: MTOOLS_ENV });
}

/** Copies `source` into the open disk at `offset`, skipping blocks of zeros (the disk file is sparse). */
async function writeAt(disk: Awaited<ReturnType<typeof open>>, source: string, offset: number, size: number): Promise<void> {
  const input = await open(source, 'r');
  try {
    const buffer = Buffer.alloc(MIB);
    for (let at = 0; at < size; at += buffer.length) {
      const { bytesRead } = await input.read(buffer, 0, Math.min(buffer.length, size - at), at);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      if (chunk.every((b) => b === 0)) continue;
      await disk.write(chunk, 0, bytesRead, offset + at);
    }
  } finally {
    await input.close();
  }
}

/** Writes the disk `file` (a new file): the partition table, then each partition's filesystem (null: left empty) at its offset. */
export async function assembleDisk(file: string, sizeMib: number, table: 'gpt' | 'mbr', placed: readonly PlacedPartition[], filesystems: readonly (string | null)[]): Promise<void> {
  const disk = await open(file, 'wx');
  try {
    await disk.truncate(sizeMib * MIB);
  } finally {
    await disk.close();
  }
  await tool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', '--wipe', 'always', file], { input: sfdiskScript(table, placed) });
  const written = await open(file, 'r+');
  try {
    for (const [i, p] of placed.entries()) {
      const source = filesystems[i];
      if (source) await writeAt(written, source, p.offset, p.size);
    }
    await written.sync();
  } finally {
    await written.close();
  }
}

/** Converts a raw disk to qcow2. */
export async function convertToQcow2(raw: string, out: string): Promise<void> {
  await tool('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, out]);
}
