/**
 * Uploading a job's output to the quarters server, from the host (never the guest): each file is
 * PUT to /api/v1/builds/BUILD/artifacts/NAME, streamed, with the executor token, the job token and
 * the file's sha256. A server that answers 4xx rejected the file: the job fails with its message.
 * A server that cannot be reached (or answers 5xx) is retried with exponential backoff.
 *
 * The output directory is the guest's: build code may swap a file it listed for a link (to a host
 * file root can read) before root opens it. So the directory is opened once, each entry is opened
 * through it once without following a link, checked on the open file (a regular file with one
 * link) and hashed and sent from that file descriptor, never opened by name again.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RESOURCE_USAGE_HEADER, type ResourceUsageReport } from '../core/resource-usage.js';
import { uploadOrder } from '../core/build-set/debian-source.js';
import { BuildFailure, SystemFailure } from './failure.js';
import { pathInside } from './no-follow.js';
import { jobServer, normalizeServerUrl } from './job-server.js';
import { requestProblem, serverMessage } from './server-http.js';
import type { JobSession } from './session.js';
import type { ResourceUsage, WorkspaceState } from './workspace.js';

export interface UploadTarget {
  serverUrl: string;
  buildId: string;
  executorToken: string;
  jobToken: string;
}

export interface UploadOptions {
  attempts: number;
  /** First retry delay; doubles each attempt. */
  backoffMs: number;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/** The sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** A job's resource usage as the server takes it (src/core/resource-usage.ts). */
export function usageReport(usage: ResourceUsage): ResourceUsageReport {
  return { wall_seconds: round(usage.wallSeconds), cpu_seconds: round(usage.cpuSeconds), peak_memory_bytes: usage.peakMemoryBytes, disk_bytes: usage.diskBytes };
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

/** The sha256 of an open file from its start, hex; the file stays open. */
async function sha256Of(file: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(file.createReadStream({ start: 0, autoClose: false }), hash);
  return hash.digest('hex');
}

/** Uploads one open file; throws SystemFailure when the server rejects it or stays unreachable. */
export async function uploadFile(target: UploadTarget, file: FileHandle, name: string, usage: ResourceUsage | null, options: UploadOptions): Promise<void> {
  const checksum = await sha256Of(file);
  const { size } = await file.stat();
  const url = `${normalizeServerUrl(target.serverUrl)}/api/v1/builds/${encodeURIComponent(target.buildId)}/artifacts/${encodeURIComponent(name)}`;
  let lastProblem = '';
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    if (attempt > 1) {
      const delay = options.backoffMs * 2 ** (attempt - 2);
      options.log(`quarters: upload of ${name} failed (${lastProblem}); retrying in ${(delay / 1000).toFixed(1)} s (attempt ${attempt} of ${options.attempts})`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    if (options.signal?.aborted) throw new SystemFailure(`upload of ${name} was stopped`);
    const headers: Record<string, string> = {
      authorization: `Bearer ${target.executorToken}`,
      'x-job-token': target.jobToken,
      'x-checksum-sha256': checksum,
      'content-type': 'application/octet-stream',
      'content-length': String(size),
    };
    if (usage) headers[RESOURCE_USAGE_HEADER.toLowerCase()] = JSON.stringify(usageReport(usage));
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'PUT',
        headers,
        body: Readable.toWeb(file.createReadStream({ start: 0, autoClose: false })) as ReadableStream<Uint8Array>,
        duplex: 'half',
        signal: options.signal,
      } as RequestInit);
    } catch (error) {
      lastProblem = requestProblem(error);
      continue;
    }
    if (response.ok) {
      await response.body?.cancel();
      options.log(`quarters: uploaded ${name} (${size} bytes, sha256 ${checksum})`);
      return;
    }
    const message = await serverMessage(response);
    if (response.status >= 500) {
      lastProblem = `HTTP ${response.status}: ${message}`;
      continue;
    }
    throw new SystemFailure(`the server rejected ${name}: HTTP ${response.status}: ${message}`);
  }
  throw new SystemFailure(`could not upload ${name} to ${target.serverUrl} after ${options.attempts} attempts: ${lastProblem}`);
}

/**
 * Where the job's build reports to: the configured server (job-server.ts), the build id and both
 * tokens; null when the job is no quarters build (no server, or no QUARTERS_BUILD_ID). Throws
 * SystemFailure when a credential is missing.
 */
export function buildTarget(session: JobSession): UploadTarget | null {
  const v = session.job.variables;
  const serverUrl = jobServer(session.config, session.job);
  if (!serverUrl) return null;
  if (!v.QUARTERS_BUILD_ID) {
    if (v.QUARTERS_SERVER_URL) throw new SystemFailure('QUARTERS_SERVER_URL is set but QUARTERS_BUILD_ID is not: the server must set both');
    return null;
  }
  if (!session.config.server.token) throw new SystemFailure('cannot report to the quarters server: no executor token configured ([server] token or token_file)');
  if (!v.CI_JOB_TOKEN) throw new SystemFailure('cannot report to the quarters server: the job has no CI_JOB_TOKEN');
  return { serverUrl, buildId: v.QUARTERS_BUILD_ID, executorToken: session.config.server.token, jobToken: v.CI_JOB_TOKEN };
}

/** The output directory, opened once without following a link: every entry is then opened through it. */
export function openOutputDir(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
}

/** The names of the regular files the open output directory lists, sorted. */
export async function listOutputFiles(dir: FileHandle): Promise<string[]> {
  return (await readdir(`/proc/self/fd/${dir.fd}`, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
}

/**
 * Opens the listed file `name` of the open output directory for reading, without following a link;
 * what is there now must be a regular file with one link, else the build swapped or linked it: a BuildFailure.
 */
export async function openOutputFile(dir: FileHandle, name: string): Promise<FileHandle> {
  let file: FileHandle;
  try {
    // O_NONBLOCK: a FIFO put there does not block the open.
    file = await open(pathInside(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw new BuildFailure(`the output file ${name} changed after it was listed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): not uploaded`);
  }
  const info = await file.stat();
  if (!info.isFile() || info.nlink !== 1) {
    await file.close();
    throw new BuildFailure(`the output file ${name} is ${info.isFile() ? `a regular file with ${info.nlink} links` : 'no longer a regular file'}: not uploaded`);
  }
  return file;
}

/** Uploads every file of the job's output directory when the job is a quarters build; else nothing. */
export async function uploadOutputs(session: JobSession, state: WorkspaceState, usage: ResourceUsage, signal: AbortSignal): Promise<void> {
  const target = buildTarget(session);
  if (!target) return;
  const dir = await openOutputDir(state.outputDir);
  try {
    // A Debian source package's .dsc goes last: the server checks it against the files uploaded before it.
    const names = uploadOrder(await listOutputFiles(dir));
    if (names.length === 0) session.log('quarters: the build wrote no output; nothing to upload');
    for (const name of names) {
      const file = await openOutputFile(dir, name);
      try {
        await uploadFile(target, file, name, usage, { attempts: session.config.server.upload_attempts, backoffMs: 1000, signal, log: session.log });
      } finally {
        await file.close();
      }
    }
  } finally {
    await dir.close();
  }
}
