/**
 * The AOSC abbs recipe parser (flavour `autobuild`): a package directory `section/pkg/` with a
 * `spec` (VER, REL, SRCS, CHKSUMS…) and either `autobuild/defines` (one package) or a package
 * group of `NN-name/defines` (several packages built in order from the same sources, as ACBS
 * finds them), turned into the one recipe model.
 *
 * The files are read as autobuild reads them (see `abbs-shell.ts`): `defines` sees `spec`'s
 * variables and `PKGVER`/`PKGREL`, which ACBS sets. Dependency lists follow autobuild's dpkg
 * backend: `name`, `name_` (no version), `name<<v`, `name<=v`, `name==v`, `name>=v`, `name>>v`;
 * `@...@` placeholders and the package's own name are skipped; `name_spiral` is a Debian
 * compatibility name at the package's own version with epoch `PKGEPOCH_SPIRAL` (default 0).
 */
import type { BinaryPackage, Dependency, DependencyClause, PackageVersion, ParseIssue, ParseResult, Provide, SourcePackage, TextFile, VersionOperator } from './model.js';
import { readShellVariables, type ShellScope, type ShellVariable } from './abbs-shell.js';
import { AOSC_ARCHITECTURES, resolveArchOverrides } from './aosc-arches.js';
import { compileBashPattern, UnsupportedPatternError } from './bash-pattern.js';
import { formatVersion, tryParseVersion } from '../version/index.js';

/** The relation variables of `defines`, each overridable per architecture and group. */
const RELATION_KEYS = ['PKGDEP', 'PKGPRDEP', 'BUILDDEP', 'PKGRECOM', 'PKGPROV', 'PKGBREAK', 'PKGCONFL', 'PKGREP'] as const;
type RelationKey = (typeof RELATION_KEYS)[number];

/** Variables whose absence autobuild treats as empty: referring to them while unset is normal. */
const EMPTY_BY_DEFAULT = /^(PKGDEP|PKGPRDEP|BUILDDEP|PKGRECOM|PKGSUG|PKGPROV|PKGBREAK|PKGCONFL|PKGREP)(__[A-Z0-9_]+)?$/;

const OPERATORS: Record<string, VersionOperator> = { '<<': '<', '<=': '<=', '==': '=', '>=': '>=', '>>': '>' };
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
const SUBPACKAGE_DIR = /^([0-9]+)-(.+)$/;

/** One `defines` of a package directory: `autobuild/defines`, or `NN-name/defines` in a package group. */
interface DefinesFile {
  file: TextFile;
  /** The group sequence number (0 for `autobuild/defines`). */
  sequence: number;
}

/** Collects issues, each once. */
class Issues {
  readonly list: ParseIssue[] = [];
  private readonly seen = new Set<string>();
  add(issue: ParseIssue): void {
    const key = `${issue.file}\0${issue.line}\0${issue.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(issue);
  }
}

/** Larger recipe files are not read: the largest in aosc-os-abbs is about 55 KB. */
const MAX_RECIPE_CHARS = 1 << 20;

/** The files of the directory that are small enough to read; the others are reported. */
function readable(files: TextFile[], issues: Issues): TextFile[] {
  return files.filter((f) => {
    if (f.text.length <= MAX_RECIPE_CHARS) return true;
    issues.add({ file: f.path, line: 0, message: `${f.text.length} characters: recipe files over ${MAX_RECIPE_CHARS} characters are not read` });
    return false;
  });
}

/** Parses one abbs package directory (`dir` is e.g. `core-libs/zlib`; `files` are its files, paths from the tree root). */
export function parseAbbsPackage(dir: string, allFiles: TextFile[]): ParseResult<SourcePackage> {
  const issues = new Issues();
  const files = readable(allFiles, issues);
  const specPath = `${dir}/spec`;
  const spec = files.find((f) => f.path === specPath);
  const defines = definesFiles(dir, files, issues);
  if (!spec) {
    issues.add({ file: specPath, line: 0, message: 'missing: every abbs package directory has a spec (VER, REL, SRCS, CHKSUMS)' });
    return { value: null, issues: issues.list };
  }
  const specRead = readShellVariables(spec.text, spec.path);
  specRead.issues.forEach((i) => issues.add(i));
  const specVars = specRead.variables;
  const ver = specVars.get('VER');
  if (!ver || ver.value === '') {
    issues.add({ file: spec.path, line: ver?.line ?? 0, message: 'VER is missing or empty: the package has no version' });
    return { value: null, issues: issues.list };
  }
  checkValue(ver, 'VER', issues);
  // The epoch comes from PKGEPOCH, so VER has no colon; dpkg then reads the whole version.
  if (/[\s:]/.test(ver.value)) {
    issues.add({ file: spec.path, line: ver.line, message: `VER "${ver.value}" is not an upstream version (no blanks, and the epoch belongs in PKGEPOCH)` });
    return { value: null, issues: issues.list };
  }
  const relVar = specVars.get('REL');
  let release = '0';
  if (relVar) {
    checkValue(relVar, 'REL', issues);
    // Usually a whole number, but retro ports use revisions such as "0retro1"; autobuild appends any of them as "-REL".
    if (/^[A-Za-z0-9.+~]+$/.test(relVar.value)) release = relVar.value;
    else issues.add({ file: spec.path, line: relVar.line, message: `REL "${relVar.value}" is not a valid revision (letters, digits and . + ~ only); using 0` });
  }
  checkSources(specVars, issues);
  if (defines.length === 0) {
    issues.add({ file: `${dir}/autobuild/defines`, line: 0, message: 'missing: the package has neither autobuild/defines nor package-group NN-name/defines files' });
    return { value: null, issues: issues.list };
  }

  const inherited = definesScope(specVars, spec.path);

  const parsed: ParsedDefines[] = [];
  for (const d of defines) {
    const one = parseDefines(d, inherited, ver.value, release, issues);
    if (one) parsed.push(one);
  }
  if (parsed.length === 0) return { value: null, issues: issues.list };

  const first = parsed[0]!;
  const binaries = parsed.map((p) => p.binary);
  const version = first.binary.version!;
  for (const b of binaries) if (b.version!.text === version.text) delete b.version;

  const extra: Record<string, string> = {};
  const put = (key: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') extra[key] = value;
  };
  put('section', first.vars.get('PKGSEC')?.value);
  put('description', first.vars.get('PKGDES')?.value);
  put('abhost', first.vars.get('ABHOST')?.value);
  put('fail_arch', first.vars.get('FAIL_ARCH')?.value);
  put('allow_arch', first.vars.get('ALLOW_ARCH')?.value);
  put('srcs', specVars.get('SRCS')?.value);
  put('chksums', specVars.get('CHKSUMS')?.value);
  if (parsed.length > 1) put('group', defines.map((d) => d.file.path.slice(dir.length + 1, -'/defines'.length)).join(' '));

  // In a package group, a sub-package's build dependency on an earlier sibling is met inside the same build.
  const buildDepends: DependencyClause[] = [];
  parsed.forEach((p, index) => {
    const earlier = new Set(parsed.slice(0, index).map((q) => q.binary.name));
    for (const clause of p.buildDepends) if (!clause.every((atom) => earlier.has(atom.name))) buildDepends.push(clause);
  });

  const source: SourcePackage = {
    flavour: 'autobuild',
    pkgbase: dir.slice(dir.lastIndexOf('/') + 1),
    version,
    architectures: sourceArchitectures(binaries),
    binaries,
    buildDepends,
    buildDependsArch: [],
    buildDependsIndep: [],
    checkDepends: [],
    buildConflicts: [],
    location: { file: spec.path, line: ver.line },
    extra,
  };
  return { value: source, issues: issues.list };
}

/** What `defines` sees: `spec`'s variables, plus `PKGVER` and `PKGREL` (REL, default 0), which ACBS sets. */
export function definesScope(specVars: ShellScope, specFile: string): ShellScope {
  const scope: ShellScope = new Map(specVars);
  const ver = specVars.get('VER');
  const rel = specVars.get('REL');
  scope.set('PKGVER', { value: ver?.value ?? '', file: specFile, line: ver?.line ?? 0, problems: ver?.problems ?? [], unset: ver?.unset ?? [] });
  scope.set('PKGREL', { value: rel?.value || '0', file: specFile, line: rel?.line ?? 0, problems: rel?.problems ?? [], unset: rel?.unset ?? [] });
  return scope;
}

interface ParsedDefines {
  binary: BinaryPackage;
  buildDepends: DependencyClause[];
  vars: ShellScope;
}

function parseDefines(defines: DefinesFile, inherited: ShellScope, ver: string, release: string, issues: Issues): ParsedDefines | null {
  const { file } = defines;
  const read = readShellVariables(file.text, file.path, inherited);
  read.issues.forEach((i) => issues.add(i));
  const vars = read.variables;
  const nameVar = vars.get('PKGNAME');
  if (!nameVar || nameVar.value === '') {
    issues.add({ file: file.path, line: nameVar?.line ?? 0, message: 'PKGNAME is missing or empty: the package has no name' });
    return null;
  }
  checkValue(nameVar, 'PKGNAME', issues);
  const name = nameVar.value;
  if (!PACKAGE_NAME.test(name)) {
    issues.add({ file: file.path, line: nameVar.line, message: `PKGNAME "${name}" is not a valid package name (letters, digits and + . _ - only)` });
    return null;
  }

  let epoch = 0;
  const epochVar = vars.get('PKGEPOCH');
  if (epochVar && epochVar.value !== '') {
    checkValue(epochVar, 'PKGEPOCH', issues);
    if (/^[0-9]+$/.test(epochVar.value)) epoch = Number(epochVar.value);
    else issues.add({ file: epochVar.file, line: epochVar.line, message: `PKGEPOCH "${epochVar.value}" is not a whole number; using 0` });
  }
  const version = aoscVersion(epoch, ver, release);
  const valid = tryParseVersion('autobuild', version.text);
  if (!valid.ok) {
    issues.add({ file: file.path, line: nameVar.line, message: `${name}: ${valid.error.message}` });
    return null;
  }
  const spiralEpoch = vars.get('PKGEPOCH_SPIRAL')?.value || '0';
  const context: RelationContext = { vars, suffixes: overrideSuffixes(vars), issues, self: name, spiralVersion: `${spiralEpoch}:${version.text.slice(version.text.indexOf(':') + 1)}` };

  const relations = Object.fromEntries(RELATION_KEYS.map((key) => [key, relationClauses(key, context)])) as Record<RelationKey, RelationResult>;
  const binary: BinaryPackage = {
    name,
    version,
    architectures: binaryArchitectures(vars, issues),
    depends: relations.PKGDEP.clauses,
    preDepends: relations.PKGPRDEP.clauses,
    optionalDepends: relations.PKGRECOM.clauses,
    provides: relations.PKGPROV.provides,
    conflicts: relations.PKGCONFL.clauses,
    replaces: relations.PKGREP.clauses,
    breaks: relations.PKGBREAK.clauses,
  };
  return { binary, buildDepends: relations.BUILDDEP.clauses, vars };
}

/** The package directory's defines files: `autobuild/defines`, else the group's `NN-name/defines` in sequence order. */
function definesFiles(dir: string, files: TextFile[], issues: Issues): DefinesFile[] {
  const flat = files.find((f) => f.path === `${dir}/autobuild/defines`);
  const group: DefinesFile[] = [];
  for (const f of files) {
    const rest = f.path.slice(dir.length + 1).split('/');
    if (f.path.startsWith(`${dir}/`) && rest.length === 3 && rest[0] === 'autobuild' && rest[2] === 'defines') {
      issues.add({ file: f.path, line: 0, message: `per-architecture defines files are not read: ${rest[1]} is planned from autobuild/defines` });
    }
    if (f.path.startsWith(`${dir}/`) && rest.length === 2 && rest[1] === 'defines' && rest[0] !== 'autobuild') {
      const m = SUBPACKAGE_DIR.exec(rest[0]!);
      if (m) group.push({ file: f, sequence: Number(m[1]) });
      else issues.add({ file: f.path, line: 0, message: `"${rest[0]}" is not a package-group directory name (NN-name, e.g. 01-${rest[0]}): ignored` });
    }
  }
  if (flat) {
    for (const g of group) issues.add({ file: g.file.path, line: 0, message: 'ignored: autobuild/defines makes this a single package, so ACBS never reads package-group defines' });
    return [{ file: flat, sequence: 0 }];
  }
  return group.sort((a, b) => a.sequence - b.sequence || (a.file.path < b.file.path ? -1 : 1));
}

/** ACBS pairs each source of SRCS (or SRCS__<ARCH>) with a checksum of CHKSUMS (or CHKSUMS__<ARCH>), and refuses lists of different lengths. */
function checkSources(specVars: ShellScope, issues: Issues): void {
  const words = (v: ShellVariable | undefined): number => (v ? v.value.split(/\s+/).filter((w) => w !== '').length : 0);
  for (const [name, srcs] of specVars) {
    if (name !== 'SRCS' && !name.startsWith('SRCS__')) continue;
    const checksumsName = `CHKSUMS${name.slice('SRCS'.length)}`;
    const checksums = specVars.get(checksumsName) ?? specVars.get('CHKSUMS');
    const sources = words(srcs);
    if (sources > 0 && sources !== words(checksums)) {
      issues.add({
        file: srcs.file,
        line: srcs.line,
        message: `${name} lists ${sources} source${sources === 1 ? '' : 's'} but ${checksums ? `${specVars.has(checksumsName) ? checksumsName : 'CHKSUMS'} has ${words(checksums)} checksums` : 'CHKSUMS is missing'}: ACBS refuses to fetch them (use SKIP for version-control sources)`,
      });
    }
  }
}

/** AOSC's full version: `PKGEPOCH:VER-REL`, without the epoch when it is 0 and without `-REL` when REL is 0 (as autobuild's dpkgpkgver). */
export function aoscVersion(epoch: number, upstream: string, release: string): PackageVersion {
  const parts = { epoch, upstream, release: release === '0' ? null : release };
  return { ...parts, text: formatVersion(parts) };
}

/** Reports what makes a planning variable's value uncertain: constructs not evaluated, unset variables it refers to. */
function checkValue(variable: ShellVariable, name: string, issues: Issues): void {
  for (const p of variable.problems) issues.add({ file: p.file, line: p.line, message: `${name}: ${p.message}` });
  for (const u of variable.unset) {
    if (EMPTY_BY_DEFAULT.test(u.name)) continue;
    issues.add({ file: u.file, line: u.line, message: `${name}: refers to $${u.name}, which is not set (bash expands it to nothing)` });
  }
}

const NO_SUFFIXES: ReadonlySet<string> = new Set();

/** The override suffixes (`AMD64`, `RETRO`, `NOJAVA`…) defined for each relation key. */
function overrideSuffixes(vars: ShellScope): Map<string, Set<string>> {
  const byKey = new Map<string, Set<string>>();
  for (const name of vars.keys()) {
    const split = name.indexOf('__');
    if (split <= 0) continue;
    const key = name.slice(0, split);
    const suffixes = byKey.get(key);
    if (suffixes) suffixes.add(name.slice(split + 2));
    else byKey.set(key, new Set([name.slice(split + 2)]));
  }
  return byKey;
}

interface RelationContext {
  vars: ShellScope;
  /** overrideSuffixes of vars. */
  suffixes: Map<string, Set<string>>;
  issues: Issues;
  /** The package's own name, which autobuild leaves out of its own relation fields. */
  self: string;
  /** The version of `name_spiral` provides: `PKGEPOCH_SPIRAL:VER-REL`. */
  spiralVersion: string;
}

interface RelationResult {
  clauses: DependencyClause[];
  provides: Provide[];
}

/**
 * A relation key on every architecture: the generic atoms apply where no override does; each
 * override's atoms apply on the architectures that take it.
 */
function relationClauses(key: RelationKey, context: RelationContext): RelationResult {
  const { vars } = context;
  const overrides = resolveArchOverrides(context.suffixes.get(key) ?? NO_SUFFIXES);
  for (const a of overrides.ambiguous) {
    const where = vars.get(`${key}__${a.groups[0]!.toUpperCase()}`)!;
    context.issues.add({
      file: where.file,
      line: where.line,
      message: `${key}: ${a.arch} is in the groups ${a.groups.join(', ')}, which all override ${key}; autobuild refuses to build there until ${key}__${a.arch.toUpperCase()} is set (this reads ${key}__${a.groups[0]!.toUpperCase()})`,
    });
  }
  const bySuffix = new Map<string, string[]>();
  const overridden: string[] = [];
  for (const arch of AOSC_ARCHITECTURES) {
    const source = overrides.byArch.get(arch)!;
    if (source.kind === 'generic') continue;
    overridden.push(arch);
    bySuffix.set(source.suffix, [...(bySuffix.get(source.suffix) ?? []), arch]);
  }
  const result: RelationResult = { clauses: [], provides: [] };
  const generic = vars.get(key);
  if (generic) addAtoms(key, key, generic, overridden.length > 0 ? { negated: true, arches: overridden } : undefined, context, result);
  for (const [suffix, arches] of bySuffix) {
    const name = `${key}__${suffix}`;
    addAtoms(key, name, vars.get(name)!, { negated: false, arches }, context, result);
  }
  return result;
}

function addAtoms(key: RelationKey, name: string, variable: ShellVariable, arches: Dependency['arches'], context: RelationContext, into: RelationResult): void {
  checkValue(variable, name, context.issues);
  const at = { file: variable.file, line: variable.line };
  for (const token of variable.value.split(/\s+/)) {
    if (token === '' || token.startsWith('@')) continue;
    if (key !== 'BUILDDEP' && token === context.self) continue;
    const atom = parseAtom(token, context.spiralVersion);
    if (typeof atom === 'string') {
      context.issues.add({ ...at, message: `${name}: "${token}": ${atom}` });
      continue;
    }
    if (key === 'PKGPROV') {
      if (atom.constraint && atom.constraint.op !== '=') {
        context.issues.add({ ...at, message: `${name}: "${token}": a provided name takes only an exact version (==)` });
        continue;
      }
      into.provides.push({ name: atom.name, ...(atom.constraint ? { version: atom.constraint.version } : {}), ...(arches ? { arches } : {}) });
    } else {
      into.clauses.push([{ ...atom, ...(arches ? { arches } : {}) }]);
    }
  }
}

/** One dependency token, or why it cannot be one. */
export function parseAtom(token: string, spiralVersion: string): Dependency | string {
  const m = /^([^<>=]*)(<<|>>|<=|>=|==)(.*)$/.exec(token);
  if (m) {
    const [, name = '', op = '', version = ''] = m;
    if (!PACKAGE_NAME.test(name)) return 'not a valid package name before the version operator';
    if (version === '') return 'no version after the operator';
    const valid = tryParseVersion('autobuild', version);
    if (!valid.ok) return valid.error.message;
    return { name, constraint: { op: OPERATORS[op]!, version } };
  }
  if (/[<>=]/.test(token)) return 'unsupported version operator (autobuild understands <<, <=, ==, >= and >>)';
  if (token.endsWith('_spiral')) {
    const name = token.slice(0, -'_spiral'.length);
    if (!PACKAGE_NAME.test(name)) return 'not a valid package name';
    return { name, constraint: { op: '=', version: spiralVersion } };
  }
  const name = token.endsWith('_') ? token.slice(0, -1) : token;
  if (!PACKAGE_NAME.test(name)) return 'not a valid package name';
  return { name };
}

/**
 * The architectures a package builds for: `all` for `ABHOST=noarch`; otherwise those `FAIL_ARCH`
 * (a bash extglob pattern autobuild matches the architecture against) does not exclude, or the
 * one `ALLOW_ARCH` names; `any` when nothing restricts it.
 */
function binaryArchitectures(vars: ShellScope, issues: Issues): string[] {
  const abhost = vars.get('ABHOST');
  const failArch = vars.get('FAIL_ARCH');
  const allowArch = vars.get('ALLOW_ARCH');
  if (abhost) checkValue(abhost, 'ABHOST', issues);
  if (abhost && abhost.value !== '' && abhost.value !== 'noarch' && !AOSC_ARCHITECTURES.includes(abhost.value)) {
    issues.add({ file: abhost.file, line: abhost.line, message: `ABHOST "${abhost.value}" is neither noarch nor an AOSC architecture (${AOSC_ARCHITECTURES.join(', ')})` });
  }
  if (failArch && failArch.value !== '' && allowArch && allowArch.value !== '') {
    issues.add({ file: allowArch.file, line: allowArch.line, message: 'FAIL_ARCH and ALLOW_ARCH are both set: autobuild refuses to build (this reads FAIL_ARCH)' });
  }
  let buildable = [...AOSC_ARCHITECTURES];
  if (failArch && failArch.value !== '') {
    checkValue(failArch, 'FAIL_ARCH', issues);
    try {
      const pattern = compileBashPattern(failArch.value);
      buildable = AOSC_ARCHITECTURES.filter((a) => !pattern.matches(a));
      // autobuild tests FAIL_ARCH against ABHOST, which is "noarch" for architecture-independent packages.
      if (abhost?.value === 'noarch' && pattern.matches('noarch')) {
        issues.add({ file: failArch.file, line: failArch.line, message: `FAIL_ARCH "${failArch.value}" matches noarch, this package's ABHOST: autobuild refuses to build it` });
      } else if (buildable.length === AOSC_ARCHITECTURES.length) {
        issues.add({
          file: failArch.file,
          line: failArch.line,
          message: `FAIL_ARCH "${failArch.value}" matches no architecture, so autobuild builds everywhere (a list needs @(a|b) or !(a|b))`,
        });
      }
    } catch (error) {
      if (!(error instanceof UnsupportedPatternError)) throw error;
      issues.add({ file: failArch.file, line: failArch.line, message: `FAIL_ARCH: ${error.message}; ignored` });
    }
  } else if (allowArch && allowArch.value !== '') {
    checkValue(allowArch, 'ALLOW_ARCH', issues);
    if (AOSC_ARCHITECTURES.includes(allowArch.value)) buildable = [allowArch.value];
    else issues.add({ file: allowArch.file, line: allowArch.line, message: `ALLOW_ARCH "${allowArch.value}" is not an AOSC architecture; ignored` });
  }
  if (abhost?.value === 'noarch') return ['all'];
  if (abhost && AOSC_ARCHITECTURES.includes(abhost.value)) {
    if (!buildable.includes(abhost.value)) issues.add({ file: abhost.file, line: abhost.line, message: `ABHOST is ${abhost.value}, which FAIL_ARCH or ALLOW_ARCH excludes: autobuild never builds this package` });
    return [abhost.value];
  }
  return buildable.length === AOSC_ARCHITECTURES.length ? ['any'] : buildable;
}

/** The source's architectures: its binaries' when they agree, else the union of the architecture-dependent ones. */
function sourceArchitectures(binaries: BinaryPackage[]): string[] {
  const lists = binaries.map((b) => b.architectures.join(' '));
  if (lists.every((l) => l === lists[0])) return [...binaries[0]!.architectures];
  const dependent = binaries.map((b) => b.architectures).filter((a) => !(a.length === 1 && a[0] === 'all'));
  if (dependent.some((a) => a.includes('any'))) return ['any'];
  return AOSC_ARCHITECTURES.filter((arch) => dependent.some((a) => a.includes(arch)));
}

/** The package directory (`section/pkg`) a tree file belongs to, or null for files outside any. */
function packageDirOf(path: string): string | null {
  const parts = path.split('/');
  return parts.length >= 3 ? `${parts[0]}/${parts[1]}` : null;
}

function isRecipeFile(dir: string, path: string): boolean {
  const rest = path.slice(dir.length + 1);
  return rest === 'spec' || /^(autobuild\/)?[^/]+\/defines$/.test(rest);
}

/** Whether a tree path may be an abbs recipe file (a `spec` or a `defines`): the filter to read a tree with. */
export function isAbbsRecipePath(path: string): boolean {
  return path.endsWith('/spec') || path.endsWith('/defines');
}

/** Parses every package directory of an abbs tree (files with paths like `core-libs/zlib/spec`). */
export function parseAbbsTree(files: TextFile[]): { packages: SourcePackage[]; issues: ParseIssue[] } {
  const byDir = new Map<string, TextFile[]>();
  for (const f of files) {
    const dir = packageDirOf(f.path);
    if (dir === null || !isRecipeFile(dir, f.path)) continue;
    const list = byDir.get(dir);
    if (list) list.push(f);
    else byDir.set(dir, [f]);
  }
  const packages: SourcePackage[] = [];
  const issues: ParseIssue[] = [];
  for (const dir of [...byDir.keys()].sort()) {
    const result = parseAbbsPackage(dir, byDir.get(dir)!);
    if (result.value) packages.push(result.value);
    issues.push(...result.issues);
  }
  return { packages, issues };
}
