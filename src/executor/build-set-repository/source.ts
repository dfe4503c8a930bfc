/**
 * Where a build set's repository comes from: the quarters server over HTTP (`GET /repos/NS/ITER/ARCH/`
 * and its files; public and read-only, so no credential is sent), or the server's own directory on a
 * shared filesystem (repositories_dir). Both answer the same four questions; what they hand over is
 * verified by the caller against the index either way.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import '../zod-messages.js';
import * as z from 'zod/mini';
import { SystemFailure } from '../failure.js';
import { requestProblem, serverMessage } from '../server-http.js';

/** A file handed over by a source: its sha256 and size as written. */
export interface Received {
  sha256: string;
  size: number;
}

export interface RepositorySource {
  /** The repository's URL or directory, for messages. */
  readonly location: string;
  /** Whether its files come over the network: worth caching by checksum. */
  readonly remote: boolean;
  /** The URL or path of one of its files, for messages. */
  locate(name: string): string;
  /** The names of its files; empty while it has none (nothing of the build set built yet). */
  list(): Promise<string[]>;
  /** A whole file: an index, small. */
  read(name: string): Promise<Uint8Array>;
  /** Puts file `name` at `dest` (a new file), hashing it; stops with SystemFailure past `maxBytes`. */
  copyTo(name: string, dest: string, maxBytes: number): Promise<Received>;
}

const listingSchema = z.object({ files: z.array(z.object({ name: z.string(), size: z.number() })) });

/** The most an index or a listing may take in memory: a build set's pacman database is kilobytes, Arch's whole extra one about 10 MB. */
const MAX_INDEX_BYTES = 64 * 1024 ** 2;

/** GETs a whole small file into memory. */
async function getAll(url: string, idleMs: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  await get(url, idleMs, (chunk) => {
    size += chunk.byteLength;
    if (size > MAX_INDEX_BYTES) throw new SystemFailure(`cannot fetch the build set's repository: ${url}: larger than ${MAX_INDEX_BYTES / 1024 ** 2} MiB, too large for an index`);
    chunks.push(chunk);
  });
  return Buffer.concat(chunks);
}

/** The repository at `url` (ending in `/`) on the quarters server. `idleTimeoutMs`: how long a request may go without data. */
export function httpSource(url: string, options: { idleTimeoutMs?: number } = {}): RepositorySource {
  const idleMs = options.idleTimeoutMs ?? 60_000;
  const locate = (name: string) => `${url}${encodeURIComponent(name)}`;
  return {
    location: url,
    remote: true,
    locate,
    async list() {
      const body = await getAll(url, idleMs);
      let listing;
      try {
        listing = listingSchema.parse(JSON.parse(body.toString('utf8')));
      } catch {
        throw new SystemFailure(`cannot fetch the build set's repository: ${url} answered no listing ({"files": [{"name", "size"}]})`);
      }
      return listing.files.map((f) => f.name);
    },
    read: (name) => getAll(locate(name), idleMs),
    async copyTo(name, dest, maxBytes) {
      const handle = await open(dest, 'wx', 0o644);
      const hash = createHash('sha256');
      let size = 0;
      try {
        await get(locate(name), idleMs, async (chunk) => {
          size += chunk.byteLength;
          if (size > maxBytes) throw new SystemFailure(`${locate(name)} does not verify: it is larger than the ${maxBytes} bytes the index says`);
          hash.update(chunk);
          await handle.write(chunk);
        });
      } finally {
        await handle.close();
      }
      return { sha256: hash.digest('hex'), size };
    },
  };
}

/** GETs `url`, handing each chunk of the body to `onChunk`; SystemFailure naming the URL on any error, or after idleMs without data. */
async function get(url: string, idleMs: number, onChunk: (chunk: Uint8Array) => void | Promise<void>): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const idle = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), idleMs);
  };
  const fail = (reason: string) => new SystemFailure(`cannot fetch the build set's repository: ${url}: ${reason}`);
  const problem = (error: unknown) => (controller.signal.aborted ? `no answer for ${(idleMs / 1000).toFixed(1)} s` : requestProblem(error));
  idle();
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal, redirect: 'error' });
    } catch (error) {
      throw fail(problem(error));
    }
    if (!response.ok) throw fail(`HTTP ${response.status}: ${await serverMessage(response)}`);
    if (!response.body) throw fail('the answer has no body');
    const reader = response.body.getReader();
    try {
      for (;;) {
        const next = await reader.read().catch((error: unknown) => {
          throw fail(problem(error));
        });
        if (next.done) break;
        idle();
        await onChunk(next.value);
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The repository in a directory of the server's (repositories_dir/NS/ITER/ARCH), on a shared filesystem. */
export function directorySource(dir: string): RepositorySource {
  const locate = (name: string) => join(dir, name);
  const fail = (name: string, error: unknown) => new SystemFailure(`cannot read the build set's repository: ${locate(name)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  return {
    location: `${dir}/`,
    remote: false,
    locate,
    async list() {
      try {
        return (await readdir(dir)).filter((name) => !name.startsWith('.'));
      } catch (error) {
        // The server makes the directory with the first package it adds.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw fail('', error);
      }
    },
    async read(name) {
      try {
        return await readFile(locate(name));
      } catch (error) {
        throw fail(name, error);
      }
    },
    async copyTo(name, dest, maxBytes) {
      // A hard link is a snapshot too: the server replaces files by renaming new ones over them, never in place.
      try {
        await link(locate(name), dest);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM') throw fail(name, error);
        try {
          await copyFile(locate(name), dest);
        } catch (copyError) {
          throw fail(name, copyError);
        }
      }
      return hashFile(dest, maxBytes, locate(name));
    },
  };
}

/** The sha256 and size of a file, reading at most maxBytes + 1 bytes. */
export async function hashFile(path: string, maxBytes: number, where: string = path): Promise<Received> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new SystemFailure(`${where} does not verify: it is larger than the ${maxBytes} bytes the index says`);
    hash.update(chunk);
  }
  return { sha256: hash.digest('hex'), size };
}
