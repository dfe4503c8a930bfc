/**
 * What a partition is built from, as one canonical text whose hash keys the partition cache: the
 * partition's section of the description, its placed size and type, each file entry's content, and,
 * by caching mode, the exact packages (name, version, sha256 of every build-set package the requested
 * ones pull in, and the distribution's state) or only the requested names. Pure: the caller hashes it.
 */
import { pacmanDescFields, RepositoryIndexError } from '../repository-index.js';
import { readDeb822 } from '../recipe/deb822.js';
import { parseProvides, parseRelations } from '../recipe/debian-relations.js';
import type { ParseIssue } from '../recipe/model.js';
import { parsePacmanDependency, parsePacmanProvide } from '../recipe/pacman-dependency.js';
import { fileKind, type CacheMode, type ImagePartition } from './description.js';
import type { PlacedPartition } from './layout.js';

/** Bumped when the way partitions are made changes, so that older cached partitions are not reused. */
export const PARTITION_FORMAT = 2;

/**
 * What installs a partition's packages: pacman (a pacman repository), apt (an apt repository), or,
 * without a build set's repository, whichever the environment has.
 */
export type PackageInstaller = 'pacman' | 'apt' | 'environment';

/** A package of the build set's repository, as its index describes it. */
export interface RepositoryPackage {
  name: string;
  version: string;
  filename: string;
  sha256: string;
  /** Names only: what it needs and what it also answers to. */
  depends: string[];
  provides: string[];
}

/** The packages of a pacman database's `desc` entries. */
export function pacmanRepositoryPackages(entries: readonly { path: string; text: string }[]): RepositoryPackage[] {
  const packages: RepositoryPackage[] = [];
  for (const entry of entries) {
    if (!/^[^/]+\/desc$/.test(entry.path)) continue;
    const fields = pacmanDescFields(entry.text);
    const one = (key: string) => fields.get(key)?.[0] ?? '';
    const names = (key: string, parse: (text: string) => string | null) => (fields.get(key) ?? []).map(parse).filter((n): n is string => n !== null);
    packages.push({
      name: one('NAME'),
      version: one('VERSION'),
      filename: one('FILENAME'),
      sha256: one('SHA256SUM').toLowerCase(),
      depends: names('DEPENDS', (d) => {
        const parsed = parsePacmanDependency(d);
        return parsed.ok ? parsed.dependency.name : (parsed.unversioned?.name ?? null);
      }),
      provides: names('PROVIDES', (p) => {
        const parsed = parsePacmanProvide(p);
        return parsed.ok ? parsed.provide.name : (parsed.unversioned?.name ?? null);
      }),
    });
  }
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The packages of an apt repository's `Packages` file. A dependency with alternatives (`a | b`) names
 * all of them: the key then covers whichever apt picks.
 */
export function aptRepositoryPackages(text: string, file = 'Packages'): RepositoryPackage[] {
  const { paragraphs, issues } = readDeb822(text, { file, fields: ['Package', 'Version', 'Filename', 'SHA256', 'Depends', 'Pre-Depends', 'Provides'] });
  if (issues.length) throw new RepositoryIndexError(`${file}:${issues[0]!.line}: ${issues[0]!.message}`);
  const relationIssues: ParseIssue[] = [];
  const packages = paragraphs.map((p) => {
    const value = (name: string) => p.fields.get(name.toLowerCase())?.value;
    const place = (field: string) => ({ file, line: p.fields.get(field.toLowerCase())?.line ?? p.line, field });
    const depends = ['Pre-Depends', 'Depends'].flatMap((field) => parseRelations(value(field) ?? '', place(field), relationIssues).flatMap((clause) => clause.map((d) => d.name)));
    return {
      name: value('Package') ?? '',
      version: value('Version') ?? '',
      // apt-ftparchive names the files of a flat repository relative to it: "./NAME_VERSION_ARCH.deb".
      filename: value('Filename')?.replace(/^\.\//, '') ?? '',
      sha256: value('SHA256')?.toLowerCase() ?? '',
      depends: [...new Set(depends)],
      provides: parseProvides(value('Provides') ?? '', place('Provides'), relationIssues).map((provide) => provide.name),
    };
  });
  if (relationIssues.length) throw new RepositoryIndexError(`${relationIssues[0]!.file}:${relationIssues[0]!.line}: ${relationIssues[0]!.message}`);
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The build-set packages installing `requested` pulls in (by name, then by what they provide), and
 * the names that must come from the distribution instead.
 */
export function packageClosure(repository: readonly RepositoryPackage[], requested: readonly string[]): { fromRepository: RepositoryPackage[]; fromDistribution: string[] } {
  const byName = new Map(repository.map((p) => [p.name, p]));
  const byProvide = new Map<string, RepositoryPackage>();
  for (const p of repository) for (const name of p.provides) if (!byProvide.has(name)) byProvide.set(name, p);
  const found = new Map<string, RepositoryPackage>();
  const distribution = new Set<string>();
  const queue = [...requested];
  const seen = new Set<string>();
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const pkg = byName.get(name) ?? byProvide.get(name);
    if (!pkg) {
      distribution.add(name);
      continue;
    }
    if (found.has(pkg.name)) continue;
    found.set(pkg.name, pkg);
    queue.push(...pkg.depends);
  }
  return { fromRepository: [...found.values()].sort((a, b) => a.name.localeCompare(b.name)), fromDistribution: [...distribution].sort() };
}

/** What a partition's key is made of besides the description: the resolved inputs. */
export interface PartitionInputs {
  placed: PlacedPartition;
  table: 'gpt' | 'mbr';
  arch: string;
  mode: CacheMode;
  installer: PackageInstaller;
  /** The build set's repository's packages (empty without one). */
  repository: readonly RepositoryPackage[];
  /** The sha256 of each artifact named by a file entry, by file name. */
  artifacts: ReadonlyMap<string, string>;
  /**
   * The distribution's state where packages come from it (the base OS and instance versions): always
   * with apt, whose Essential set the tree is bootstrapped from; null when no package does.
   */
  distribution: string | null;
}

/** Whether a partition's packages take anything from the distribution (and its state belongs in the key). */
export function needsDistribution(installer: PackageInstaller, fromDistribution: readonly string[]): boolean {
  return installer !== 'pacman' || fromDistribution.length > 0;
}

/** The canonical text a partition's cache key is the hash of. */
export function partitionKeyMaterial(inputs: PartitionInputs): string {
  const { placed, mode } = inputs;
  const partition: ImagePartition = placed.partition;
  const files = partition.file.map((file) => {
    const kind = fileKind(file);
    const content = kind === 'artifact' ? `sha256:${inputs.artifacts.get(file.artifact!) ?? 'missing'}` : file[kind]!;
    return { path: file.path, kind, mode: file.mode ?? null, content };
  });
  const packages = (() => {
    if (mode === 'aggressive' || partition.packages.length === 0) return { requested: partition.packages };
    const closure = packageClosure(inputs.repository, partition.packages);
    return {
      requested: partition.packages,
      installer: inputs.installer,
      repository: closure.fromRepository.map((p) => `${p.name} ${p.version} ${p.sha256}`),
      distribution: closure.fromDistribution,
      distributionState: needsDistribution(inputs.installer, closure.fromDistribution) ? inputs.distribution : null,
    };
  })();
  return JSON.stringify({
    format: PARTITION_FORMAT,
    arch: inputs.arch,
    table: inputs.table,
    label: partition.label,
    size: placed.size,
    type: placed.type,
    filesystem: partition.filesystem,
    files,
    packages,
  });
}
