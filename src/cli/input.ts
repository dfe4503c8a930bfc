/**
 * Reading package metadata inputs: plain, .xz, .gz or .zst files (detected by their magic bytes,
 * decompressed by the system's xz/gzip/zstd in a separate process so that decompression runs on
 * another core while we parse), and tar archives of recipe trees.
 */
import { isAscii } from 'node:buffer';
import { openSync, readSync, closeSync, createReadStream, statSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startProcess } from '../common/child-process.js';
import type { TextFile } from '../core/recipe/model.js';

/** An input that cannot be read; the message names the file. */
export class InputError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'InputError';
  }
}

const MAGIC: { bytes: number[]; command: string[]; name: string }[] = [
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], command: ['xz', '-dc'], name: 'xz' },
  { bytes: [0x1f, 0x8b], command: ['gzip', '-dc'], name: 'gzip' },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], command: ['zstd', '-dcq'], name: 'zstd' },
];

/** The decompression command for a file, from its first bytes; null for an uncompressed file. */
export function decompressorOf(file: string): string[] | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new InputError(file, `cannot open: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    const head = Buffer.alloc(8);
    const n = readSync(fd, head, 0, 8, 0);
    const found = MAGIC.find((m) => n >= m.bytes.length && m.bytes.every((b, i) => head[i] === b));
    return found ? found.command : null;
  } finally {
    closeSync(fd);
  }
}

/** A decompressor at work: its output, and how it ended (settles once, never rejects). */
interface Decompression {
  bin: string;
  output: NodeJS.ReadableStream & { destroy(): void };
  ended: Promise<{ code: number | null; signal: string | null; error?: Error; stderr: string }>;
  stop(): void;
}

/**
 * Starts reading a file's decompressed bytes: the file itself if it is not compressed, else the
 * output of the system's decompressor in its own process (startProcess, not execa: this module is
 * loaded by every command, and execa's module graph alone takes longer to load than `graph rdeps`
 * takes to parse).
 */
function decompress(file: string): Decompression {
  const command = decompressorOf(file);
  if (!command) {
    const stream = createReadStream(file, { highWaterMark: 1 << 20 });
    const ended = new Promise<{ code: number | null; signal: string | null; error?: Error; stderr: string }>((resolve) => {
      stream.once('error', (error) => resolve({ code: null, signal: null, error, stderr: '' }));
      stream.once('close', () => resolve({ code: 0, signal: null, stderr: '' }));
    });
    return { bin: 'read', output: stream, ended, stop: () => stream.destroy() };
  }
  const [bin, ...args] = command as [string, ...string[]];
  // startProcess's result never rejects: a consumer that stops early leaves no unhandled rejection.
  const { child, result } = startProcess(bin, [...args, file], { stdout: 'pipe', stderr: 'pipe', capture: 'stderr' });
  const ended = result.then((r) => ({ code: r.exitCode, signal: r.signal, error: r.startError ?? undefined, stderr: r.stderr.trim() }));
  return { bin, output: child.stdout!, ended, stop: () => child.kill() };
}

/** Waits for a decompression's end; an InputError if it failed. */
async function finished(file: string, decompression: Decompression): Promise<void> {
  const { code, signal, error, stderr } = await decompression.ended;
  if (error && decompression.bin === 'read') throw new InputError(file, `cannot read: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
  if (error || code !== 0) {
    const reason = stderr || (error ? error.message : signal ? `killed by ${signal}` : `exit status ${code}`);
    throw new InputError(file, `${decompression.bin} failed: ${reason}`);
  }
}

/** Streams a file's decompressed bytes. A failing decompressor ends the stream with an InputError. */
export async function* readDecompressed(file: string): AsyncGenerator<Buffer> {
  const decompression = decompress(file);
  let done = false;
  try {
    for await (const chunk of decompression.output as AsyncIterable<Buffer>) yield chunk;
    done = true;
  } catch (error) {
    // A file that cannot be read is named in an InputError (finished throws it); anything else goes on as it is.
    await finished(file, decompression);
    throw error;
  } finally {
    // The consumer stopped early (or failed): the rest of the output is not wanted.
    if (!done) decompression.stop();
  }
  await finished(file, decompression);
}

/**
 * Hands a file's decompressed bytes to `onChunk` as they are read, synchronously: no promise and
 * no stream buffer per chunk, and the decompressor's pipe is drained again as soon as the handler
 * returns (a decompressor ahead of its reader waits on a full pipe). Rejects with an InputError if
 * the decompressor fails, or with the handler's own error (the decompressor is then stopped).
 */
export async function eachDecompressedChunk(file: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  const decompression = decompress(file);
  let failure: unknown = null;
  decompression.output.on('data', (chunk: Buffer) => {
    if (failure !== null) return;
    try {
      onChunk(chunk);
    } catch (error) {
      failure = error;
      decompression.stop();
    }
  });
  await new Promise<void>((resolve) => {
    decompression.output.once('close', resolve);
    decompression.output.once('error', () => resolve());
  });
  if (failure !== null) throw failure;
  await finished(file, decompression);
}

/**
 * Decodes chunks of UTF-8 one after another. A chunk that is all ASCII is copied as it is (latin1,
 * one byte a character), several times faster than decoding it, and the same text: an archive index
 * is mostly ASCII, and a string made so takes the faster paths of every search in it.
 */
export class Utf8Chunks {
  private readonly decoder = new TextDecoder();
  // Whether the decoder may hold the first bytes of a character that the last chunk cut.
  private holding = false;

  decode(chunk: Buffer): string {
    if (!this.holding && isAscii(chunk)) return chunk.toString('latin1');
    this.holding = chunk.length > 0 && chunk[chunk.length - 1]! >= 0x80;
    return this.decoder.decode(chunk, { stream: true });
  }

  /** What the decoder still holds: a character cut by the end of the input, as U+FFFD. */
  end(): string {
    return this.decoder.decode();
  }
}

/** Reads a whole (possibly compressed) file as UTF-8 text. */
export async function readInputText(file: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of readDecompressed(file)) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** One file of a recipe tree (the core's TextFile). */
export type TreeFile = TextFile;

/**
 * Reads the regular files of a recipe tree, from a directory or a (possibly compressed) tar
 * archive, keeping those whose relative path `accept` takes. Paths use `/` and have no leading `./`.
 */
export async function readTree(root: string, accept: (path: string) => boolean): Promise<TreeFile[]> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch (error) {
    throw new InputError(root, `cannot open: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return isDirectory ? readDirectoryTree(root, accept) : readTarTree(root, accept);
}

async function readDirectoryTree(root: string, accept: (path: string) => boolean): Promise<TreeFile[]> {
  const { readFile } = await import('node:fs/promises');
  const files: TreeFile[] = [];
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = relative(root, join(entry.parentPath, entry.name)).split('\\').join('/');
    if (accept(path)) files.push({ path, text: await readFile(join(root, path), 'utf8') });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function readTarTree(archive: string, accept: (path: string) => boolean): Promise<TreeFile[]> {
  // Loaded here, not at the top: only recipe trees in tarballs need it.
  const { default: tarStream } = await import('tar-stream');
  const extract = tarStream.extract();
  const files: TreeFile[] = [];
  // pipeline destroys the extractor with the decompressor's error, which ends the loop below with it.
  const feeding = pipeline(Readable.from(readDecompressed(archive)), extract).then(() => null, (error: unknown) => error);
  try {
    for await (const entry of extract) {
      const path = entry.header.name.replace(/^(\.\/)+/, '');
      if (entry.header.type === 'file' && accept(path)) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        files.push({ path, text: Buffer.concat(chunks).toString('utf8') });
      } else {
        entry.resume();
      }
    }
  } catch (error) {
    throw error instanceof InputError ? error : new InputError(archive, `not a readable tar archive: ${(error as Error).message}`);
  }
  const failure = await feeding;
  if (failure) throw failure instanceof InputError ? failure : new InputError(archive, String(failure));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
