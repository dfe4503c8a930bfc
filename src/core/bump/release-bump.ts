/**
 * Bumping a recipe's release for a rebuild that changes nothing else (a mass rebuild after a soname
 * bump): the text of the files a bump merge request changes, per flavour.
 *
 * - Arch: `pkgrel` in PKGBUILD and in .SRCINFO, to the next whole number (`2.1` → `3`: a minor
 *   pkgrel marks a rebuild of only some architectures; a mass rebuild is a whole one).
 * - AOSC: `REL` in `spec`; an absent REL is 0 (autobuild's default), so it becomes `REL=1`.
 * - Debian: a new `debian/changelog` entry with the Debian revision incremented, the convention of
 *   a maintainer's no-change upload (`1.2-3` → `1.2-4`; after an NMU `1.2-3.1` → `1.2-4`). A binNMU
 *   suffix (`+b1`) is for binary-only uploads the archive makes without a source change, which this
 *   is not. A native package has no revision: it gets the Developer's Reference's `+nmuN`.
 */
import type { Flavour } from '../recipe/model.js';
import { splitDebianVersion } from '../version/dpkg.js';
import { InvalidVersionError } from '../version/errors.js';

/** Why a recipe cannot be bumped by rewriting its text; the message says what to do. */
export class BumpError extends Error {
  override name = 'BumpError';
}

/** A file's new text, and the release it went from and to. */
export interface BumpedText {
  text: string;
  from: string;
  to: string;
}

// makepkg's lint_pkgrel: a whole number, optionally with one minor part.
const PKGREL = /^[0-9]+(?:\.[0-9]+)?$/;
/** `pkgrel=` at the top level of a PKGBUILD (no indentation), its value plain or quoted. */
const PKGBUILD_PKGREL = /^pkgrel=(?:'([^'\n]*)'|"([^"\n$`\\]*)"|([^\s;#'"$`\\]*))[ \t]*(?:#.*)?$/gm;

/** The release after `pkgrel`. */
export function nextPkgrel(pkgrel: string): string {
  if (!PKGREL.test(pkgrel)) throw new BumpError(`pkgrel "${pkgrel}" is not a release makepkg accepts (a whole number, optionally .N)`);
  return String(Number(pkgrel.split('.')[0]) + 1);
}

/** PKGBUILD with its top-level `pkgrel=` set to the next release. */
export function bumpPkgbuild(text: string): BumpedText {
  const found = [...text.matchAll(PKGBUILD_PKGREL)];
  if (found.length === 0) {
    const computed = /^[ \t]*pkgrel=/m.test(text);
    throw new BumpError(computed ? 'PKGBUILD: pkgrel is not a plain top-level assignment (pkgrel=N); bump it by hand' : 'PKGBUILD: no pkgrel= line');
  }
  if (found.length > 1) throw new BumpError(`PKGBUILD: pkgrel is assigned ${found.length} times; bump it by hand`);
  const match = found[0]!;
  const from = match[1] ?? match[2] ?? match[3] ?? '';
  const to = nextPkgrel(from);
  const line = match[0].replace(/^pkgrel=(['"]?)[^'"\s;#]*\1/, `pkgrel=$1${to}$1`);
  return { text: text.slice(0, match.index) + line + text.slice(match.index + match[0].length), from, to };
}

/**
 * .SRCINFO with `pkgrel` set to `to`, as makepkg --printsrcinfo would print it for the bumped PKGBUILD
 * (pkgrel is a pkgbase field; makepkg does not let a package function override it).
 */
export function bumpSrcinfo(text: string, to: string): BumpedText {
  const lines = text.split('\n');
  const at = lines.flatMap((line, i) => (/^\s+pkgrel = /.test(line) ? [i] : []));
  if (at.length !== 1) throw new BumpError(`.SRCINFO: expected one "pkgrel = " line, found ${at.length}; run makepkg --printsrcinfo`);
  const line = lines[at[0]!]!;
  const from = line.slice(line.indexOf('=') + 1).trim();
  lines[at[0]!] = line.replace(/= .*$/, `= ${to}`);
  return { text: lines.join('\n'), from, to };
}

/** `REL=` in an abbs spec: plain or quoted, at the start of a line. */
const SPEC_REL = /^REL=(?:"([^"\n$`\\]*)"|'([^'\n]*)'|([^\s;#'"$`\\]*))[ \t]*$/gm;

/** An abbs `spec` with REL incremented; an absent REL (0) becomes `REL=1`, written after VER. */
export function bumpAoscSpec(text: string): BumpedText {
  const found = [...text.matchAll(SPEC_REL)];
  if (found.length > 1) throw new BumpError(`spec: REL is assigned ${found.length} times; bump it by hand`);
  if (found.length === 0) {
    if (/^[ \t]*REL=/m.test(text)) throw new BumpError('spec: REL is not a plain assignment (REL=N); bump it by hand');
    const ver = /^VER=.*$/m.exec(text);
    if (!ver) throw new BumpError('spec: no VER= line to put REL=1 after');
    const end = ver.index + ver[0].length;
    return { text: `${text.slice(0, end)}\nREL=1${text.slice(end)}`, from: '0', to: '1' };
  }
  const match = found[0]!;
  const from = match[1] ?? match[2] ?? match[3] ?? '';
  const to = incrementTrailingNumber(from === '' ? '0' : from, 'spec: REL');
  const quote = match[1] !== undefined ? '"' : match[2] !== undefined ? "'" : '';
  return { text: text.slice(0, match.index) + `REL=${quote}${to}${quote}` + text.slice(match.index + match[0].length), from: from || '0', to };
}

/** `0retro1` → `0retro2`, `3` → `4`. */
function incrementTrailingNumber(value: string, what: string): string {
  const digits = /(\d+)$/.exec(value);
  if (!digits) throw new BumpError(`${what} "${value}" does not end in a number to increment; bump it by hand`);
  return value.slice(0, digits.index) + String(BigInt(digits[1]!) + 1n);
}

/** The version of a Debian source's no-change rebuild (see the module comment). */
export function nextDebianVersion(version: string): string {
  let parts;
  try {
    parts = splitDebianVersion(version);
  } catch (error) {
    if (error instanceof InvalidVersionError) throw new BumpError(`debian/changelog: "${version}" is not a Debian version: ${error.message}`);
    throw error;
  }
  const epoch = parts.epoch ? `${parts.epoch}:` : '';
  if (!parts.hasRevision) {
    const nmu = /\+nmu(\d+)$/.exec(parts.upstream);
    const upstream = nmu ? `${parts.upstream.slice(0, nmu.index)}+nmu${Number(nmu[1]) + 1}` : `${parts.upstream}+nmu1`;
    return `${epoch}${upstream}`;
  }
  const revision = /^\d+(?:\.\d+)*$/.test(parts.revision)
    ? String(Number(parts.revision.split('.')[0]) + 1)
    : incrementTrailingNumber(parts.revision, 'debian/changelog: the Debian revision');
  return `${epoch}${parts.upstream}-${revision}`;
}

/** The first line of a changelog entry: `source (version) distributions; urgency=…`. */
const ENTRY_HEADER = /^([a-z0-9][a-z0-9+.-]+) \(([^()\s]+)\) ([^;]+);/;

/** An RFC 5322 date as debian/changelog's trailer wants it (`Thu, 21 Mar 2024 10:00:00 +0000`). */
export function changelogDate(at: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][at.getUTCDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][at.getUTCMonth()];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${day}, ${two(at.getUTCDate())} ${month} ${at.getUTCFullYear()} ${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} +0000`;
}

/**
 * debian/changelog with a no-change rebuild entry on top: the same source and distribution as the
 * newest entry, the next version, `reason` as its one change, `maintainer` ("Name <email>") and `at` in the trailer.
 */
export function bumpDebianChangelog(text: string, entry: { reason: string; maintainer: string; at: Date }): BumpedText {
  const header = ENTRY_HEADER.exec(text);
  if (!header) throw new BumpError('debian/changelog: the first line is not an entry header "source (version) distribution; urgency=…"');
  if (!/^[^<>\n]+ <[^<>\s]+@[^<>\s]+>$/.test(entry.maintainer)) throw new BumpError(`"${entry.maintainer}" is not a maintainer "Name <email>" for the changelog trailer`);
  const [, source, from, distributions] = header;
  const to = nextDebianVersion(from!);
  const added = [
    `${source} (${to}) ${distributions!.trim()}; urgency=medium`,
    '',
    `  * No-change rebuild: ${entry.reason}`,
    '',
    ` -- ${entry.maintainer}  ${changelogDate(entry.at)}`,
    '',
    '',
  ].join('\n');
  return { text: added + text, from: from!, to };
}

/** What a bump of one recipe writes: its files' new texts (paths relative to the recipe directory), and the release change. */
export interface RecipeBump {
  files: { path: string; content: string }[];
  from: string;
  to: string;
}

/** The files a flavour's bump reads and rewrites, relative to the recipe directory. */
export function bumpedFiles(flavour: Flavour): readonly string[] {
  return { pkgbuild: ['PKGBUILD', '.SRCINFO'], autobuild: ['spec'], debian: ['debian/changelog'] }[flavour];
}

/**
 * Bumps one recipe's release: `read` holds the texts of bumpedFiles(flavour) (a missing one is
 * absent). The changelog entry (Debian) says `reason`, signed by `maintainer` at `at`.
 */
export function bumpRecipe(flavour: Flavour, read: ReadonlyMap<string, string>, entry: { reason: string; maintainer: string | null; at: Date }): RecipeBump {
  const file = (path: string): string => {
    const text = read.get(path);
    if (text === undefined) throw new BumpError(`${path} is missing`);
    return text;
  };
  if (flavour === 'pkgbuild') {
    const pkgbuild = bumpPkgbuild(file('PKGBUILD'));
    const srcinfo = bumpSrcinfo(file('.SRCINFO'), pkgbuild.to);
    if (srcinfo.from !== pkgbuild.from) throw new BumpError(`.SRCINFO says pkgrel ${srcinfo.from}, PKGBUILD ${pkgbuild.from}: run makepkg --printsrcinfo first`);
    return { files: [{ path: 'PKGBUILD', content: pkgbuild.text }, { path: '.SRCINFO', content: srcinfo.text }], from: pkgbuild.from, to: pkgbuild.to };
  }
  if (flavour === 'autobuild') {
    const spec = bumpAoscSpec(file('spec'));
    return { files: [{ path: 'spec', content: spec.text }], from: spec.from, to: spec.to };
  }
  if (entry.maintainer === null) throw new BumpError('a Debian changelog entry needs a maintainer "Name <email>": give one with the bump');
  const changelog = bumpDebianChangelog(file('debian/changelog'), { reason: entry.reason, maintainer: entry.maintainer, at: entry.at });
  return { files: [{ path: 'debian/changelog', content: changelog.text }], from: changelog.from, to: changelog.to };
}
