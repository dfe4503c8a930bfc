import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config-text.js';
import type { ImageDescription, ImagePartition } from './description.js';
import { layOut, MIB, sfdiskScript } from './layout.js';

const part = (label: string, size: number, extra: Partial<ImagePartition> = {}): ImagePartition => ({ label, size, filesystem: 'ext4', packages: [], file: [], ...extra });
const image = (size: number, partitions: ImagePartition[], table: 'gpt' | 'mbr' = 'gpt'): ImageDescription => ({ label: 'x', size, format: 'raw', table, cache: 'normal', partition: partitions });

describe('image layout', () => {
  it('places partitions from 1 MiB, the negative one taking the rest minus its size, GPT keeping the last MiB', () => {
    const placed = layOut(image(100, [part('ESP', 10, { filesystem: 'vfat', type: 'efi' }), part('root', -5, { type: 'linux-root' }), part('data', 20)]), 'x86_64', 'i.toml');
    expect(placed.map((p) => [p.partition.label, p.offset / MIB, p.size / MIB, p.type])).toEqual([
      ['ESP', 1, 10, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'],
      ['root', 11, 63, '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709'],
      ['data', 74, 20, '0FC63DAF-8483-4772-8E79-3D69D8477DE4'],
    ]);
    // 1 + 10 + 63 + 20 = 94 MiB, and 5 MiB kept free before the last one (the GPT backup's MiB).
    expect(sfdiskScript('gpt', placed)).toBe('label: gpt\nunit: sectors\nsector-size: 512\nfirst-lba: 2048\n\nstart=2048, size=20480, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"\nstart=22528, size=129024, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"\nstart=151552, size=40960, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="data"\n');
  });

  it('uses MBR types and the whole disk after the first MiB', () => {
    const placed = layOut(image(32, [part('boot', 8, { filesystem: 'vfat', type: 'efi' }), part('root', -1)], 'mbr'), 'x86_64', 'i.toml');
    expect(placed.map((p) => [p.size / MIB, p.type])).toEqual([[8, 'ef'], [22, '83']]);
    expect(sfdiskScript('mbr', placed)).toContain('label: dos\n');
    expect(sfdiskScript('mbr', placed)).not.toContain('name=');
  });

  it.each([
    ['too big', image(16, [part('a', 10), part('b', 10)]), 'i.toml: image.size: 16 MiB is too small: the partitions take 20 MiB, and the table 2 MiB'],
    ['two rests', image(64, [part('a', -1), part('b', -2)]), 'i.toml: image.partition.1.size: only one partition may take the rest of the disk (a negative size); "a" does already'],
    ['nothing left', image(16, [part('a', 10), part('b', -4)]), 'i.toml: image.partition.1.size: the rest of the disk is 4 MiB: nothing is left after keeping 4 MiB free'],
    ['an unknown type', image(16, [part('a', 4, { type: 'ntfs' })]), 'i.toml: image.partition.0.type: "ntfs" is not a GPT partition type: give efi, linux, swap, basic-data, bios-boot, linux-root or a GUID'],
  ])('refuses a layout that does not work (%s)', (_what, description, message) => {
    let thrown: unknown = null;
    try {
      layOut(description, 'x86_64', 'i.toml');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toBe(message);
  });
});
