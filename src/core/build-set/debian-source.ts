/**
 * A Debian source package as a build publishes it (`[build] deb_build_type = "full"`): its `.dsc` and
 * the files the `.dsc` lists (the orig tarball and `.debian.tar.*`, or a native `.tar.*`). Each file is
 * checked by name when it arrives; the `.dsc`, which comes last, must be of the build's source at its
 * version and list exactly the source files the build uploaded, with their checksums and sizes. A
 * source file arriving after the `.dsc` (a retried upload) must be the one it lists.
 */
import { readDeb822 } from '../recipe/deb822.js';

const NAME = '([a-z0-9][a-z0-9.+-]+)';
const VERSION = '([A-Za-z0-9.+~-]+)';
const COMPRESSED = '(?:gz|xz|bz2|lzma)';

/** The parts of a source package quarters takes, tried in this order (a native `.tar.*` would also match the others' names). */
const PARTS: readonly [SourcePart, RegExp][] = [
  ['dsc', new RegExp(`^${NAME}_${VERSION}\\.dsc$`)],
  ['orig', new RegExp(`^${NAME}_${VERSION}\\.orig\\.tar\\.${COMPRESSED}$`)],
  ['debian', new RegExp(`^${NAME}_${VERSION}\\.debian\\.tar\\.${COMPRESSED}$`)],
  ['diff', new RegExp(`^${NAME}_${VERSION}\\.diff\\.gz$`)],
  // An orig tarball of a component (`.orig-NAME.tar.*`, not taken) is no native tarball either.
  ['native', new RegExp(`^${NAME}_(?![^_]*\\.orig)${VERSION}\\.tar\\.${COMPRESSED}$`)],
];

/** Which file of a source package: the `.dsc`, the upstream (orig) tarball, the Debian changes (`.debian.tar.*`, 1.0's `.diff.gz`), or a native source's one tarball. */
export type SourcePart = 'dsc' | 'orig' | 'debian' | 'diff' | 'native';

/** A source package's file name taken apart: `version` is the upstream version for the orig tarball, else the version without its epoch. */
export interface SourceFileName {
  source: string;
  version: string;
  part: SourcePart;
}

/** The source package file `filename` names, or null when it names none. */
export function sourceFileName(filename: string): SourceFileName | null {
  for (const [part, pattern] of PARTS) {
    const match = pattern.exec(filename);
    if (match) return { source: match[1]!, version: match[2]!, part };
  }
  return null;
}

/** The version without its epoch, as file names carry it. */
const withoutEpoch = (version: string): string => version.slice(version.indexOf(':') + 1);
/** The upstream part of a Debian version: no epoch, no Debian revision. */
const upstreamOf = (version: string): string => {
  const plain = withoutEpoch(version);
  const dash = plain.lastIndexOf('-');
  return dash < 0 ? plain : plain.slice(0, dash);
};

/** Why a source file's name is not one of the build's source package (its source, at its version), or null when it is. */
export function sourceFileNameProblem(named: SourceFileName, build: { pkgbase: string; version: string }): string | null {
  const expected = named.part === 'orig' ? upstreamOf(build.version) : withoutEpoch(build.version);
  if (named.source !== build.pkgbase || named.version !== expected) {
    const what = named.part === 'orig' ? 'upstream version' : 'version';
    return `it is named for ${named.source} at ${what} ${named.version}, but the build is of ${build.pkgbase} at ${what} ${expected}`;
  }
  return null;
}

/** A file a `.dsc` lists (Checksums-Sha256), or a file a build uploaded. */
export interface SourceFile {
  filename: string;
  sha256: string;
  size: number;
}

/** What a `.dsc` says: its source, version, format and files. */
export interface Dsc {
  source: string;
  version: string;
  format: string;
  files: SourceFile[];
}

/** Reads an unsigned `.dsc` (dpkg-source's, as `dpkg-buildpackage -us -uc` leaves it); returns why it is refused, or what it says. */
export function parseDsc(text: string, filename: string): { ok: true; value: Dsc } | { ok: false; reason: string } {
  if (text.startsWith('-----BEGIN PGP')) return { ok: false, reason: `${filename} is signed; the build driver writes an unsigned .dsc (dpkg-buildpackage -us -uc)` };
  const { paragraphs, issues } = readDeb822(text, { file: filename });
  if (issues.length || paragraphs.length !== 1) return { ok: false, reason: `${filename} is not one deb822 paragraph${issues[0] ? ` (line ${issues[0].line}: ${issues[0].message})` : ''}` };
  const value = (name: string) => paragraphs[0]!.fields.get(name.toLowerCase())?.value.trim();
  const [source, version, format, checksums] = [value('Source'), value('Version'), value('Format'), value('Checksums-Sha256')];
  if (!source || !version || !format || !checksums) return { ok: false, reason: `${filename} lacks Source, Version, Format or Checksums-Sha256` };
  const files: SourceFile[] = [];
  for (const line of checksums.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const match = /^([0-9a-f]{64}) (\d{1,15}) (\S+)$/.exec(line);
    if (!match) return { ok: false, reason: `${filename}: "${line}" in Checksums-Sha256 is not "SHA256 SIZE NAME"` };
    files.push({ sha256: match[1]!, size: Number(match[2]), filename: match[3]! });
  }
  return { ok: true, value: { source, version, format, files } };
}

/** Why a `.dsc` is refused: it says it is another than its name (`misnamed`), it is not the build's (`foreign`), or its files are not the ones uploaded (`mismatch`). */
export interface DscProblem {
  kind: 'misnamed' | 'foreign' | 'mismatch';
  reason: string;
}

/**
 * Why a `.dsc` may not be the build's (null when it may): of the build's source at its version, each
 * file it lists one of that source package's, and those files exactly the source files the build
 * uploaded (`uploaded`: the build's files so far, any kind), with the same checksums and sizes.
 */
export function dscProblem(dsc: Dsc, named: SourceFileName, build: { pkgbase: string; version: string }, sameVersion: (a: string, b: string) => boolean, uploaded: readonly SourceFile[]): DscProblem | null {
  if (dsc.source !== named.source || withoutEpoch(dsc.version) !== named.version) return { kind: 'misnamed', reason: `it is named for ${named.source} ${named.version}, but it says it is of ${dsc.source} ${dsc.version}` };
  if (dsc.source !== build.pkgbase || !sameVersion(dsc.version, build.version)) return { kind: 'foreign', reason: `it is the source package of ${dsc.source} ${dsc.version}, but the build is of ${build.pkgbase} ${build.version}` };
  for (const file of dsc.files) {
    const listed = sourceFileName(file.filename);
    const problem = !listed || listed.part === 'dsc' ? 'no file of a source package quarters takes (an orig tarball, a .debian.tar, a .diff.gz or a native tarball)' : sourceFileNameProblem(listed, build);
    if (problem) return { kind: 'foreign', reason: `it lists ${file.filename}: ${problem}` };
  }
  const sources = uploaded.filter((f) => { const part = sourceFileName(f.filename)?.part; return part !== undefined && part !== 'dsc'; });
  const missing = dsc.files.filter((f) => !sources.some((u) => u.filename === f.filename));
  if (missing.length) return { kind: 'mismatch', reason: `it lists ${missing.map((f) => f.filename).join(', ')}, which the build has not uploaded (a source package's files come before its .dsc)` };
  const extra = sources.filter((u) => !dsc.files.some((f) => f.filename === u.filename));
  if (extra.length) return { kind: 'mismatch', reason: `the build uploaded ${extra.map((f) => f.filename).join(', ')}, which it does not list` };
  for (const file of dsc.files) {
    const problem = listedFileProblem(dsc, file.filename, sources.find((u) => u.filename === file.filename)!);
    if (problem) return { kind: 'mismatch', reason: problem };
  }
  return null;
}

/** Why an uploaded source file is not the one the `.dsc` lists under its name (null when it is). */
export function listedFileProblem(dsc: Dsc, filename: string, uploaded: Pick<SourceFile, 'sha256' | 'size'>): string | null {
  const listed = dsc.files.find((f) => f.filename === filename);
  if (!listed) return `the build's ${dsc.source}_${withoutEpoch(dsc.version)}.dsc does not list ${filename}`;
  if (listed.sha256 !== uploaded.sha256 || listed.size !== uploaded.size) {
    return `${filename} has sha256 ${uploaded.sha256} (${uploaded.size} bytes), but the .dsc lists sha256 ${listed.sha256} (${listed.size} bytes)`;
  }
  return null;
}

/** The order a build's files are uploaded in: a `.dsc` after every other file, so that what it lists is there when it arrives. */
export function uploadOrder(filenames: readonly string[]): string[] {
  const last = (name: string) => (sourceFileName(name)?.part === 'dsc' ? 1 : 0);
  return [...filenames].sort((a, b) => last(a) - last(b) || (a < b ? -1 : a > b ? 1 : 0));
}
