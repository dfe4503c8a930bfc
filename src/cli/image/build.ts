/**
 * `quarters image build IMAGE.toml`: a disk image from a description and a build set's repository.
 * Each partition is made as a filesystem file from a tree (file entries on the host; packages and
 * shell entries in the executor's clean environment), kept in the partition cache under the hash of
 * what went into it, and written into the disk at its offset after `sfdisk` has written the table.
 * Nothing is mounted on the host; the output appears whole (renamed into place) or not at all.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { needsDistribution, packageClosure, partitionKeyMaterial, type PackageInstaller, type PartitionInputs } from '../../core/image/cache-key.js';
import { CACHE_MODES, fileKind, type CacheMode, type ImageDescription } from '../../core/image/description.js';
import { layOut, MIB, type PlacedPartition } from '../../core/image/layout.js';
import { loadConfigFile } from '../../common/config-file.js';
import { SERVER_SECRET_KEYS, serverConfigSchema } from '../../core/server-config.js';
import { executorConfigPath, loadExecutorConfig } from '../../executor/config.js';
import { clientSettings } from '../client/config.js';
import { CommandError, UsageError } from '../command.js';
import { openBuildHost, type BuildHost } from '../local-build/container.js';
import { imageCacheDir, PartitionCache } from './cache.js';
import { loadImageDescription } from './description-file.js';
import { assembleDisk, convertToQcow2, makeFilesystem } from './disk.js';
import { runInGuest } from './guest.js';
import { fetchImageRepository, repositorySource, type ImageRepository } from './repository.js';
import { replaceLinksByCopies, writeFileEntries } from './tree.js';

/** The options of `quarters image build` (program.ts declares them). */
export interface ImageBuildFlags {
  from?: string;
  out?: string;
  cache?: string;
  cacheDir?: string;
  dataDir?: string;
  config?: string;
  server?: string;
  executorConfig?: string;
  branch?: string;
  arch?: string;
}

/** The architecture name distributions use for this machine's. */
function machineArch(): string {
  return ({ x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', riscv64: 'riscv64', loong64: 'loongarch64' } as Record<string, string>)[process.arch] ?? process.arch;
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Lines of the guest's output on stderr, indented under the partition they belong to. */
function guestLog(): PassThrough {
  const log = new PassThrough();
  let pending = '';
  log.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop()!;
    for (const line of lines) process.stderr.write(`    | ${line}\n`);
  });
  log.on('end', () => pending && process.stderr.write(`    | ${pending}\n`));
  return log;
}

interface Context {
  description: ImageDescription;
  file: string;
  arch: string;
  /** The executor's side, opened on first use: a partition found in the cache may need none. */
  host: () => Promise<BuildHost>;
  repository: ImageRepository | null;
  cache: PartitionCache;
  work: string;
  modeOverride: CacheMode | undefined;
  signal: AbortSignal;
}

/** Makes (or finds in the cache) the filesystem of one partition; null for a partition without one. */
async function partitionFilesystem(context: Context, placed: PlacedPartition): Promise<string | null> {
  const { partition, index } = placed;
  const note = (text: string) => process.stderr.write(`quarters image: partition ${index + 1} ${partition.label} (${partition.filesystem}, ${placed.size / MIB} MiB): ${text}\n`);
  if (partition.filesystem === 'none') {
    note('no filesystem, left empty');
    return null;
  }
  const { repository } = context;
  const mode = context.modeOverride ?? partition.cache ?? context.description.cache;
  const where = (i: number) => `${context.file}: image.partition.${index}.file.${i}`;
  for (const [i, file] of partition.file.entries()) {
    if (fileKind(file) === 'artifact' && !repository?.files.has(file.artifact!)) throw new CommandError(`${where(i)}: ${repository ? `the build set's repository ${repository.location} has no file ${file.artifact}` : `artifact ${file.artifact} needs the build set's repository: give --from`}`);
  }
  const usesGuest = partition.packages.length > 0 || partition.file.some((f) => f.shell !== undefined);
  // The repository's kind says the flavour; without one, the environment's package manager decides.
  const installer: PackageInstaller = repository?.kind ?? 'environment';
  const inputs: PartitionInputs = {
    placed, table: context.description.table, arch: context.arch, mode, installer,
    repository: repository?.packages ?? [],
    artifacts: repository?.files ?? new Map(),
    distribution: null,
  };
  // The distribution's state only matters where a package comes from it: only then is the executor's base asked.
  if (mode === 'normal' && partition.packages.length && needsDistribution(installer, packageClosure(inputs.repository, partition.packages).fromDistribution)) {
    const host = await context.host();
    inputs.distribution = `base ${host.base.version}, instance ${host.instance.key} ${host.instance.version}`;
  }
  const material = partitionKeyMaterial(inputs);
  const key = createHash('sha256').update(material).digest('hex');
  const began = Date.now();
  if (mode !== 'transient') {
    const cached = await context.cache.find(key);
    if (cached) {
      note(`reused from the cache (${mode}, key ${key.slice(0, 12)}) in ${seconds(began)}`);
      return cached;
    }
  }
  const tree = join(context.work, `tree-${index}`);
  await mkdir(tree);
  await chmod(tree, 0o755);
  await writeFileEntries(tree, partition.file, (name) => (repository?.files.has(name) ? join(repository.dir, name) : null), where);
  if (usesGuest) {
    const host = await context.host();
    const log = guestLog();
    try {
      await runInGuest(host, {
        name: `qi-${process.pid}-p${index}`, tree, repository: repository?.dir ?? null, installer,
        packages: partition.packages,
        shells: partition.file.filter((f) => f.shell !== undefined).map((f) => ({ path: f.path, script: f.shell!, mode: f.mode ?? 0o644 })),
        log, signal: context.signal,
      });
    } catch (error) {
      if (error instanceof CommandError) throw new CommandError(`partition ${partition.label}: ${error.message}`);
      throw error;
    } finally {
      log.end();
    }
  }
  if (partition.filesystem === 'vfat') await replaceLinksByCopies(tree, `partition ${partition.label}`);
  const made = join(context.work, `partition-${index}.img`);
  await makeFilesystem(partition.filesystem, tree, made, placed.size, partition.label);
  await rm(tree, { recursive: true, force: true });
  if (mode === 'transient') {
    note(`built in ${seconds(began)} (transient: not cached)`);
    return made;
  }
  const stored = await context.cache.store(key, made, { label: partition.label, mode, inputs: JSON.parse(material) as unknown });
  note(`built in ${seconds(began)}, cached (${mode}, key ${key.slice(0, 12)})`);
  return stored;
}

/** Builds the image; resolves to 0, or throws a CommandError/ConfigError/UsageError saying what is wrong. */
export async function runImageBuild(file: string, flags: ImageBuildFlags): Promise<number> {
  if (flags.cache !== undefined && !(CACHE_MODES as readonly string[]).includes(flags.cache)) throw new UsageError(`quarters image build: --cache is ${CACHE_MODES.join(', ')}, not "${flags.cache}"`);
  const began = Date.now();
  const description = loadImageDescription(file);
  const usesGuest = description.partition.some((p) => p.packages.length > 0 || p.file.some((f) => f.shell !== undefined));
  const executorConfig = flags.executorConfig ?? executorConfigPath();
  let executorArch: string | null = null;
  if (usesGuest) {
    if (process.getuid?.() !== 0) throw new CommandError('packages and shell entries run in the executor\'s clean containers (overlayfs, systemd-nspawn): run quarters image build as root');
    executorArch = loadExecutorConfig(executorConfig).arch;
  }
  const arch = flags.arch ?? executorArch ?? machineArch();
  if (executorArch && arch !== executorArch) throw new CommandError(`--arch ${arch}: this host installs for ${executorArch} (arch in the executor config)`);
  let opened: Promise<BuildHost> | null = null;
  const host = () => (opened ??= openBuildHost(executorConfig, flags.branch, (line) => process.stderr.write(`quarters image: ${line}\n`)));
  const placed = layOut(description, arch, file);

  const configFile = flags.config ?? (process.env.QUARTERS_CONFIG || undefined);
  const dataDir = flags.dataDir ?? (configFile ? loadConfigFile(serverConfigSchema, configFile, SERVER_SECRET_KEYS).data_dir : null);
  const cache = new PartitionCache(imageCacheDir(flags.cacheDir));
  const work = await cache.workDir();
  const name = `${description.label}.${description.format}`;
  // A directory (ending in "/"): the image goes there under its default name (the server's image builds).
  const out = flags.out === undefined ? name : flags.out.endsWith('/') ? join(flags.out, name) : flags.out;
  const partial = `${out}.part`;
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => controller.abort(new Error(signal));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    let repository: ImageRepository | null = null;
    if (flags.from !== undefined) {
      const server = async () => {
        try {
          return (await clientSettings({ ...(flags.server ? { server: flags.server } : {}) })).server;
        } catch (error) {
          if (error instanceof UsageError) throw new UsageError(`--from ${flags.from}: a local build set needs --data-dir DIR (or --config FILE); one on the server: ${error.message}`);
          throw error;
        }
      };
      const source = await repositorySource(flags.from, { dataDir, arch, server });
      repository = await fetchImageRepository(source, join(work, 'repository'), cache.packagesDir(), (line) => process.stderr.write(`${line.replace(/^quarters: /, 'quarters image: ')}\n`));
    }
    const context: Context = { description, file, arch, host, repository, cache, work, modeOverride: flags.cache as CacheMode | undefined, signal: controller.signal };
    const filesystems: (string | null)[] = [];
    for (const p of placed) {
      filesystems.push(await partitionFilesystem(context, p));
      if (controller.signal.aborted) throw new CommandError('stopped');
    }
    await rm(partial, { force: true });
    const raw = description.format === 'raw' ? partial : join(work, 'disk.raw');
    await assembleDisk(raw, description.size, description.table, placed, filesystems);
    if (description.format === 'qcow2') await convertToQcow2(raw, partial);
    await rename(partial, out);
    process.stderr.write(`quarters image: ${out}: ${description.format}, ${description.size} MiB, ${description.table}, ${placed.length} partition${placed.length > 1 ? 's' : ''}, in ${seconds(began)}\n`);
    process.stdout.write(`${out}\n`);
    return 0;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await rm(work, { recursive: true, force: true });
  }
}
