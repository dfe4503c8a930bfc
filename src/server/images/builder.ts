/**
 * Disk images of build sets (`[[images]]` in the server config): when every build of an iteration's
 * architecture is built (the engine's settle), each configured image whose `namespaces` match is
 * built from that iteration's repository by `quarters image build` in a child process — the CLI
 * drives the executor's clean environment on this host; the server itself never touches it — one at
 * a time, into DATA_DIR/images/NAMESPACE/ITERATION/ARCH/NAME/ beside its log. An image may also be
 * requested through the API. The store records each image once per iteration and architecture.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Logger } from '../../common/log.js';
import { completeArchitectures, matchesNamePattern } from '../../core/image/server-images.js';
import type { ServerImage } from '../../core/server-config.js';
import type { Repositories } from '../artifacts/repository.js';
import type { BuildStore, IterationRow, NamespaceRow } from '../store/build-store.js';
import type { ImageRow, ImageStore } from '../store/image-store.js';

/** The quarters CLI of this installation (dist/cli/main.js beside dist/server/). */
const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** A request the builder cannot take; the route chooses the HTTP status by `code`. */
export class ImageRequestError extends Error {
  override name = 'ImageRequestError';
  constructor(
    readonly code: 'unknown_image' | 'not_ready',
    message: string,
  ) {
    super(message);
  }
}

export interface ImageBuilderOptions {
  store: BuildStore;
  images: ImageStore;
  repositories: Repositories;
  dataDir: string;
  specs: readonly ServerImage[];
  log: Logger;
  /** The command that runs the CLI (default: node and this installation's dist/cli/main.js). */
  command?: readonly string[];
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Where every image of an iteration is kept (one directory per architecture and image below it). */
export function iterationImagesDir(dataDir: string, namespace: string, iteration: number): string {
  return join(dataDir, 'images', namespace, String(iteration));
}

export class ImageBuilder {
  private queue: Promise<void> = Promise.resolve();
  private readonly stop = new AbortController();

  constructor(private readonly options: ImageBuilderOptions) {}

  /** Where an image of an iteration and architecture is kept, with its build.log. */
  dir(namespace: string, iteration: number, arch: string, name: string): string {
    return join(iterationImagesDir(this.options.dataDir, namespace, iteration), arch, name);
  }

  /** The engine's settle: starts the configured images of the latest iteration's complete architectures. Returns at once, never throws. */
  settled(namespaceId: number): void {
    try {
      const { store } = this.options;
      const ns = store.namespaceById(namespaceId);
      const iteration = ns && store.latestIteration(ns.id);
      if (!ns || !iteration) return;
      const specs = this.options.specs.filter((spec) => spec.namespaces.some((pattern) => matchesNamePattern(pattern, ns.name)));
      if (!specs.length) return;
      for (const arch of completeArchitectures(store.builds(iteration.id))) {
        for (const spec of specs) {
          const row = this.options.images.start(iteration.id, arch, spec.name);
          if (row) this.enqueue(row, ns, iteration, spec);
        }
      }
    } catch (error) {
      this.options.log.error({ err: error, namespaceId }, 'could not start the images of a build set');
    }
  }

  /** Builds the named image of the build set's latest iteration, for `arch` or every complete architecture; a built or building one is left as it is. */
  request(ns: NamespaceRow, name: string, arch: string | undefined): ImageRow[] {
    const spec = this.options.specs.find((s) => s.name === name);
    if (!spec) throw new ImageRequestError('unknown_image', `no image named "${name}" in the server's [[images]]${this.options.specs.length ? ` (${this.options.specs.map((s) => s.name).join(', ')})` : ''}`);
    const iteration = this.options.store.latestIteration(ns.id);
    const complete = iteration ? completeArchitectures(this.options.store.builds(iteration.id)) : [];
    const archs = arch === undefined ? complete : [arch];
    if (!iteration || !archs.length || archs.some((a) => !complete.includes(a))) {
      throw new ImageRequestError('not_ready', `build set "${ns.name}"${iteration ? ` iteration ${iteration.number}` : ''} has no architecture${arch ? ` ${arch}` : ''} whose builds are all built: an image is made from a complete repository`);
    }
    return archs.map((a) => {
      const row = this.options.images.restart(iteration.id, a, spec.name);
      if (row) this.enqueue(row, ns, iteration, spec);
      return row ?? this.options.images.find(iteration.id, a, spec.name)!;
    });
  }

  /** Resolves when no image is being built or waiting. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Stops the running build (its row stays building until the next start fails it). */
  close(): void {
    this.stop.abort();
  }

  private enqueue(row: ImageRow, ns: NamespaceRow, iteration: IterationRow, spec: ServerImage): void {
    this.queue = this.queue.then(() => this.build(row, ns, iteration, spec)).catch((error: unknown) => {
      this.options.log.error({ err: error, image: spec.name, namespace: ns.name }, 'image build failed unexpectedly');
      this.options.images.failed(row.id, `quarters: ${(error as Error).message ?? String(error)}`);
    });
  }

  private async build(row: ImageRow, ns: NamespaceRow, iteration: IterationRow, spec: ServerImage): Promise<void> {
    const { options } = this;
    const dir = this.dir(ns.name, iteration.number, row.arch, spec.name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const [command, ...prefix] = options.command ?? [process.execPath, CLI];
    const args = [
      ...prefix, 'image', 'build', spec.description,
      '--from', options.repositories.dir(ns.name, iteration.number, row.arch),
      '--out', `${dir}/`, '--arch', row.arch, '--cache-dir', join(options.dataDir, 'image-cache'),
      ...(spec.executor_config ? ['--executor-config', spec.executor_config] : []),
      ...(spec.cache ? ['--cache', spec.cache] : []),
    ];
    options.log.info({ image: spec.name, namespace: ns.name, iteration: iteration.number, arch: row.arch }, 'building an image');
    // Only what the CLI needs: none of the server's own environment (its secrets' files, its config) goes along.
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
    if (process.env.QUARTERS_EXECUTOR_CONFIG) env.QUARTERS_EXECUTOR_CONFIG = process.env.QUARTERS_EXECUTOR_CONFIG;
    const result = await execa(command!, args, { reject: false, all: true, extendEnv: false, env, cancelSignal: this.stop.signal, cwd: dir });
    await writeFile(join(dir, 'build.log'), `${result.all ?? ''}\n`);
    if (result.exitCode !== 0) {
      const reason = result.isCanceled ? 'the server stopped while building it' : (result.stderr.trim().split('\n').at(-1) ?? `quarters image build exited with ${result.exitCode}`);
      options.images.failed(row.id, reason);
      options.log.warn({ image: spec.name, namespace: ns.name, arch: row.arch, reason }, 'image build failed');
      return;
    }
    const filename = basename(result.stdout.trim());
    const path = join(dir, filename);
    options.images.built(row.id, { filename, size: (await stat(path)).size, sha256: await sha256File(path) });
    options.log.info({ image: spec.name, namespace: ns.name, arch: row.arch, file: filename }, 'image built');
  }
}
