/**
 * Streams an upload's body into a file, with its sha256 and size, and makes it durable before it
 * returns. Reading the body, writing the file and flushing it to disk overlap: the body is hashed as
 * it arrives and written in large batches while the next batch is read, and the data written so far is
 * flushed (fdatasync) every SYNC_BYTES in the background, so the fsync at the end has only the tail
 * to write instead of the whole file (the page cache would otherwise hold all of it until then).
 * Memory stays bounded by a few batches whatever the size of the file. A tap (package-listing.ts) sees
 * every chunk as well, and holds the body back while it is behind.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ApiError } from '../http/http-error.js';

/** Chunks of the body are gathered into one write of about this size. */
const WRITE_BYTES = 4 * 1024 * 1024;
/** A background fdatasync is started after this much more has been written. */
const SYNC_BYTES = 64 * 1024 * 1024;

/** Something else that reads the body as it streams past; a promise it returns holds the body back until it resolves. */
export interface BodyTap {
  write(chunk: Uint8Array): Promise<void> | undefined;
}

/** Streams `body` into `path` (created exclusively), hashing and counting; fsynced before it returns. */
export async function receiveFile(body: ReadableStream<Uint8Array>, path: string, maxBytes: number, tap?: BodyTap): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(path, 'wx', 0o644);
  // At most one write and one flush run at a time. A failed write or flush is kept and thrown when the
  // body has been read: an error fdatasync reports is reported once, so a later fsync could miss it.
  let writing: Promise<void> = Promise.resolve();
  let flushing: Promise<void> | null = null;
  let failure: unknown = null;
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let written = 0;
  let flushedUpTo = 0;
  // A short write (a disk filling up) is continued: the next write then fails with the reason (ENOSPC).
  const writeAll = async (chunks: Uint8Array[], bytes: number) => {
    const { bytesWritten } = await handle.writev(chunks);
    if (bytesWritten === bytes) return;
    const rest = Buffer.concat(chunks).subarray(bytesWritten);
    for (let offset = 0; offset < rest.length; ) {
      const { bytesWritten: more } = await handle.write(rest, offset, rest.length - offset);
      if (more === 0) throw new Error(`writing ${path} made no progress`);
      offset += more;
    }
  };
  const flush = () => {
    flushedUpTo = written;
    flushing = handle.datasync().catch((error: unknown) => void (failure ??= error)).finally(() => (flushing = null));
  };
  const write = async () => {
    await writing;
    if (failure) throw failure;
    const chunks = batch;
    const bytes = batchBytes;
    batch = [];
    batchBytes = 0;
    writing = writeAll(chunks, bytes).then(
      () => {
        written += bytes;
        if (written - flushedUpTo >= SYNC_BYTES && !flushing) flush();
      },
    ).catch((error: unknown) => void (failure ??= error));
  };
  try {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read().catch((error: unknown) => {
        // The client went away mid-body (a killed executor, a dropped connection): its request, not the server, failed.
        throw new ApiError(400, 'upload_interrupted', `the body ended early after ${size} bytes (${(error as Error).message || 'connection closed'}); upload the file again`);
      });
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new ApiError(413, 'payload_too_large', `package files are limited to ${maxBytes} bytes`);
      }
      hash.update(value);
      const behind = tap?.write(value);
      if (behind) await behind;
      batch.push(value);
      batchBytes += value.byteLength;
      if (batchBytes >= WRITE_BYTES) await write();
    }
    if (batchBytes > 0) await write();
    await writing;
    await flushing;
    if (failure) throw failure;
    await handle.sync();
  } finally {
    // A write or flush still running when the body failed must end before the file is closed (and removed).
    await writing;
    await flushing;
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size };
}
