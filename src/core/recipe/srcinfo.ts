/**
 * Arch `.SRCINFO` (as `makepkg --printsrcinfo` writes it) into the recipe model: a `pkgbase`
 * section with the source's fields, then one `pkgname` section per binary whose keys replace the
 * pkgbase value for that binary (an empty `key = ` clears it). Per-architecture keys
 * (`depends_x86_64`) add to the generic list on that architecture and are overridden on their own.
 */
import { tryParseVersion } from '../version/index.js';
import type { ArchRestriction, BinaryPackage, DependencyClause, PackageVersion, ParseIssue, ParseResult, Provide, SourcePackage, TextFile } from './model.js';
import { parsePacmanDependency, parsePacmanProvide } from './pacman-dependency.js';

/** One `key = value` line. */
interface Entry {
  value: string;
  line: number;
}

/** A `pkgbase` or `pkgname` section: its header and its keys, in order, each with every value given. */
interface Section {
  kind: 'pkgbase' | 'pkgname';
  name: string;
  line: number;
  fields: Map<string, Entry[]>;
}

/** Keys that may carry an `_<arch>` suffix (makepkg's arch-specific arrays). */
const ARCH_SPECIFIC = new Set([
  'source', 'depends', 'makedepends', 'checkdepends', 'optdepends', 'provides', 'conflicts', 'replaces',
  'cksums', 'md5sums', 'sha1sums', 'sha224sums', 'sha256sums', 'sha384sums', 'sha512sums', 'b2sums',
]);

/** Keys that hold one value; giving one twice is a mistake worth reporting. */
const SINGLE_VALUED = new Set(['pkgver', 'pkgrel', 'epoch', 'pkgdesc', 'url', 'install', 'changelog']);

// makepkg's lint_pkgname: alphanumerics and @._+-, not starting with a hyphen or a dot.
const PACKAGE_NAME = /^[A-Za-z0-9@_+][A-Za-z0-9@._+-]*$/;
const LINE = /^\s*([a-z][a-z0-9_]*) =(?: (.*))?$/;

/** Splits `depends_x86_64` into the base key and the architecture; a plain key has none. */
function splitKey(key: string): { base: string; arch: string | null } {
  const underscore = key.indexOf('_');
  if (underscore > 0 && ARCH_SPECIFIC.has(key.slice(0, underscore))) return { base: key.slice(0, underscore), arch: key.slice(underscore + 1) };
  return { base: key, arch: null };
}

/** Reads the lines into sections, reporting lines that are not `key = value` and keys outside any section. */
function readSections(text: string, file: string, issues: ParseIssue[]): Section[] {
  const sections: Section[] = [];
  let current: Section | null = null;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
    const match = LINE.exec(raw);
    if (!match) {
      issues.push({ file, line, message: `not a 'key = value' line: '${raw.trim()}'` });
      return;
    }
    const key = match[1] as string;
    const value = (match[2] ?? '').trim();
    if (key === 'pkgbase' || key === 'pkgname') {
      current = { kind: key, name: value, line, fields: new Map() };
      sections.push(current);
      return;
    }
    if (!current) {
      issues.push({ file, line, message: `'${key}' is outside any section: a .SRCINFO starts with 'pkgbase = NAME'` });
      return;
    }
    const entries = current.fields.get(key);
    if (entries) entries.push({ value, line });
    else current.fields.set(key, [{ value, line }]);
  });
  return sections;
}

/** Keys makepkg writes only under pkgbase: a pkgname section cannot override them. */
const SOURCE_KEYS = new Set([
  'pkgver', 'pkgrel', 'epoch', 'makedepends', 'checkdepends', 'source', 'noextract', 'validpgpkeys',
  'cksums', 'md5sums', 'sha1sums', 'sha224sums', 'sha256sums', 'sha384sums', 'sha512sums', 'b2sums',
]);

/**
 * Checks the sections' order and contents; answers the pkgbase section and the pkgname sections
 * worth using. A section with an invalid name is still read, so that one bad name does not hide the rest.
 */
function checkSections(sections: Section[], file: string, issues: ParseIssue[]): { base: Section | null; packages: Section[] } {
  let base: Section | null = null;
  const packages: Section[] = [];
  for (const section of sections) {
    if (!PACKAGE_NAME.test(section.name)) issues.push({ file, line: section.line, message: `${section.kind} '${section.name}' is not a valid package name` });
    if (section.kind === 'pkgbase') {
      if (base) issues.push({ file, line: section.line, message: `a second pkgbase section ('${section.name}'); a .SRCINFO describes one pkgbase` });
      else base = section;
    } else if (!base) {
      issues.push({ file, line: section.line, message: `pkgname section '${section.name}' comes before the pkgbase section` });
    } else if (packages.some((pkg) => pkg.name === section.name)) {
      issues.push({ file, line: section.line, message: `pkgname '${section.name}' is given twice` });
    } else {
      packages.push(section);
    }
  }
  for (const section of [...(base ? [base] : []), ...packages]) {
    for (const [key, entries] of section.fields) {
      if (SINGLE_VALUED.has(key) && entries.length > 1) {
        issues.push({ file, line: (entries[1] as Entry).line, message: `'${key}' is given more than once in ${section.kind} '${section.name}'` });
      }
      if (splitKey(key).arch === '') {
        issues.push({ file, line: (entries[0] as Entry).line, message: `'${key}' names no architecture after the underscore; it is ignored` });
        section.fields.delete(key);
      }
      if (section.kind === 'pkgname' && SOURCE_KEYS.has(splitKey(key).base)) {
        issues.push({ file, line: (entries[0] as Entry).line, message: `'${key}' belongs to the pkgbase section; pkgname '${section.name}' cannot override it` });
      }
    }
  }
  return { base, packages };
}

/** The pkgbase's version from epoch, pkgver and pkgrel; null (with an issue) when one is missing or malformed. */
function readVersion(base: Section, file: string, issues: ParseIssue[]): PackageVersion | null {
  const first = (key: string): Entry | undefined => base.fields.get(key)?.[0];
  const [pkgver, pkgrel, epoch] = [first('pkgver'), first('pkgrel'), first('epoch')];
  if (!pkgver || pkgver.value === '') {
    issues.push({ file, line: pkgver?.line ?? base.line, message: `pkgbase '${base.name}' has no pkgver` });
    return null;
  }
  if (!pkgrel || pkgrel.value === '') {
    issues.push({ file, line: pkgrel?.line ?? base.line, message: `pkgbase '${base.name}' has no pkgrel` });
    return null;
  }
  const text = `${epoch && epoch.value !== '' ? `${epoch.value}:` : ''}${pkgver.value}-${pkgrel.value}`;
  const parsed = tryParseVersion('pkgbuild', text);
  // A colon in pkgver would read as an epoch: the parts must come back as given.
  const intact = parsed.ok && parsed.version.upstream === pkgver.value && parsed.version.release === pkgrel.value;
  if (!intact) {
    const reason = parsed.ok ? 'pkgver may not contain colons, slashes or hyphens' : parsed.error.reason;
    const part = parsed.ok ? 'upstream' : parsed.error.part;
    const line = part === 'epoch' ? (epoch ?? pkgver).line : part === 'release' ? pkgrel.line : pkgver.line;
    issues.push({ file, line, message: `invalid version '${text}': ${reason}` });
    return null;
  }
  return parsed.version;
}

/** The values of one key for a binary: the pkgname section's own if it gives the key (even empty), else the pkgbase's. */
function effective(key: string, base: Section, pkg: Section | null): Entry[] {
  const own = pkg?.fields.get(key);
  return (own ?? base.fields.get(key) ?? []).filter((entry) => entry.value !== '');
}

/** The architectures that have `<key>_<arch>` lists in either section, in order of appearance. */
function archesOf(key: string, sections: (Section | null)[]): string[] {
  const arches: string[] = [];
  for (const section of sections) {
    for (const field of section?.fields.keys() ?? []) {
      const split = splitKey(field);
      if (split.base === key && split.arch !== null && !arches.includes(split.arch)) arches.push(split.arch);
    }
  }
  return arches;
}

/** Each value of a key (generic, then per architecture), with the architecture restriction it came with. */
function entriesWithArches(key: string, base: Section, pkg: Section | null): { entry: Entry; arches?: ArchRestriction }[] {
  const result: { entry: Entry; arches?: ArchRestriction }[] = effective(key, base, pkg).map((entry) => ({ entry }));
  for (const arch of archesOf(key, [base, pkg])) {
    for (const entry of effective(`${key}_${arch}`, base, pkg)) result.push({ entry, arches: { negated: false, arches: [arch] } });
  }
  return result;
}

/** A key's dependency list for a binary (or the source when `pkg` is null); unreadable entries become issues. */
function dependencies(key: string, base: Section, pkg: Section | null, file: string, issues: ParseIssue[]): DependencyClause[] {
  const clauses: DependencyClause[] = [];
  for (const { entry, arches } of entriesWithArches(key, base, pkg)) {
    const read = parsePacmanDependency(entry.value);
    if (!read.ok) issues.push({ file, line: entry.line, message: `${key}: ${read.reason}${read.unversioned ? '; kept without a version constraint' : ''}` });
    const dependency = read.ok ? read.dependency : read.unversioned;
    if (dependency) clauses.push([arches ? { ...dependency, arches } : dependency]);
  }
  return clauses;
}

function provides(base: Section, pkg: Section, file: string, issues: ParseIssue[]): Provide[] {
  const result: Provide[] = [];
  for (const { entry, arches } of entriesWithArches('provides', base, pkg)) {
    const read = parsePacmanProvide(entry.value);
    if (!read.ok) issues.push({ file, line: entry.line, message: `${read.reason}${read.unversioned ? '; kept without a version' : ''}` });
    const provide = read.ok ? read.provide : read.unversioned;
    if (provide) result.push(arches ? { ...provide, arches } : provide);
  }
  return result;
}

function binary(base: Section, pkg: Section, file: string, issues: ParseIssue[]): BinaryPackage {
  const deps = (key: string): DependencyClause[] => dependencies(key, base, pkg, file, issues);
  return {
    name: pkg.name,
    architectures: effective('arch', base, pkg).map((entry) => entry.value),
    depends: deps('depends'),
    preDepends: [],
    optionalDepends: deps('optdepends'),
    provides: provides(base, pkg, file, issues),
    conflicts: deps('conflicts'),
    replaces: deps('replaces'),
    breaks: [],
  };
}

/** Parses one `.SRCINFO` into a source package (flavour `pkgbuild`); every problem is an issue with its line, nothing throws. */
export function parseSrcinfo(text: string, file: string): ParseResult<SourcePackage> {
  const issues: ParseIssue[] = [];
  const { base, packages } = checkSections(readSections(text, file, issues), file, issues);
  if (!base) {
    issues.push({ file, line: 1, message: "no pkgbase section: a .SRCINFO starts with 'pkgbase = NAME'" });
    return { value: null, issues };
  }
  const version = readVersion(base, file, issues);
  if (packages.length === 0) issues.push({ file, line: base.line, message: `pkgbase '${base.name}' has no pkgname section` });
  const architectures = effective('arch', base, null).map((entry) => entry.value);
  if (architectures.length === 0) issues.push({ file, line: base.line, message: `pkgbase '${base.name}' has no arch` });
  const binaries = packages.map((pkg) => binary(base, pkg, file, issues));
  const buildDepends = dependencies('makedepends', base, null, file, issues);
  const checkDepends = dependencies('checkdepends', base, null, file, issues);
  const namesValid = [base, ...packages].every((section) => PACKAGE_NAME.test(section.name));
  if (!version || packages.length === 0 || !namesValid) return { value: null, issues };
  const extra: Record<string, string> = {};
  for (const key of ['pkgdesc', 'url']) {
    const value = base.fields.get(key)?.[0]?.value;
    if (value) extra[key] = value;
  }
  return {
    value: {
      flavour: 'pkgbuild',
      pkgbase: base.name,
      version,
      architectures,
      binaries,
      buildDepends,
      buildDependsArch: [],
      buildDependsIndep: [],
      checkDepends,
      buildConflicts: [],
      location: { file, line: base.line },
      extra,
    },
    issues,
  };
}

/** Whether a tree path is a `.SRCINFO` file. */
export function isSrcinfoPath(path: string): boolean {
  return path === '.SRCINFO' || path.endsWith('/.SRCINFO');
}

/** Parses every `.SRCINFO` of a recipe tree (e.g. `archlinuxcn/foo/.SRCINFO`); other files are ignored. */
export function parseSrcinfoTree(files: TextFile[]): { packages: SourcePackage[]; issues: ParseIssue[] } {
  const packages: SourcePackage[] = [];
  const issues: ParseIssue[] = [];
  for (const file of files) {
    if (!isSrcinfoPath(file.path)) continue;
    const result = parseSrcinfo(file.text, file.path);
    if (result.value) packages.push(result.value);
    issues.push(...result.issues);
  }
  return { packages, issues };
}
