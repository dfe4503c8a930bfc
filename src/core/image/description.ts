/**
 * An image description (`quarters image build IMAGE.toml`): the disk (`[image]`), its partitions
 * (`[[image.partition]]`) and what goes in each (`packages`, `[[image.partition.file]]`), as zod
 * schemas. Description files may `include` others; the including file takes precedence (see
 * mergeDescriptions). Pure: the caller reads the files.
 */
import { z } from 'zod';
import { ConfigError, validateConfig } from '../config-text.js';

/** How a partition's contents are reused from the cache (see docs: images). */
export const CACHE_MODES = ['aggressive', 'normal', 'transient'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];

export const FILESYSTEMS = ['ext4', 'vfat', 'none'] as const;
export type Filesystem = (typeof FILESYSTEMS)[number];

/** The kinds of content a file entry takes, exactly one per entry. */
export const FILE_KINDS = ['text', 'symlink', 'artifact', 'shell'] as const;
export type FileKind = (typeof FILE_KINDS)[number];

const label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,35}$/, 'a label is 1 to 36 letters, digits, "_", "." or "-", starting with a letter or digit');

/** A path inside the partition: absolute, no empty, "." or ".." components. */
const partitionPath = z.string().refine((p) => /^\/[^\0]+$/.test(p) && p.split('/').slice(1).every((c) => c !== '' && c !== '.' && c !== '..'), {
  message: 'a path inside the partition is absolute ("/dir/name") with no empty, "." or ".." components',
});

const packageName = z.string().regex(/^[A-Za-z0-9@_+][A-Za-z0-9@._+-]*$/, 'a package name is letters, digits and @._+-');

const fileSchema = z
  .strictObject({
    path: partitionPath,
    /** The file's contents. */
    text: z.string().optional(),
    /** A symbolic link to this target (on vfat, which has none, a copy of what it points to inside the partition). */
    symlink: z.string().min(1).optional(),
    /** A file of the build set's repository, by its file name. */
    artifact: z.string().regex(/^[A-Za-z0-9_+@][A-Za-z0-9._+@:~-]*$/, 'an artifact is a file name of the build set\'s repository').optional(),
    /** A shell script run in the clean environment after the packages are installed; its standard output becomes the file. */
    shell: z.string().min(1).optional(),
    /** The file's mode (TOML takes octal: 0o755); default 0o644. Not for symlinks. */
    mode: z.number().int().min(0).max(0o7777).optional(),
  })
  .superRefine((file, context) => {
    const given = FILE_KINDS.filter((kind) => file[kind] !== undefined);
    if (given.length !== 1) context.addIssue({ code: 'custom', message: `give exactly one of ${FILE_KINDS.join(', ')}${given.length ? ` (this one has ${given.join(' and ')})` : ''}` });
    if (file.symlink !== undefined && file.mode !== undefined) context.addIssue({ code: 'custom', path: ['mode'], message: 'a symlink has no mode of its own' });
  });

export type ImageFile = z.infer<typeof fileSchema>;

/** The kind of an entry (the schema guarantees there is exactly one). */
export function fileKind(file: ImageFile): FileKind {
  return FILE_KINDS.find((kind) => file[kind] !== undefined)!;
}

const partitionSchema = z
  .strictObject({
    label,
    /** MiB; negative: the rest of the disk minus this many MiB (one partition at most). */
    size: z.number().int().refine((n) => n !== 0, 'a size is a number of MiB, or a negative one: the rest of the disk minus that many'),
    /** efi | linux | linux-root | swap | basic-data | bios-boot, a GPT type GUID, or a two-digit MBR type (hex). */
    type: z.string().regex(/^([a-z-]+|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{2})$/, 'expected a type name (efi, linux, linux-root, swap, basic-data, bios-boot), a GUID or a hex MBR type').optional(),
    filesystem: z.enum(FILESYSTEMS),
    /** Installed from the build set's repository first, then the distribution's. */
    packages: z.array(packageName).default([]),
    file: z.array(fileSchema).default([]),
    cache: z.enum(CACHE_MODES).optional(),
  })
  .superRefine((partition, context) => {
    if (partition.filesystem === 'none' && (partition.packages.length || partition.file.length)) {
      context.addIssue({ code: 'custom', path: ['filesystem'], message: 'a partition without a filesystem holds no packages or files' });
    }
    if (partition.filesystem === 'vfat' && partition.packages.length) context.addIssue({ code: 'custom', path: ['packages'], message: 'packages go into an ext4 partition: vfat keeps no owners, modes or links' });
    if (partition.filesystem === 'vfat' && partition.label.length > 11) context.addIssue({ code: 'custom', path: ['label'], message: 'a vfat label is at most 11 characters' });
    if (partition.filesystem === 'ext4' && partition.label.length > 16) context.addIssue({ code: 'custom', path: ['label'], message: 'an ext4 label is at most 16 characters' });
    const seen = new Set<string>();
    partition.file.forEach((file, i) => {
      if (seen.has(file.path)) context.addIssue({ code: 'custom', path: ['file', i, 'path'], message: `${file.path} is given twice` });
      seen.add(file.path);
    });
  });

export type ImagePartition = z.infer<typeof partitionSchema>;

const imageSchema = z
  .strictObject({
    label,
    /** The whole disk, in MiB. */
    size: z.number().int().min(2).max(16 * 1024 * 1024),
    format: z.enum(['raw', 'qcow2']).default('raw'),
    table: z.enum(['gpt', 'mbr']).default('gpt'),
    /** The caching mode of partitions that name none. */
    cache: z.enum(CACHE_MODES).default('normal'),
    partition: z.array(partitionSchema).min(1, 'an image has at least one [[image.partition]]'),
  })
  .superRefine((image, context) => {
    const seen = new Set<string>();
    image.partition.forEach((p, i) => {
      if (seen.has(p.label)) context.addIssue({ code: 'custom', path: ['partition', i, 'label'], message: `two partitions are labelled "${p.label}"` });
      seen.add(p.label);
    });
    if (image.table === 'mbr' && image.partition.length > 4) context.addIssue({ code: 'custom', path: ['partition'], message: 'an MBR table holds at most 4 (primary) partitions' });
  });

/** A description file's own keys: `include` and `requires` are about files, `image` is the disk. */
const fileKeysSchema = z.strictObject({
  /** Description files merged under this one, paths relative to it; this file's values win. */
  include: z.array(z.string().min(1)).default([]),
  /** Dotted keys this file leaves to the files that include it: the merged description must set them. */
  requires: z.array(z.string().regex(/^[a-z_]+(\.[a-z_]+)*$/, 'a required key is dotted: "image.size"')).default([]),
  image: z.record(z.string(), z.unknown()).optional(),
});

const descriptionSchema = z.strictObject({ image: imageSchema });

export type ImageDescription = z.infer<typeof imageSchema>;

/** A description file as read: its path, parsed TOML, and its includes already read (depth first). */
export interface DescriptionFile {
  file: string;
  value: Record<string, unknown>;
  includes: DescriptionFile[];
}

/** Refuses keys no description knows, in the file that has them (merged, they would be blamed on the including file). */
function checkKnownKeys(image: Record<string, unknown>, file: string): void {
  const unknown = (table: Record<string, unknown>, known: object) => Object.keys(table).filter((k) => !(k in known));
  const strange = unknown(image, imageSchema.shape);
  if (strange.length) throw new ConfigError(file, 'image', `unknown key${strange.length > 1 ? 's' : ''} ${strange.map((k) => `"${k}"`).join(', ')}`);
  if (!Array.isArray(image.partition)) return;
  image.partition.forEach((partition: unknown, i) => {
    if (!isTable(partition)) return;
    const where = `image.partition.${i}`;
    const strangeHere = unknown(partition, partitionSchema.shape);
    if (strangeHere.length) throw new ConfigError(file, where, `unknown key${strangeHere.length > 1 ? 's' : ''} ${strangeHere.map((k) => `"${k}"`).join(', ')}`);
  });
}

/** The `include` and `requires` of a parsed file, validated (errors name the file). */
export function fileKeys(value: Record<string, unknown>, file: string): { include: string[]; requires: string[] } {
  const keys = validateConfig(fileKeysSchema, value, file);
  if (keys.image) checkKnownKeys(keys.image, file);
  return { include: keys.include, requires: keys.requires };
}

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where each part of the merged description came from, to name the right file in errors. */
interface Origins {
  /** The file that set a partition (by its index in the merged list) last. */
  partitions: string[];
  /** The file of each file entry, by partition index then entry index. */
  files: string[][];
}

/** Merges `over` onto `under`: tables deeply, partitions by label, file entries by path, any other value replaced. */
function mergeImage(under: Table, over: Table, overFile: string, origins: Origins): Table {
  const merged: Table = { ...under };
  for (const [key, value] of Object.entries(over)) {
    if (key === 'partition' && Array.isArray(value)) {
      const partitions = Array.isArray(under.partition) ? [...(under.partition as unknown[])] : [];
      for (const entry of value) {
        const at = isTable(entry) ? partitions.findIndex((p) => isTable(p) && p.label === entry.label) : -1;
        if (at < 0) {
          partitions.push(entry);
          origins.partitions.push(overFile);
          origins.files.push(isTable(entry) && Array.isArray(entry.file) ? entry.file.map(() => overFile) : []);
          continue;
        }
        partitions[at] = mergePartition(partitions[at] as Table, entry as Table, overFile, origins, at);
      }
      merged.partition = partitions;
    } else if (isTable(value) && isTable(merged[key])) {
      merged[key] = { ...(merged[key] as Table), ...value };
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

function mergePartition(under: Table, over: Table, overFile: string, origins: Origins, at: number): Table {
  const merged: Table = { ...under, ...over };
  origins.partitions[at] = overFile;
  if (Array.isArray(under.file) && Array.isArray(over.file)) {
    const files = [...(under.file as unknown[])];
    const fileOrigins = [...(origins.files[at] ?? [])];
    for (const entry of over.file) {
      const i = isTable(entry) ? files.findIndex((f) => isTable(f) && f.path === entry.path) : -1;
      if (i < 0) {
        files.push(entry);
        fileOrigins.push(overFile);
      } else {
        files[i] = entry;
        fileOrigins[i] = overFile;
      }
    }
    merged.file = files;
    origins.files[at] = fileOrigins;
  } else if (Array.isArray(over.file)) {
    origins.files[at] = over.file.map(() => overFile);
  }
  return merged;
}

/** The `[image]` tables of a file and its includes, in merge order: includes first (depth first), the file itself last. */
function imageTables(description: DescriptionFile): { file: string; image: Table }[] {
  const own = description.value.image;
  if (own !== undefined && !isTable(own)) throw new ConfigError(description.file, 'image', 'expected a table');
  return [...description.includes.flatMap(imageTables), ...(own ? [{ file: description.file, image: own }] : [])];
}

/** The merged `[image]` table, with the file each partition and entry came from. */
function mergedImage(description: DescriptionFile, origins: Origins): Table {
  return imageTables(description).reduce<Table>((image, next) => mergeImage(image, next.image, next.file, origins), {});
}

function hasKey(value: unknown, dotted: string): boolean {
  let at: unknown = value;
  for (const part of dotted.split('.')) {
    if (!isTable(at) || !(part in at)) return false;
    at = at[part];
  }
  return true;
}

/** Every file's `requires`, with the file that says it. */
function requirements(description: DescriptionFile): { key: string; file: string }[] {
  return [...description.includes.flatMap(requirements), ...fileKeys(description.value, description.file).requires.map((key) => ({ key, file: description.file }))];
}

/**
 * The description of a file and everything it includes, merged (the including file wins) and
 * validated. A problem is a ConfigError naming the file it is in and the key.
 */
export function resolveDescription(description: DescriptionFile): ImageDescription {
  const origins: Origins = { partitions: [], files: [] };
  const image = mergedImage(description, origins);
  for (const { key, file } of requirements(description)) {
    if (!hasKey({ image }, key)) throw new ConfigError(description.file, key, `required by ${file}, which this description includes; set it`);
  }
  try {
    return validateConfig(descriptionSchema, { image }, description.file).image;
  } catch (error) {
    if (!(error instanceof ConfigError) || error.key === null) throw error;
    // An error inside a partition or a file entry names the file that set it.
    const match = /^image\.partition\.(\d+)(?:\.file\.(\d+))?/.exec(error.key);
    const where = match ? (match[2] !== undefined ? origins.files[Number(match[1])]?.[Number(match[2])] : origins.partitions[Number(match[1])]) : undefined;
    if (where && where !== error.file) throw new ConfigError(where, error.key, error.reason);
    throw error;
  }
}
