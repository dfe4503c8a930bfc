/**
 * Uploading a job's output to the quarters server, from the host (never the guest): each file is
 * PUT to /api/v1/builds/BUILD/artifacts/NAME, streamed, with the executor token, the job token and
 * the file's sha256. A server that answers 4xx rejected the file: the job fails with its message.
 * A server that cannot be reached (or answers 5xx) is retried with exponential backoff.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SystemFailure } from './failure.js';
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

/** The header that carries a build's resource usage to the server (JSON, snake_case keys). */
export function usageHeader(usage: ResourceUsage): string {
  return JSON.stringify({ wall_seconds: round(usage.wallSeconds), cpu_seconds: round(usage.cpuSeconds), peak_memory_bytes: usage.peakMemoryBytes, disk_bytes: usage.diskBytes });
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

/** What the server said, from its `{error, detail}` body or the raw text. */
async function serverMessage(response: Response): Promise<string> {
  const text = (await response.text().catch(() => '')).slice(0, 2000);
  try {
    const body = JSON.parse(text) as { error?: unknown; detail?: unknown };
    if (typeof body.error === 'string') return typeof body.detail === 'string' ? `${body.error}: ${body.detail}` : body.error;
  } catch {
    // not JSON
  }
  return text.trim() || response.statusText;
}

/** Uploads one file; throws SystemFailure when the server rejects it or stays unreachable. */
export async function uploadFile(target: UploadTarget, file: string, name: string, usage: ResourceUsage | null, options: UploadOptions): Promise<void> {
  const checksum = await sha256File(file);
  const { size } = await stat(file);
  const url = `${target.serverUrl.replace(/\/+$/, '')}/api/v1/builds/${encodeURIComponent(target.buildId)}/artifacts/${encodeURIComponent(name)}`;
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
    if (usage) headers['x-quarters-resource-usage'] = usageHeader(usage);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'PUT',
        headers,
        body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
        duplex: 'half',
        signal: options.signal,
      } as RequestInit);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      lastProblem = cause?.code ?? cause?.message ?? (error as Error).message;
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

/** Uploads every file of the job's output directory when the job names a server; no server, no upload. */
export async function uploadOutputs(session: JobSession, state: WorkspaceState, usage: ResourceUsage, signal: AbortSignal): Promise<void> {
  const v = session.job.variables;
  if (!v.QUARTERS_SERVER_URL) return;
  if (!v.QUARTERS_BUILD_ID) throw new SystemFailure('QUARTERS_SERVER_URL is set but QUARTERS_BUILD_ID is not: the server must set both');
  if (!session.config.server.token) throw new SystemFailure('cannot upload: no executor token configured ([server] token or token_file)');
  if (!v.CI_JOB_TOKEN) throw new SystemFailure('cannot upload: the job has no CI_JOB_TOKEN');
  const target: UploadTarget = { serverUrl: v.QUARTERS_SERVER_URL, buildId: v.QUARTERS_BUILD_ID, executorToken: session.config.server.token, jobToken: v.CI_JOB_TOKEN };
  const entries = (await readdir(state.outputDir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  if (entries.length === 0) session.log('quarters: the build wrote no output; nothing to upload');
  for (const name of entries) {
    await uploadFile(target, join(state.outputDir, name), name, usage, { attempts: session.config.server.upload_attempts, backoffMs: 1000, signal, log: session.log });
  }
}
