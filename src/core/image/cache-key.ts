/**
 * What a partition is built from, as one canonical text whose hash keys the partition cache: the
 * partition's section of the description, its placed size and type, each file entry's content, and,
 * by caching mode, the exact packages (name, version, sha256 of every build-set package the requested
 * ones pull in, and the distribution's state) or only the requested names. Pure: the caller hashes it.
 */
import { pacmanDescFields } from '../repository-index.js';
import { parsePacmanDependency, parsePacmanProvide } from '../recipe/pacman-dependency.js';
import { fileKind, type CacheMode, type ImagePartition } from './description.js';
import type { PlacedPartition } from './layout.js';

/** Bumped when the way partitions are made changes, so that older cached partitions are not reused. */
export const PARTITION_FORMAT = 1;

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
  /** The build set's repository's packages (empty without one). */
  repository: readonly RepositoryPackage[];
  /** The sha256 of each artifact named by a file entry, by file name. */
  artifacts: ReadonlyMap<string, string>;
  /** The distribution's state where packages come from it (the base OS and instance versions); null when no package does. */
  distribution: string | null;
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
      repository: closure.fromRepository.map((p) => `${p.name} ${p.version} ${p.sha256}`),
      distribution: closure.fromDistribution,
      distributionState: closure.fromDistribution.length ? inputs.distribution : null,
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
