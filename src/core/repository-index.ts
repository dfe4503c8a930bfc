/**
 * Reading the index of a build set's repository for what it names: each package's file name, size
 * and sha256. Two formats, as the server writes them (ARCHITECTURE.md): a pacman database (`repo-add`;
 * one `NAME-VERSION/desc` entry per package with `%FILENAME%`, `%CSIZE%`, `%SHA256SUM%`) and an apt
 * flat repository (`apt-ftparchive`: `Packages` stanzas with `Filename`, `Size`, `SHA256`, and a
 * `Release` that lists `Packages` with its sha256). Pure: the caller fetches and unpacks the files.
 */
import { readDeb822 } from './recipe/deb822.js';

/** A package the index names, and what its file must be. */
export interface IndexedPackage {
  filename: string;
  size: number;
  sha256: string;
}

/** An index that cannot be read, or that names something a repository cannot hold. */
export class RepositoryIndexError extends Error {
  override name = 'RepositoryIndexError';
}

const SHA256 = /^[0-9a-f]{64}$/;
const PLAIN_NAME = /^[A-Za-z0-9_+@][A-Za-z0-9._+@:~-]{0,254}$/;

/** Whether `name` is a plain file name: one path component, not hidden, no `..`, nothing a shell or URL would mangle. */
export function isPlainFileName(name: string): boolean {
  return PLAIN_NAME.test(name) && !name.includes('..');
}

/** One package from its fields; `where` names the entry in messages. */
function indexedPackage(where: string, fields: { filename: string | undefined; size: string | undefined; sha256: string | undefined }, names: { filename: string; size: string; sha256: string }): IndexedPackage {
  const { filename, size, sha256 } = fields;
  if (filename === undefined || filename === '') throw new RepositoryIndexError(`${where}: no ${names.filename}`);
  if (!isPlainFileName(filename)) throw new RepositoryIndexError(`${where}: ${names.filename} "${filename}" is not a plain file name`);
  if (size === undefined || !/^\d{1,15}$/.test(size)) throw new RepositoryIndexError(`${where}: ${names.size} ${size === undefined ? 'is missing' : `"${size}" is not a size in bytes`}`);
  const hash = sha256?.toLowerCase();
  if (hash === undefined || !SHA256.test(hash)) throw new RepositoryIndexError(`${where}: ${names.sha256} ${hash === undefined ? 'is missing' : `"${hash}" is not a sha256`}`);
  return { filename, size: Number(size), sha256: hash };
}

/** The packages, each file once; two entries naming one file with different contents is an error. */
function distinct(packages: IndexedPackage[], index: string): IndexedPackage[] {
  const byName = new Map<string, IndexedPackage>();
  for (const p of packages) {
    const seen = byName.get(p.filename);
    if (seen && (seen.sha256 !== p.sha256 || seen.size !== p.size)) throw new RepositoryIndexError(`${index} names ${p.filename} twice, with different checksums`);
    byName.set(p.filename, p);
  }
  return [...byName.values()];
}

/** The `%KEY%` sections of a pacman `desc` file: each key's lines. */
export function pacmanDescFields(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of text.split('\n')) {
    const key = /^%([A-Z0-9]+)%$/.exec(line);
    if (key) {
      current = [];
      fields.set(key[1]!, current);
    } else if (line === '') current = null;
    else current?.push(line);
  }
  return fields;
}

/** The packages of a pacman database, from its entries (path in the archive, text); `desc` entries are read, the rest ignored. */
export function pacmanDbPackages(entries: readonly { path: string; text: string }[], db = 'the pacman database'): IndexedPackage[] {
  const packages: IndexedPackage[] = [];
  for (const entry of entries) {
    if (!/^[^/]+\/desc$/.test(entry.path)) continue;
    const fields = pacmanDescFields(entry.text);
    const one = (key: string) => fields.get(key)?.[0];
    packages.push(indexedPackage(`${db}: ${entry.path}`, { filename: one('FILENAME'), size: one('CSIZE'), sha256: one('SHA256SUM') }, { filename: '%FILENAME%', size: '%CSIZE%', sha256: '%SHA256SUM%' }));
  }
  return distinct(packages, db);
}

/** The packages of an apt flat repository's `Packages` file. */
export function aptPackages(text: string, file = 'Packages'): IndexedPackage[] {
  const { paragraphs, issues } = readDeb822(text, { file, fields: ['Package', 'Filename', 'Size', 'SHA256'] });
  if (issues.length) throw new RepositoryIndexError(`${file}:${issues[0]!.line}: ${issues[0]!.message}`);
  const packages = paragraphs.map((p) => {
    const value = (name: string) => p.fields.get(name)?.value;
    // apt-ftparchive names the files of a flat repository relative to it: "./NAME_VERSION_ARCH.deb".
    const filename = value('filename')?.replace(/^\.\//, '');
    return indexedPackage(`${file}:${p.line} (${value('package') ?? 'no Package'})`, { filename, size: value('size'), sha256: value('sha256') }, { filename: 'Filename', size: 'Size', sha256: 'SHA256' });
  });
  return distinct(packages, file);
}

/** What an apt `Release` file's SHA256 list says of `name` (e.g. "Packages"), or null when it does not list it. */
export function aptReleaseEntry(text: string, name: string, file = 'Release'): { sha256: string; size: number } | null {
  const { paragraphs, issues } = readDeb822(text, { file, fields: ['SHA256'] });
  if (issues.length) throw new RepositoryIndexError(`${file}:${issues[0]!.line}: ${issues[0]!.message}`);
  const list = paragraphs[0]?.fields.get('sha256')?.value ?? '';
  for (const line of list.split('\n')) {
    const [hash, size, path] = line.trim().split(/\s+/);
    if (path !== name) continue;
    if (!hash || !SHA256.test(hash.toLowerCase()) || !size || !/^\d+$/.test(size)) throw new RepositoryIndexError(`${file}: the SHA256 line of ${name} is malformed: "${line.trim()}"`);
    return { sha256: hash.toLowerCase(), size: Number(size) };
  }
  return null;
}

/** A package as a distribution repository's index names it: what a release compares with (src/core/release). */
export interface IndexedRecord {
  name: string;
  version: string;
  arch: string;
  filename: string;
  /** The source package (pacman %BASE%, apt Source without its version); null when the index does not say. */
  base: string | null;
}

/** The packages of a pacman database with their names, versions and bases, from its `desc` entries. */
export function pacmanDbRecords(entries: readonly { path: string; text: string }[], db = 'the pacman database'): IndexedRecord[] {
  const records: IndexedRecord[] = [];
  for (const entry of entries) {
    if (!/^[^/]+\/desc$/.test(entry.path)) continue;
    const fields = pacmanDescFields(entry.text);
    const one = (key: string) => fields.get(key)?.[0];
    const [name, version, filename] = [one('NAME'), one('VERSION'), one('FILENAME')];
    if (!name || !version || !filename) throw new RepositoryIndexError(`${db}: ${entry.path} lacks %NAME%, %VERSION% or %FILENAME%`);
    records.push({ name, version, arch: one('ARCH') ?? '', filename, base: one('BASE') ?? null });
  }
  return records;
}

/** The packages of an apt `Packages` file with their names, versions and sources. */
export function aptPackageRecords(text: string, file = 'Packages'): IndexedRecord[] {
  const { paragraphs, issues } = readDeb822(text, { file, fields: ['Package', 'Version', 'Architecture', 'Filename', 'Source'] });
  if (issues.length) throw new RepositoryIndexError(`${file}:${issues[0]!.line}: ${issues[0]!.message}`);
  return paragraphs.map((p) => {
    const value = (name: string) => p.fields.get(name)?.value;
    const [name, version, filename] = [value('package'), value('version'), value('filename')?.replace(/^\.\//, '')];
    if (!name || !version || !filename) throw new RepositoryIndexError(`${file}:${p.line}: a stanza lacks Package, Version or Filename`);
    // A binary package without a Source field is built from the source package of its own name.
    const source = value('source')?.split(/\s+/)[0] ?? name;
    return { name, version, arch: value('architecture') ?? '', filename, base: source };
  });
}
