/**
 * Debian metadata into the recipe model: archive indices (`Packages`, `Sources`) and a source
 * package's `debian/control`. Each has a streaming form (push chunks as they are decompressed,
 * collect the result at the end) and a whole-text form.
 */
import { Deb822Reader, type Deb822Field, type Deb822Options, type Deb822Paragraph } from './deb822.js';
import { parseProvides, parseRelations, type ClauseCache, type FieldPlace, type SubstvarCollector } from './debian-relations.js';
import type { BinaryPackage, DependencyClause, IndexedBinaryPackage, PackageVersion, ParseIssue, Provide, SourcePackage } from './model.js';

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

/** What converting one stanza needs besides the stanza: where issues go, and the clauses parsed so far. */
interface StanzaContext {
  file: string;
  issues: ParseIssue[];
  cache: ClauseCache;
}

type Convert<T> = (paragraph: Deb822Paragraph, context: StanzaContext) => T | null;

class StanzaParser<T> implements DebianStreamParser<T> {
  private readonly reader: Deb822Reader;
  private readonly values: T[] = [];
  private readonly context: StanzaContext;

  constructor(
    options: Deb822Options,
    private readonly convert: Convert<T>,
  ) {
    this.reader = new Deb822Reader(options);
    this.context = { file: options.file, issues: [], cache: new Map() };
  }

  push(chunk: string | Uint8Array): void {
    for (const paragraph of this.reader.push(chunk)) this.take(paragraph);
  }

  end(): DebianParseResult<T> {
    for (const paragraph of this.reader.end()) this.take(paragraph);
    this.context.cache.clear();
    return { values: this.values, issues: sortedIssues([...this.reader.issues, ...this.context.issues]) };
  }

  private take(paragraph: Deb822Paragraph): void {
    const value = this.convert(paragraph, this.context);
    if (value !== null) this.values.push(value);
  }
}

const PACKAGES_FIELDS = ['Package', 'Version', 'Architecture', 'Source', 'Multi-Arch', 'Depends', 'Pre-Depends', 'Provides', 'Conflicts', 'Breaks', 'Replaces'];
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
];

/** A streaming parser of an archive's `Packages` index. */
export function createDebianPackagesParser(file: string): DebianStreamParser<IndexedBinaryPackage> {
  return new StanzaParser({ file, fields: PACKAGES_FIELDS }, packagesStanza);
}

/** A streaming parser of an archive's `Sources` index. */
export function createDebianSourcesParser(file: string): DebianStreamParser<SourcePackage> {
  return new StanzaParser({ file, fields: SOURCES_FIELDS }, sourcesStanza);
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

/** Options for debian/control, which carries no version of its own. */
export interface DebianControlOptions {
  /** The source version (from debian/changelog); resolves `${binary:Version}`, `${source:Version}`, `${source:Upstream-Version}`. */
  version?: string;
}

/**
 * Parses a `debian/control` file: its source stanza and binary stanzas become one source package.
 * Substitution variables (`${shlibs:Depends}`) cannot be resolved from the file: they are left
 * out of the clauses and listed in `extra` under `substvars` ("binary field ${var}", one a line).
 */
export function parseDebianControl(text: string, file: string, options: DebianControlOptions = {}): { value: SourcePackage | null; issues: ParseIssue[] } {
  const reader = new Deb822Reader({ file, comments: true });
  const paragraphs = reader.push(text);
  for (const p of reader.end()) paragraphs.push(p);
  const issues: ParseIssue[] = [...reader.issues];
  const value = controlPackage(paragraphs, file, options, issues);
  return { value, issues: sortedIssues(issues) };
}

function controlPackage(paragraphs: Deb822Paragraph[], file: string, options: DebianControlOptions, issues: ParseIssue[]): SourcePackage | null {
  const [sourceStanza, ...binaryStanzas] = paragraphs;
  if (!sourceStanza) {
    issues.push({ file, line: 1, message: 'no source stanza: debian/control is empty' });
    return null;
  }
  const pkgbase = required(sourceStanza, 'source', file, issues);
  if (pkgbase === null) return null;

  let version: PackageVersion;
  const substvarValues = new Map<string, string>();
  if (options.version === undefined) {
    issues.push({ file, line: sourceStanza.line, message: 'debian/control carries no version: pass the one from debian/changelog' });
    version = { epoch: 0, upstream: '', release: null, text: '' };
  } else {
    const split = splitDebianVersion(options.version);
    if (typeof split === 'string') {
      issues.push({ file, line: sourceStanza.line, message: `version "${options.version}": ${split}` });
      return null;
    }
    version = split;
    substvarValues.set('binary:Version', split.text);
    substvarValues.set('source:Version', split.text);
    substvarValues.set('source:Upstream-Version', split.epoch > 0 ? `${split.epoch}:${split.upstream}` : split.upstream);
  }

  const substvarLines: string[] = [];
  const relations = (paragraph: Deb822Paragraph, key: string, owner: string): DependencyClause[] => {
    const field = paragraph.fields.get(key);
    if (!field) return [];
    const collector: SubstvarCollector = { found: [], values: substvarValues };
    const clauses = parseRelations(field.value, place(file, field), issues, { substvars: collector });
    for (const variable of collector.found) substvarLines.push(`${owner} ${field.name} ${variable}`);
    return clauses;
  };

  const binaries: BinaryPackage[] = [];
  for (const stanza of binaryStanzas) {
    const name = required(stanza, 'package', file, issues);
    if (name === null) continue;
    const architectures = words(stanza.fields.get('architecture')?.value ?? '');
    if (architectures.length === 0) issues.push({ file, line: stanza.line, message: `binary package "${name}" has no Architecture field` });
    const providesField = stanza.fields.get('provides');
    let provides: Provide[] = [];
    if (providesField) {
      const collector: SubstvarCollector = { found: [], values: substvarValues };
      provides = parseProvides(providesField.value, place(file, providesField), issues, { substvars: collector });
      for (const variable of collector.found) substvarLines.push(`${name} ${providesField.name} ${variable}`);
    }
    const binary: BinaryPackage = {
      name,
      architectures,
      depends: relations(stanza, 'depends', name),
      preDepends: relations(stanza, 'pre-depends', name),
      optionalDepends: [],
      provides,
      conflicts: relations(stanza, 'conflicts', name),
      replaces: relations(stanza, 'replaces', name),
      breaks: relations(stanza, 'breaks', name),
    };
    const multiArch = stanza.fields.get('multi-arch')?.value;
    if (multiArch) binary.multiArch = multiArch;
    binaries.push(binary);
  }

  const extra: Record<string, string> = {};
  const section = sourceStanza.fields.get('section')?.value;
  if (section) extra.section = section;
  const source: SourcePackage = {
    flavour: 'debian',
    pkgbase,
    version,
    architectures: sourceArchitectures(binaries),
    binaries,
    buildDepends: relations(sourceStanza, 'build-depends', pkgbase),
    buildDependsArch: relations(sourceStanza, 'build-depends-arch', pkgbase),
    buildDependsIndep: relations(sourceStanza, 'build-depends-indep', pkgbase),
    checkDepends: [],
    buildConflicts: [
      ...relations(sourceStanza, 'build-conflicts', pkgbase),
      ...relations(sourceStanza, 'build-conflicts-arch', pkgbase),
      ...relations(sourceStanza, 'build-conflicts-indep', pkgbase),
    ],
    location: { file, line: sourceStanza.line },
  };
  if (substvarLines.length > 0) extra.substvars = substvarLines.join('\n');
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

function packagesStanza(paragraph: Deb822Paragraph, { file, issues, cache }: StanzaContext): IndexedBinaryPackage | null {
  const fields = paragraph.fields;
  const name = required(paragraph, 'package', file, issues);
  const versionText = required(paragraph, 'version', file, issues);
  const architecture = required(paragraph, 'architecture', file, issues);
  if (name === null || versionText === null || architecture === null) return null;
  const version = versionOf(fields.get('version')!, name, file, issues);
  if (version === null) return null;

  let source = name;
  let sourceVersion = version.text;
  const sourceField = fields.get('source');
  if (sourceField) {
    const value = sourceField.value;
    const open = value.indexOf('(');
    if (open < 0) {
      source = value;
    } else {
      source = value.slice(0, open).trim();
      const close = value.indexOf(')', open);
      sourceVersion = value.slice(open + 1, close < 0 ? value.length : close).trim();
      if (close < 0 || close !== value.length - 1 || source.length === 0 || sourceVersion.length === 0) {
        issues.push({ file, line: sourceField.line, message: `Source: expected "name" or "name (version)", found "${value}"` });
        source = source || name;
        sourceVersion = version.text;
      }
    }
  }

  const relation = (key: string): DependencyClause[] => {
    const field = fields.get(key);
    return field ? parseRelations(field.value, place(file, field), issues, { cache }) : [];
  };
  const providesField = fields.get('provides');
  const binary: IndexedBinaryPackage = {
    name,
    version,
    architectures: [architecture],
    depends: relation('depends'),
    preDepends: relation('pre-depends'),
    optionalDepends: [],
    provides: providesField ? parseProvides(providesField.value, place(file, providesField), issues, { cache }) : [],
    conflicts: relation('conflicts'),
    replaces: relation('replaces'),
    breaks: relation('breaks'),
    source,
    sourceVersion,
    location: { file, line: paragraph.line },
  };
  const multiArch = fields.get('multi-arch')?.value;
  if (multiArch !== undefined) binary.multiArch = multiArch;
  return binary;
}

function sourcesStanza(paragraph: Deb822Paragraph, { file, issues, cache }: StanzaContext): SourcePackage | null {
  const fields = paragraph.fields;
  const pkgbase = required(paragraph, 'package', file, issues);
  const versionText = required(paragraph, 'version', file, issues);
  if (pkgbase === null || versionText === null) return null;
  const version = versionOf(fields.get('version')!, pkgbase, file, issues);
  if (version === null) return null;
  const architectures = words(fields.get('architecture')?.value ?? '');
  if (architectures.length === 0) issues.push({ file, line: paragraph.line, message: `source package "${pkgbase}" has no Architecture field` });

  const binaryArches = packageListArchitectures(fields.get('package-list'), file, issues);
  const binaryField = fields.get('binary');
  const names = binaryField ? binaryField.value.split(',').map((n) => n.trim()).filter((n) => n.length > 0) : [...binaryArches.keys()];
  const binaries: BinaryPackage[] = names.map((name) => ({
    name,
    architectures: binaryArches.get(name) ?? architectures,
    depends: [],
    preDepends: [],
    optionalDepends: [],
    provides: [],
    conflicts: [],
    replaces: [],
    breaks: [],
  }));

  const relation = (key: string): DependencyClause[] => {
    const field = fields.get(key);
    return field ? parseRelations(field.value, place(file, field), issues, { cache }) : [];
  };
  const source: SourcePackage = {
    flavour: 'debian',
    pkgbase,
    version,
    architectures,
    binaries,
    buildDepends: relation('build-depends'),
    buildDependsArch: relation('build-depends-arch'),
    buildDependsIndep: relation('build-depends-indep'),
    checkDepends: [],
    // The model keeps one list: a build conflict, whichever build it names, only ever narrows what may be installed.
    buildConflicts: [...relation('build-conflicts'), ...relation('build-conflicts-arch'), ...relation('build-conflicts-indep')],
    location: { file, line: paragraph.line },
  };
  const section = fields.get('section')?.value;
  const extraSourceOnly = fields.get('extra-source-only')?.value;
  if (section !== undefined || extraSourceOnly !== undefined) {
    source.extra = {};
    if (section !== undefined) source.extra.section = section;
    // Kept only because another source's Built-Using names it: nothing builds it.
    if (extraSourceOnly !== undefined) source.extra['extra-source-only'] = extraSourceOnly;
  }
  return source;
}

/** Package-List lines "name type section priority arch=a,b ..." → each binary's architectures. */
function packageListArchitectures(field: Deb822Field | undefined, file: string, issues: ParseIssue[]): Map<string, string[]> {
  const arches = new Map<string, string[]>();
  if (!field) return arches;
  const lines = field.value.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const entry = words(lines[i]!);
    if (entry.length === 0) continue;
    if (entry.length < 4) {
      issues.push({ file, line: field.line + i, message: `Package-List: expected "name type section priority [key=value...]", found "${lines[i]!.trim()}"` });
      continue;
    }
    const archEntry = entry.find((w) => w.startsWith('arch='));
    if (archEntry) arches.set(entry[0]!, archEntry.slice('arch='.length).split(','));
  }
  return arches;
}

function required(paragraph: Deb822Paragraph, key: string, file: string, issues: ParseIssue[]): string | null {
  const field = paragraph.fields.get(key);
  if (field && field.value.length > 0) return field.value;
  const what = paragraph.fields.get('package')?.value ?? paragraph.fields.get('source')?.value;
  const fieldName = key.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
  issues.push({
    file,
    line: field?.line ?? paragraph.line,
    message: `${field ? 'empty' : 'missing'} ${fieldName} field in the stanza${what ? ` of "${what}"` : ''}; stanza left out`,
  });
  return null;
}

function versionOf(field: Deb822Field, owner: string, file: string, issues: ParseIssue[]): PackageVersion | null {
  const version = splitDebianVersion(field.value);
  if (typeof version === 'string') {
    issues.push({ file, line: field.line, message: `"${owner}": Version "${field.value}": ${version}; stanza left out` });
    return null;
  }
  return version;
}

/** Splits `[epoch:]upstream[-revision]` (Debian Policy §5.6.12); a string is the reason it is malformed. */
export function splitDebianVersion(text: string): PackageVersion | string {
  let upstreamStart = 0;
  let epoch = 0;
  const colon = text.indexOf(':');
  if (colon >= 0) {
    const digits = text.slice(0, colon);
    if (!/^[0-9]+$/.test(digits)) return `epoch "${digits}" is not a number`;
    epoch = Number(digits);
    upstreamStart = colon + 1;
  }
  const dash = text.lastIndexOf('-');
  const hasRelease = dash > upstreamStart;
  const upstream = text.slice(upstreamStart, hasRelease ? dash : text.length);
  const release = hasRelease ? text.slice(dash + 1) : null;
  if (upstream.length === 0) return 'empty upstream version';
  if (release !== null && release.length === 0) return 'empty Debian revision after "-"';
  if (!/^[0-9A-Za-z.+~:-]+$/.test(upstream)) return `upstream version "${upstream}" has characters other than letters, digits and . + ~ - :`;
  if (release !== null && !/^[0-9A-Za-z.+~]+$/.test(release)) return `Debian revision "${release}" has characters other than letters, digits and . + ~`;
  return { epoch, upstream, release, text };
}

function place(file: string, field: Deb822Field): FieldPlace {
  return { file, line: field.line, field: field.name };
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

function sortedIssues(issues: ParseIssue[]): ParseIssue[] {
  return issues.sort((a, b) => a.line - b.line);
}
