/**
 * Where each partition of an image goes on the disk, and the `sfdisk` script that writes the table.
 * Partitions start on MiB boundaries from 1 MiB; GPT keeps the last MiB for its backup header. Pure.
 */
import { ConfigError } from '../config-text.js';
import type { ImageDescription, ImagePartition } from './description.js';

export const SECTOR = 512;
export const MIB = 1024 * 1024;
const SECTORS_PER_MIB = MIB / SECTOR;

/** A partition placed: its byte offset and size on the disk, and its table type. */
export interface PlacedPartition {
  index: number;
  partition: ImagePartition;
  offset: number;
  size: number;
  /** The type as sfdisk takes it: a GUID (gpt) or a hex byte (mbr). */
  type: string;
}

/** Named partition types: GPT GUIDs (linux-root per architecture, as the Discoverable Partitions Specification has them) and MBR types. */
const GPT_TYPES: Record<string, string | Record<string, string>> = {
  efi: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  swap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  'basic-data': 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  'bios-boot': '21686148-6449-6E6F-744E-656564454649',
  'linux-root': { x86_64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', aarch64: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', i686: '44479540-F297-41B2-9AF7-D131D5F0458A', riscv64: '72EC70A6-CF74-40E6-BD49-4BDA08E8F224', loongarch64: '77055800-792C-4F94-B39A-98C91B762BB6' },
};
const MBR_TYPES: Record<string, string> = { efi: 'ef', linux: '83', 'linux-root': '83', swap: '82', 'basic-data': '0c' };

/** The table type of a partition: its `type`, else basic-data for vfat and linux for the rest. */
export function partitionType(partition: ImagePartition, table: 'gpt' | 'mbr', arch: string): { ok: true; type: string } | { ok: false; reason: string } {
  const name = partition.type ?? (partition.filesystem === 'vfat' ? 'basic-data' : 'linux');
  if (table === 'gpt') {
    if (/^[0-9A-Fa-f]{8}-/.test(name)) return { ok: true, type: name.toUpperCase() };
    const known = GPT_TYPES[name];
    if (known === undefined) return { ok: false, reason: `"${name}" is not a GPT partition type: give ${Object.keys(GPT_TYPES).join(', ')} or a GUID` };
    if (typeof known === 'string') return { ok: true, type: known };
    const forArch = known[arch];
    return forArch ? { ok: true, type: forArch } : { ok: false, reason: `no ${name} partition type is known for ${arch}: give its GUID` };
  }
  if (/^[0-9A-Fa-f]{2}$/.test(name)) return { ok: true, type: name.toLowerCase() };
  const known = MBR_TYPES[name];
  return known ? { ok: true, type: known } : { ok: false, reason: `"${name}" is not an MBR partition type: give ${Object.keys(MBR_TYPES).join(', ')} or two hex digits` };
}

/** Places the partitions in order; a layout that does not fit is a ConfigError naming the key. */
export function layOut(image: ImageDescription, arch: string, file: string): PlacedPartition[] {
  const usable = image.size - 1 - (image.table === 'gpt' ? 1 : 0);
  const fixed = image.partition.filter((p) => p.size > 0).reduce((sum, p) => sum + p.size, 0);
  const rest = image.partition.filter((p) => p.size < 0);
  if (rest.length > 1) throw new ConfigError(file, `image.partition.${image.partition.indexOf(rest[1]!)}.size`, `only one partition may take the rest of the disk (a negative size); "${rest[0]!.label}" does already`);
  if (fixed > usable) throw new ConfigError(file, 'image.size', `${image.size} MiB is too small: the partitions take ${fixed} MiB, and the table ${image.size - usable} MiB`);
  let offset = 1;
  return image.partition.map((partition, index) => {
    let size = partition.size;
    if (size < 0) {
      size = usable - fixed + size;
      if (size < 1) throw new ConfigError(file, `image.partition.${index}.size`, `the rest of the disk is ${usable - fixed} MiB: nothing is left after keeping ${-partition.size} MiB free`);
    }
    const type = partitionType(partition, image.table, arch);
    if (!type.ok) throw new ConfigError(file, `image.partition.${index}.type`, type.reason);
    const placed = { index, partition, offset: offset * MIB, size: size * MIB, type: type.type };
    offset += size;
    return placed;
  });
}

/** The input `sfdisk` reads to write the table (sectors of 512 bytes). */
export function sfdiskScript(table: 'gpt' | 'mbr', partitions: readonly PlacedPartition[]): string {
  const lines = [`label: ${table === 'gpt' ? 'gpt' : 'dos'}`, 'unit: sectors', `sector-size: ${SECTOR}`];
  if (table === 'gpt') lines.push(`first-lba: ${SECTORS_PER_MIB}`);
  lines.push('');
  for (const p of partitions) {
    const fields = [`start=${p.offset / SECTOR}`, `size=${p.size / SECTOR}`, `type=${p.type}`];
    if (table === 'gpt') fields.push(`name="${p.partition.label}"`);
    lines.push(fields.join(', '));
  }
  return `${lines.join('\n')}\n`;
}
