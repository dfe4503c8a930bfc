/**
 * A package's entry in a pacman repository database, as repo-add (pacman 6) writes it: the directory
 * `NAME-VERSION` with a `desc` file in the `db` database, and `desc` plus `files` in the `files`
 * database. quarters writes these itself so that a package is read once, while it is uploaded, instead
 * of three more times by repo-add (md5sum, sha256sum, bsdtar -t); test/server/pacman-index.test.ts
 * compares the result with real repo-add's. One difference: no `%MD5SUM%` (pacman verifies
 * `%SHA256SUM%`, and md5 would cost the upload more CPU time than sha256). Pure: the caller reads the
 * package's .PKGINFO and file list.
 */

/** A .PKGINFO's fields, each key's values in order (a scalar key repeated: the last one counts, as in repo-add). */
export type Pkginfo = ReadonlyMap<string, readonly string[]>;

/** The .PKGINFO keys repo-add collects as lists; every other key is a scalar. */
const LIST_KEYS = ['group', 'license', 'replaces', 'depend', 'conflict', 'provides', 'optdepend', 'makedepend', 'checkdepend'] as const;

/** A scalar key's value (the last, when the key is repeated, as repo-add reads it); '' when absent. */
export const pkginfoValue = (pkginfo: Pkginfo, key: string): string => pkginfo.get(key)?.at(-1) ?? '';

/**
 * Reads .PKGINFO text the way repo-add does (`IFS=' =' read -r var val`, then each run of white space
 * made one space): comments skipped, the key up to the first space or `=`, the value after ` = `.
 */
export function parsePkginfo(text: string): Pkginfo {
  const fields = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (line === '' || line.startsWith('#')) continue;
    const key = /^[^ =]*/.exec(line)![0];
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    const value = line
      .slice(key.length)
      .replace(/^ *=? */, '')
      .replace(/ +$/, '')
      .replace(/\s+/g, ' ');
    const values = fields.get(key);
    if (values && (LIST_KEYS as readonly string[]).includes(key)) values.push(value);
    else fields.set(key, [value]);
  }
  return fields;
}

/** What a desc file says besides the .PKGINFO: the file's name, its size in bytes and its sha256. */
export interface PackageFileFacts {
  filename: string;
  size: number;
  sha256: string;
}

/** A package's .PKGINFO lacks pkgname or pkgver: repo-add calls it an invalid package file. */
export class PkginfoError extends Error {
  override name = 'PkginfoError';
}

/** The entry's directory name in both databases: `pkgname-pkgver`. */
export function entryName(pkginfo: Pkginfo): string {
  const name = pkginfoValue(pkginfo, 'pkgname');
  const version = pkginfoValue(pkginfo, 'pkgver');
  if (!name || !version) throw new PkginfoError('the package\'s .PKGINFO lacks pkgname or pkgver');
  return `${name}-${version}`;
}

/** Whether `entry` (a `NAME-VERSION-RELEASE` directory) is an entry of `pkgname`, as repo-add's find_pkgentry decides. */
export function isEntryOf(entry: string, pkgname: string): boolean {
  return entry.replace(/-[^-]*-[^-]*$/, '') === pkgname;
}


/** One `%FIELD%` section; none when its first value is empty (repo-add's format_entry). */
function section(field: string, values: readonly string[]): string {
  if (!values[0]) return '';
  return `%${field}%\n${values.join('\n')}\n\n`;
}

/** The `desc` file of a package, field for field in repo-add's order. */
export function descText(pkginfo: Pkginfo, file: PackageFileFacts): string {
  const list = (key: string) => pkginfo.get(key) ?? [];
  const one = (key: string) => [pkginfoValue(pkginfo, key)];
  entryName(pkginfo);
  return [
    section('FILENAME', [file.filename]),
    section('NAME', one('pkgname')),
    section('BASE', one('pkgbase')),
    section('VERSION', one('pkgver')),
    section('DESC', one('pkgdesc')),
    section('GROUPS', list('group')),
    section('CSIZE', [String(file.size)]),
    section('ISIZE', one('size')),
    section('SHA256SUM', [file.sha256]),
    section('URL', one('url')),
    section('LICENSE', list('license')),
    section('ARCH', one('arch')),
    section('BUILDDATE', one('builddate')),
    section('PACKAGER', one('packager')),
    section('REPLACES', list('replaces')),
    section('CONFLICTS', list('conflict')),
    section('PROVIDES', list('provides')),
    section('DEPENDS', list('depend')),
    section('OPTDEPENDS', list('optdepend')),
    section('MAKEDEPENDS', list('makedepend')),
    section('CHECKDEPENDS', list('checkdepend')),
  ].join('');
}

/** Orders strings by code point, which is the byte order of their UTF-8 (C locale's sort). */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * The `files` file of a package from its archive's listing (`bsdtar --exclude='^.*' -tf`, one path a
 * line): `%FILES%`, then the paths sorted by byte value, each once (repo-add: `LC_ALL=C sort -u`).
 */
export function filesText(listing: readonly string[]): string {
  const paths = [...new Set(listing.filter((p) => p !== ''))].sort(byCodePoint);
  return `%FILES%\n${paths.map((p) => `${p}\n`).join('')}`;
}
