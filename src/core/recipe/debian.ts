/**
 * Debian metadata into the recipe model: archive indices (`Packages`, `Sources`) and a source
 * package's `debian/control`. Each has a streaming form (push chunks as they are decompressed,
 * collect the result at the end) and a whole-text form.
 *
 * The values are read-only: to keep parsing an archive cheap, equal clauses (see ClauseCache),
 * architecture lists and empty lists are the same objects in many packages. The lists are
 * frozen; the clauses are not (freezing costs too much), so never modify one in place.
 */
import { Deb822Scanner, type Deb822Sink } from './deb822.js';
import { ClauseCache, parseProvides, parseRelations, type FieldPlace, type RelationOptions, type SubstvarCollector } from './debian-relations.js';
import { ownCopy } from './own-copy.js';
import { tryParseVersion } from '../version/index.js';
import type { BinaryPackage, DependencyClause, IndexedBinaryPackage, PackageVersion, ParseIssue, Provide, RunRelations, SourcePackage } from './model.js';

/** What parsing a Debian file gives: every value that could be read, and every problem with its place. */
export interface DebianParseResult<T> {
  values: T[];
  issues: ParseIssue[];
}

/** A parser fed chunks of text or UTF-8 bytes: `push` each, then `end` for the result. */
export interface DebianStreamParser<T> {
  push(chunk: string | Uint8Array): void;
  end(): DebianParseResult<T>;
}

const PACKAGES_FIELDS = ['Package', 'Version', 'Architecture', 'Source', 'Multi-Arch', 'Depends', 'Pre-Depends', 'Provides', 'Conflicts', 'Breaks', 'Replaces'] as const;
/** The fields reverse dependencies read: a prefix of PACKAGES_FIELDS, so the indices stay the same. */
const PACKAGES_RUN_FIELDS = PACKAGES_FIELDS.slice(0, PACKAGES_FIELDS.indexOf('Conflicts'));
const SOURCES_FIELDS = [
  'Package',
  'Version',
  'Architecture',
  'Binary',
  'Package-List',
  'Build-Depends',
  'Build-Depends-Arch',
  'Build-Depends-Indep',
  'Build-Conflicts',
  'Build-Conflicts-Arch',
  'Build-Conflicts-Indep',
  'Section',
  'Extra-Source-Only',
] as const;
const CONTROL_FIELDS = [
  'Source',
  'Package',
  'Architecture',
  'Section',
  'Multi-Arch',
  'Depends',
  'Pre-Depends',
  'Provides',
  'Conflicts',
  'Breaks',
  'Replaces',
  'Build-Depends',
  'Build-Depends-Arch',
  'Build-Depends-Indep',
  'Build-Conflicts',
  'Build-Conflicts-Arch',
  'Build-Conflicts-Indep',
  'Build-Profiles',
] as const;

type FieldIndex<T extends readonly string[]> = { readonly [K in T[number]]: number };

function fieldIndex<const T extends readonly string[]>(names: T): FieldIndex<T> {
  return Object.fromEntries(names.map((name, index) => [name, index])) as FieldIndex<T>;
}

const P = fieldIndex(PACKAGES_FIELDS);
const S = fieldIndex(SOURCES_FIELDS);
const C = fieldIndex(CONTROL_FIELDS);

/** One stanza's wanted fields, by their index in the field list the scanner was given. */
interface Stanza {
  /** The line of its first field. */
  line: number;
  values: (string | undefined)[];
  lines: number[];
  names: readonly string[];
}

const NONE = Object.freeze([]) as unknown as never[];

/** What converting stanzas needs besides the stanza: where issues go, and what is shared between stanzas. */
class Context {
  readonly issues: ParseIssue[] = [];
  /** Options that share clauses between the stanzas of one index. */
  private readonly shared: RelationOptions = { cache: new ClauseCache() };
  private readonly archLists = new Map<string, string[]>();

  constructor(readonly file: string) {}

  issue(line: number, message: string): void {
    this.issues.push({ file: this.file, line, message });
  }

  /** A field that must be present and not empty; null (and an issue) otherwise. */
  required(stanza: Stanza, index: number, owner: number): string | null {
    const value = stanza.values[index];
    if (value !== undefined && value.length > 0) return value;
    const what = stanza.values[owner];
    this.issue(
      value === undefined ? stanza.line : stanza.lines[index]!,
      `${value === undefined ? 'missing' : 'empty'} ${stanza.names[index]} field in the stanza${what ? ` of "${what}"` : ''}; stanza left out`,
    );
    return null;
  }

  /** The Version field as a PackageVersion; null (and an issue) if malformed. */
  version(stanza: Stanza, index: number, owner: string): PackageVersion | null {
    const parsed = tryParseVersion('debian', stanza.values[index]!);
    if (!parsed.ok) {
      this.issue(stanza.lines[index]!, `"${owner}": ${parsed.error.message}; stanza left out`);
      return null;
    }
    return parsed.version;
  }

  /** An architecture list, shared and frozen: a whole archive has only a few different ones. */
  architectures(text: string, separator: RegExp): string[] {
    let list = this.archLists.get(text);
    if (list === undefined) {
      list = Object.freeze(text.split(separator).filter((a) => a.length > 0)) as string[];
      this.archLists.set(text, list);
    }
    return list;
  }

  relations(stanza: Stanza, index: number, options: RelationOptions = this.shared): DependencyClause[] {
    const value = stanza.values[index];
    if (value === undefined) return NONE;
    const clauses = parseRelations(value, this.place(stanza, index), this.issues, options);
    return clauses.length > 0 ? clauses : NONE;
  }

  provides(stanza: Stanza, index: number, options: RelationOptions = this.shared): Provide[] {
    const value = stanza.values[index];
    if (value === undefined) return NONE;
    const provides = parseProvides(value, this.place(stanza, index), this.issues, options);
    return provides.length > 0 ? provides : NONE;
  }

  place(stanza: Stanza, index: number): FieldPlace {
    return { file: this.file, line: stanza.lines[index]!, field: stanza.names[index]! };
  }
}

/** Collects a stanza's fields into slots, then hands it on; one Stanza object serves every paragraph. */
class StanzaSink implements Deb822Sink {
  readonly stanza: Stanza;

  constructor(
    names: readonly string[],
    private readonly onStanza: (stanza: Stanza) => void,
  ) {
    this.stanza = { line: 0, values: new Array<string | undefined>(names.length).fill(undefined), lines: new Array<number>(names.length).fill(0), names };
  }

  field(index: number, value: string, line: number): void {
    // What a package keeps (its name, version, clauses) is sliced from these values: copied, they
    // keep nothing of the chunk of the index they were read from.
    this.stanza.values[index] = ownCopy(value);
    this.stanza.lines[index] = line;
  }

  paragraph(line: number): void {
    this.stanza.line = line;
    this.onStanza(this.stanza);
    this.stanza.values.fill(undefined);
  }
}

type Convert<T> = (stanza: Stanza, context: Context) => T | null;

class StanzaParser<T> implements DebianStreamParser<T> {
  private readonly scanner: Deb822Scanner;
  private readonly context: Context;
  private readonly values: T[] = [];

  constructor(file: string, fields: readonly string[], convert: Convert<T>) {
    this.context = new Context(file);
    const sink = new StanzaSink(fields, (stanza) => {
      const value = convert(stanza, this.context);
      if (value !== null) this.values.push(value);
    });
    this.scanner = new Deb822Scanner({ file, fields }, sink);
  }

  push(chunk: string | Uint8Array): void {
    this.scanner.push(chunk);
  }

  end(): DebianParseResult<T> {
    this.scanner.end();
    return { values: this.values, issues: sortedIssues([...this.scanner.issues, ...this.context.issues]) };
  }
}

/** A streaming parser of an archive's `Packages` index. */
export function createDebianPackagesParser(file: string): DebianStreamParser<IndexedBinaryPackage> {
  return new StanzaParser(file, PACKAGES_FIELDS, packagesStanza);
}

/** Receives the binaries of a Packages index with what installing each depends on (a reverse index builder does). */
export interface RunDependencySink {
  add(name: string, version: string, source: string, relations: RunRelations): void;
}

/** What reading a Packages index for reverse dependencies found besides the binaries. */
export interface RunDependencyResult {
  issues: ParseIssue[];
  /**
   * Whether every field the reader read was ASCII. Text decoded one byte a character (latin1,
   * several times faster than UTF-8) then reads exactly as its UTF-8 decoding would, but for the
   * text quoted in issues about lines it did not read.
   */
  ascii: boolean;
}

/** A Packages reader for reverse dependencies: `push` each chunk, then `end`. */
export interface RunDependencyReader {
  push(chunk: string | Uint8Array): void;
  end(): RunDependencyResult;
}

/**
 * A streaming reader of a `Packages` index for reverse dependencies: each binary's run relations
 * go to `sink` as the stanza is read, and no package object is made. It reads, checks and reports
 * what createDebianPackagesParser does, but for Conflicts, Breaks and Replaces, which it leaves unread.
 */
export function createDebianRunDependencyReader(file: string, sink: RunDependencySink): RunDependencyReader {
  let ascii = true;
  const parser = new StanzaParser<never>(file, PACKAGES_RUN_FIELDS, (stanza, context) => {
    for (let i = 0; ascii && i < stanza.values.length; i++) ascii = isAscii(stanza.values[i]);
    const head = binaryHead(stanza, context);
    if (head === null) return null;
    // Read in the order packagesStanza reads them, so that issues come out in the same order.
    const depends = context.relations(stanza, P.Depends);
    const preDepends = context.relations(stanza, P['Pre-Depends']);
    const provides = context.provides(stanza, P.Provides);
    sink.add(head.name, head.version.text, head.source, { architectures: head.architectures, multiArch: stanza.values[P['Multi-Arch']], preDepends, depends, provides });
    return null;
  });
  return {
    push: (chunk) => parser.push(chunk),
    end: () => ({ issues: parser.end().issues, ascii }),
  };
}

// A regular expression, not a loop over charCodeAt: it runs as native code, twice as fast over an archive's fields.
const NOT_ASCII = /[\u0080-\uffff]/;

function isAscii(text: string | undefined): boolean {
  return text === undefined || !NOT_ASCII.test(text);
}

/** A streaming parser of an archive's `Sources` index. */
export function createDebianSourcesParser(file: string): DebianStreamParser<SourcePackage> {
  return new StanzaParser(file, SOURCES_FIELDS, sourcesStanza);
}

/** Parses a whole `Packages` text. */
export function parseDebianPackages(text: string, file: string): DebianParseResult<IndexedBinaryPackage> {
  return parseWhole(createDebianPackagesParser(file), text);
}

/** Parses a whole `Sources` text. */
export function parseDebianSources(text: string, file: string): DebianParseResult<SourcePackage> {
  return parseWhole(createDebianSourcesParser(file), text);
}

/** Feeds a stream of chunks (e.g. a decompressor's output) to a parser and returns its result. */
export async function parseDebianStream<T>(parser: DebianStreamParser<T>, chunks: AsyncIterable<string | Uint8Array>): Promise<DebianParseResult<T>> {
  for await (const chunk of chunks) parser.push(chunk);
  return parser.end();
}

function parseWhole<T>(parser: DebianStreamParser<T>, text: string): DebianParseResult<T> {
  parser.push(text);
  return parser.end();
}

/** What every reader of a Packages stanza checks first. */
interface BinaryHead {
  name: string;
  version: PackageVersion;
  architectures: string[];
  source: string;
  sourceVersion: string;
}

/** A Packages stanza's name, version, architectures and source; null (with issues) for a stanza left out. */
function binaryHead(stanza: Stanza, context: Context): BinaryHead | null {
  const name = context.required(stanza, P.Package, P.Package);
  const versionText = context.required(stanza, P.Version, P.Package);
  const architecture = context.required(stanza, P.Architecture, P.Package);
  if (name === null || versionText === null || architecture === null) return null;
  const version = context.version(stanza, P.Version, name);
  if (version === null) return null;

  let source = name;
  let sourceVersion = version.text;
  const sourceField = stanza.values[P.Source];
  if (sourceField !== undefined) {
    const open = sourceField.indexOf('(');
    if (open < 0) {
      source = sourceField;
    } else {
      source = sourceField.slice(0, open).trim();
      const close = sourceField.indexOf(')', open);
      sourceVersion = sourceField.slice(open + 1, close < 0 ? sourceField.length : close).trim();
      if (close < 0 || close !== sourceField.length - 1 || source.length === 0 || sourceVersion.length === 0) {
        context.issue(stanza.lines[P.Source]!, `Source: expected "name" or "name (version)", found "${sourceField}"`);
        source = source || name;
        sourceVersion = version.text;
      }
    }
  }
  return { name, version, architectures: context.architectures(architecture, /\s+/), source, sourceVersion };
}

function packagesStanza(stanza: Stanza, context: Context): IndexedBinaryPackage | null {
  const head = binaryHead(stanza, context);
  if (head === null) return null;
  return {
    name: head.name,
    version: head.version,
    architectures: head.architectures,
    depends: context.relations(stanza, P.Depends),
    preDepends: context.relations(stanza, P['Pre-Depends']),
    optionalDepends: NONE,
    provides: context.provides(stanza, P.Provides),
    conflicts: context.relations(stanza, P.Conflicts),
    replaces: context.relations(stanza, P.Replaces),
    breaks: context.relations(stanza, P.Breaks),
    // Always present (undefined when the stanza has none): every package then has the same shape.
    multiArch: stanza.values[P['Multi-Arch']],
    source: head.source,
    sourceVersion: head.sourceVersion,
    location: { file: context.file, line: stanza.line },
  };
}

function sourcesStanza(stanza: Stanza, context: Context): SourcePackage | null {
  const pkgbase = context.required(stanza, S.Package, S.Package);
  const versionText = context.required(stanza, S.Version, S.Package);
  if (pkgbase === null || versionText === null) return null;
  const version = context.version(stanza, S.Version, pkgbase);
  if (version === null) return null;
  const architectures = context.architectures(stanza.values[S.Architecture] ?? '', /\s+/);
  if (architectures.length === 0) context.issue(stanza.line, `source package "${pkgbase}" has no Architecture field`);

  const binaryArches = packageListArchitectures(stanza, context);
  const binaryField = stanza.values[S.Binary];
  const names = binaryField !== undefined ? binaryField.split(',').map((n) => n.trim()).filter((n) => n.length > 0) : [...binaryArches.keys()];
  const binaries: BinaryPackage[] = names.map((name) => ({
    name,
    architectures: binaryArches.get(name) ?? architectures,
    depends: NONE,
    preDepends: NONE,
    optionalDepends: NONE,
    provides: NONE,
    conflicts: NONE,
    replaces: NONE,
    breaks: NONE,
  }));

  const source: SourcePackage = {
    flavour: 'debian',
    pkgbase,
    version,
    architectures,
    binaries,
    buildDepends: context.relations(stanza, S['Build-Depends']),
    buildDependsArch: context.relations(stanza, S['Build-Depends-Arch']),
    buildDependsIndep: context.relations(stanza, S['Build-Depends-Indep']),
    checkDepends: NONE,
    buildConflicts: buildConflicts(stanza, context, [S['Build-Conflicts'], S['Build-Conflicts-Arch'], S['Build-Conflicts-Indep']]),
    location: { file: context.file, line: stanza.line },
  };
  const section = stanza.values[S.Section];
  const extraSourceOnly = stanza.values[S['Extra-Source-Only']];
  if (section !== undefined || extraSourceOnly !== undefined) {
    source.extra = {};
    if (section !== undefined) source.extra.section = section;
    // Kept only because another source's Built-Using names it: nothing builds it.
    if (extraSourceOnly !== undefined) source.extra['extra-source-only'] = extraSourceOnly;
  }
  return source;
}

/** The model keeps one list: a build conflict, whichever build it names, only ever narrows what may be installed. */
function buildConflicts(stanza: Stanza, context: Context, indices: number[]): DependencyClause[] {
  const all = indices.flatMap((index) => context.relations(stanza, index));
  return all.length > 0 ? all : NONE;
}

/** Package-List lines "name type section priority arch=a,b ..." → each binary's architectures. */
function packageListArchitectures(stanza: Stanza, context: Context): Map<string, string[]> {
  const arches = new Map<string, string[]>();
  const value = stanza.values[S['Package-List']];
  if (value === undefined) return arches;
  // Every source has one, a line per binary: read with indexOf, not a split per line.
  let line = 0;
  for (let start = 0; start <= value.length; line++) {
    let end = value.indexOf('\n', start);
    if (end < 0) end = value.length;
    const words = lineWords(value, start, end);
    if (words.length >= 4) {
      const arch = words.find((w) => w.startsWith('arch='));
      if (arch !== undefined) arches.set(words[0]!, context.architectures(arch.slice('arch='.length), /,/));
    } else if (words.length > 0) {
      context.issue(stanza.lines[S['Package-List']]! + line, `Package-List: expected "name type section priority [key=value...]", found "${words.join(' ')}"`);
    }
    start = end + 1;
  }
  return arches;
}

/** The blank-separated words of text[start, end). */
function lineWords(text: string, start: number, end: number): string[] {
  const words: string[] = [];
  let i = start;
  while (i < end) {
    while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    const from = i;
    while (i < end && text.charCodeAt(i) !== 32 && text.charCodeAt(i) !== 9) i++;
    if (i > from) words.push(text.slice(from, i));
  }
  return words;
}

/** Options for debian/control, which carries no version of its own. */
export interface DebianControlOptions {
  /** The source version (from debian/changelog); resolves `${binary:Version}`, `${source:Version}`, `${source:Upstream-Version}`. */
  version?: string;
}

/**
 * A streaming parser of a `debian/control` file: its source stanza and binary stanzas become one
 * source package (`values` holds it, or nothing if there is none to make).
 * Substitution variables (`${shlibs:Depends}`) cannot be resolved from the file: they are left
 * out of the clauses and listed in `extra` under `substvars` ("binary field ${var}", one a line).
 * Binaries built only under some build profiles are listed under `build-profiles` ("binary <formula>").
 */
export function createDebianControlParser(file: string, options: DebianControlOptions = {}): DebianStreamParser<SourcePackage> {
  const stanzas: Stanza[] = [];
  // A control file is a handful of stanzas, converted together at the end: the source stanza's version resolves the binaries' substvars.
  const sink = new StanzaSink(CONTROL_FIELDS, (stanza) => stanzas.push({ ...stanza, values: [...stanza.values], lines: [...stanza.lines] }));
  const scanner = new Deb822Scanner({ file, fields: CONTROL_FIELDS, comments: true }, sink);
  return {
    push: (chunk) => scanner.push(chunk),
    end: () => {
      scanner.end();
      const context = new Context(file);
      const value = controlPackage(stanzas, context, options);
      return { values: value ? [value] : [], issues: sortedIssues([...scanner.issues, ...context.issues]) };
    },
  };
}

/** Parses a whole `debian/control` text into its source package (see createDebianControlParser). */
export function parseDebianControl(text: string, file: string, options: DebianControlOptions = {}): { value: SourcePackage | null; issues: ParseIssue[] } {
  const { values, issues } = parseWhole(createDebianControlParser(file, options), text);
  return { value: values[0] ?? null, issues };
}

function controlPackage(stanzas: Stanza[], context: Context, options: DebianControlOptions): SourcePackage | null {
  const [sourceStanza, ...binaryStanzas] = stanzas;
  if (!sourceStanza) {
    context.issue(1, 'no source stanza: debian/control is empty');
    return null;
  }
  const pkgbase = context.required(sourceStanza, C.Source, C.Package);
  if (pkgbase === null) return null;

  let version: PackageVersion;
  const substvarValues = new Map<string, string>();
  if (options.version === undefined) {
    context.issue(sourceStanza.line, 'debian/control carries no version: pass the one from debian/changelog');
    version = { epoch: 0, upstream: '', release: null, text: '' };
  } else {
    const parsed = tryParseVersion('debian', options.version);
    if (!parsed.ok) {
      context.issue(sourceStanza.line, `"${pkgbase}": ${parsed.error.message} (the version given for debian/control)`);
      return null;
    }
    const split = parsed.version;
    version = split;
    substvarValues.set('binary:Version', split.text);
    substvarValues.set('source:Version', split.text);
    substvarValues.set('source:Upstream-Version', split.epoch > 0 ? `${split.epoch}:${split.upstream}` : split.upstream);
  }

  const substvarLines: string[] = [];
  /** Relation options that gather the substvars met in a field, then record them for `owner`. */
  const gathering = <T>(owner: string, stanza: Stanza, index: number, parse: (options: RelationOptions) => T): T => {
    const collector: SubstvarCollector = { found: [], values: substvarValues };
    const result = parse({ substvars: collector });
    for (const variable of collector.found) substvarLines.push(`${owner} ${stanza.names[index]} ${variable}`);
    return result;
  };
  const relations = (owner: string, stanza: Stanza, index: number) => gathering(owner, stanza, index, (o) => context.relations(stanza, index, o));

  const binaries: BinaryPackage[] = [];
  const builtOnlyWith: string[] = [];
  for (const stanza of binaryStanzas) {
    const name = context.required(stanza, C.Package, C.Package);
    if (name === null) continue;
    const architectures = context.architectures(stanza.values[C.Architecture] ?? '', /\s+/);
    if (architectures.length === 0) context.issue(stanza.line, `binary package "${name}" has no Architecture field`);
    const binary: BinaryPackage = {
      name,
      architectures,
      depends: relations(name, stanza, C.Depends),
      preDepends: relations(name, stanza, C['Pre-Depends']),
      optionalDepends: NONE,
      provides: gathering(name, stanza, C.Provides, (o) => context.provides(stanza, C.Provides, o)),
      conflicts: relations(name, stanza, C.Conflicts),
      replaces: relations(name, stanza, C.Replaces),
      breaks: relations(name, stanza, C.Breaks),
    };
    const multiArch = stanza.values[C['Multi-Arch']];
    if (multiArch) binary.multiArch = multiArch;
    // The model has no place for it, but the planner must not take it for built on every build.
    const profiles = stanza.values[C['Build-Profiles']];
    if (profiles) builtOnlyWith.push(`${name} ${profiles}`);
    binaries.push(binary);
  }

  const source: SourcePackage = {
    flavour: 'debian',
    pkgbase,
    version,
    architectures: sourceArchitectures(binaries),
    binaries,
    buildDepends: relations(pkgbase, sourceStanza, C['Build-Depends']),
    buildDependsArch: relations(pkgbase, sourceStanza, C['Build-Depends-Arch']),
    buildDependsIndep: relations(pkgbase, sourceStanza, C['Build-Depends-Indep']),
    checkDepends: NONE,
    buildConflicts: [C['Build-Conflicts'], C['Build-Conflicts-Arch'], C['Build-Conflicts-Indep']].flatMap((index) => relations(pkgbase, sourceStanza, index)),
    location: { file: context.file, line: sourceStanza.line },
  };
  const extra: Record<string, string> = {};
  const section = sourceStanza.values[C.Section];
  if (section) extra.section = section;
  if (substvarLines.length > 0) extra.substvars = substvarLines.join('\n');
  if (builtOnlyWith.length > 0) extra['build-profiles'] = builtOnlyWith.join('\n');
  if (Object.keys(extra).length > 0) source.extra = extra;
  return source;
}

/** What dpkg-source would write as the source's Architecture: `any` covers every arch-specific list. */
function sourceArchitectures(binaries: BinaryPackage[]): string[] {
  const seen = new Set<string>();
  for (const binary of binaries) for (const arch of binary.architectures) seen.add(arch);
  if (seen.has('any')) return seen.has('all') ? ['any', 'all'] : ['any'];
  return [...seen];
}

function sortedIssues(issues: ParseIssue[]): ParseIssue[] {
  return issues.sort((a, b) => a.line - b.line);
}
