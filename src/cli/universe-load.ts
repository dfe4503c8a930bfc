/**
 * Loading a universe for the graph commands from a SPEC: `debian:SOURCES[,PACKAGES]` (archive
 * indices, plain or compressed; `debian:,PACKAGES` for binaries only), `srcinfo:PATH` (a directory
 * or tarball of .SRCINFO files), `aosc:PATH` (an abbs tree directory or its tarball).
 */
import { isAscii } from 'node:buffer';
import { ReverseIndexBuilder } from '../core/graph/reverse-index.js';
import type { Universe } from '../core/graph/universe.js';
import { createDebianPackagesParser, createDebianRunDependencyReader, createDebianSourcesParser, type DebianParseResult, type DebianStreamParser } from '../core/recipe/debian.js';
import type { IndexedBinaryPackage, ParseIssue, SourcePackage } from '../core/recipe/model.js';
import { UsageError } from './command.js';
import { eachDecompressedChunk, readTree, Utf8Chunks } from './input.js';

export type UniverseSpec =
  | { kind: 'debian'; sources: string | null; packages: string | null }
  | { kind: 'srcinfo'; path: string }
  | { kind: 'aosc'; path: string };

const SPEC_FORMS = 'debian:SOURCES[,PACKAGES], debian:,PACKAGES, srcinfo:PATH or aosc:PATH';

/** Reads a SPEC; a malformed one is a UsageError saying which forms exist. */
export function parseUniverseSpec(text: string): UniverseSpec {
  const colon = text.indexOf(':');
  const kind = colon > 0 ? text.slice(0, colon) : '';
  const rest = colon > 0 ? text.slice(colon + 1) : '';
  if (kind === 'debian') {
    const parts = rest.split(',');
    const [sources = '', packages = ''] = parts;
    if (parts.length > 2 || (sources === '' && packages === '')) throw new UsageError(`bad --from "${text}": expected debian:SOURCES[,PACKAGES]`);
    return { kind, sources: sources || null, packages: packages || null };
  }
  if ((kind === 'srcinfo' || kind === 'aosc') && rest !== '') return { kind, path: rest };
  throw new UsageError(`bad --from "${text}": expected ${SPEC_FORMS}`);
}

/** A loaded universe, with every problem the parsers reported. */
export interface LoadedUniverse {
  universe: Universe;
  issues: ParseIssue[];
}

/** What a command needs from the input: Debian's Sources can be skipped when only binaries matter. */
export interface LoadNeeds {
  sources: boolean;
}

/** Loads the packages a SPEC names. Unreadable input is an InputError naming the file. */
export async function loadUniverse(spec: UniverseSpec, needs: LoadNeeds): Promise<LoadedUniverse> {
  // Each flavour's parser is loaded when its input is read: a command pays only for the one it reads.
  switch (spec.kind) {
    case 'srcinfo': {
      const { isSrcinfoPath, parseSrcinfoTree } = await import('../core/recipe/srcinfo.js');
      const { packages, issues } = parseSrcinfoTree(await readTree(spec.path, isSrcinfoPath));
      return { universe: { flavour: 'pkgbuild', sources: packages }, issues };
    }
    case 'aosc': {
      const { isAbbsRecipePath, parseAbbsTree } = await import('../core/recipe/abbs.js');
      const { packages, issues } = parseAbbsTree(await readTree(spec.path, isAbbsRecipePath));
      return { universe: { flavour: 'autobuild', sources: packages }, issues };
    }
    case 'debian':
      return loadDebian(spec.sources, spec.packages, needs);
  }
}

/**
 * Reads Sources and Packages at once: each is decompressed by its own child process while the
 * main thread parses whichever chunk arrives.
 */
async function loadDebian(sourcesFile: string | null, packagesFile: string | null, needs: LoadNeeds): Promise<LoadedUniverse> {
  const none = Promise.resolve(null);
  const [sources, packages] = await Promise.all([
    sourcesFile && needs.sources ? parseDecompressed(createDebianSourcesParser(sourcesFile), sourcesFile) : none,
    packagesFile ? parseDecompressed(createDebianPackagesParser(packagesFile), packagesFile) : none,
  ]);
  const universe: Universe = { flavour: 'debian', sources: sources?.values ?? [] };
  if (packages) universe.binaries = packages.values;
  return { universe, issues: [...issuesOf(sources), ...issuesOf(packages)] };
}

/** Parses a file as its decompressor hands it over, each chunk as it is read (UTF-8). */
async function parseDecompressed<T>(parser: DebianStreamParser<T>, file: string): Promise<DebianParseResult<T>> {
  const utf8 = new Utf8Chunks();
  await eachDecompressedChunk(file, (chunk) => parser.push(utf8.decode(chunk)));
  parser.push(utf8.end());
  return parser.end();
}

function issuesOf(result: DebianParseResult<SourcePackage | IndexedBinaryPackage> | null): ParseIssue[] {
  return result?.issues ?? [];
}

/** Fewer bytes than this in a chunk read from a decompressor's pipe (64 KiB on Linux) mean the pipe was not full. */
const CAUGHT_UP = 32 * 1024;

/** The binaries of a SPEC, ready to index for reverse dependencies, with every problem the parsers reported. */
export interface LoadedRunDependencies {
  builder: ReverseIndexBuilder;
  issues: ParseIssue[];
}

/**
 * Loads what reverse dependencies need. A Debian `Packages` file goes straight into the reverse
 * index as it is decompressed, never becoming package objects (`debian:SOURCES,PACKAGES` reads
 * only PACKAGES); recipe trees are loaded whole, their binaries being parts of their recipes.
 */
export async function loadRunDependencies(spec: UniverseSpec): Promise<LoadedRunDependencies> {
  if (spec.kind !== 'debian') {
    const { universe, issues } = await loadUniverse(spec, { sources: true });
    return { builder: ReverseIndexBuilder.of(universe), issues };
  }
  if (spec.packages === null) return { builder: new ReverseIndexBuilder('debian'), issues: [] };
  const fast = await readRunDependencies(spec.packages, 'latin1');
  // Read again as UTF-8 where one byte a character may have read otherwise: a field read held other
  // than ASCII, or a problem may quote a line that does (rare: an index is made by tools).
  return !fast.ascii || (fast.issues.length > 0 && !fast.chunksAscii) ? readRunDependencies(spec.packages, 'utf8') : fast;
}

/**
 * Reads a Packages file into a reverse index builder, each chunk parsed as the decompressor hands
 * it over; as `latin1` (one byte a character), which the reader tells apart from UTF-8 (see
 * RunDependencyResult.ascii), or as UTF-8. `chunksAscii`: whether the whole file was ASCII.
 */
async function readRunDependencies(file: string, text: 'latin1' | 'utf8'): Promise<LoadedRunDependencies & { ascii: boolean; chunksAscii: boolean }> {
  const builder = new ReverseIndexBuilder('debian');
  const reader = createDebianRunDependencyReader(file, builder);
  let chunksAscii = true;
  const utf8 = new Utf8Chunks();
  await eachDecompressedChunk(file, (chunk) => {
    if (text === 'latin1') {
      chunksAscii &&= isAscii(chunk);
      reader.push(chunk.toString('latin1'));
    } else {
      reader.push(utf8.decode(chunk));
    }
    // Less than a full pipe: the parser has caught up with the decompressor and would wait for the
    // next chunk. The builder's numbering is done then, rather than all after the last chunk.
    if (chunk.length < CAUGHT_UP) builder.numberNames();
  });
  reader.push(utf8.end());
  const { issues, ascii } = reader.end();
  return { builder, issues, ascii, chunksAscii };
}
