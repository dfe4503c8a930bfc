import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, open, rename, rm, symlink, writeFile, type FileHandle } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildFailure, SystemFailure } from './failure.js';
import { listOutputFiles, openOutputDir, openOutputFile, uploadFile, type UploadTarget } from './upload.js';
import { startArtifactServer, type ArtifactServer } from '../../test/support/artifact-server.js';

const execFileAsync = promisify(execFile);

describe('uploadFile', () => {
  let dir: string;
  let server: ArtifactServer;
  let file: FileHandle;
  const content = Buffer.from('a package\n'.repeat(10_000));
  const logs: string[] = [];
  const options = { attempts: 3, backoffMs: 10, log: (line: string) => logs.push(line) };
  const target = (): UploadTarget => ({ serverUrl: server.url, buildId: '77', executorToken: 'executor-secret-token', jobToken: 'glcbt-job-token' });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quarters-upload-test-'));
    await writeFile(join(dir, 'hello-1.0-1-x86_64.pkg.tar.zst'), content);
    file = await open(join(dir, 'hello-1.0-1-x86_64.pkg.tar.zst'));
    server = await startArtifactServer();
    logs.length = 0;
  });
  afterEach(async () => {
    await file.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('PUTs the file with the executor token, the job token, its sha256 and the resource usage', async () => {
    await uploadFile(target(), file, 'hello-1.0-1-x86_64.pkg.tar.zst', { wallSeconds: 1.5, cpuSeconds: 1, peakMemoryBytes: 2048, diskBytes: 4096 }, options);
    expect(server.received).toHaveLength(1);
    const [upload] = server.received;
    expect(upload!.url).toBe('PUT /api/v1/builds/77/artifacts/hello-1.0-1-x86_64.pkg.tar.zst');
    expect(upload!.headers.authorization).toBe('Bearer executor-secret-token');
    expect(upload!.headers['x-job-token']).toBe('glcbt-job-token');
    expect(upload!.headers['x-checksum-sha256']).toBe(createHash('sha256').update(content).digest('hex'));
    expect(upload!.sha256).toBe(upload!.headers['x-checksum-sha256']);
    expect(JSON.parse(String(upload!.headers['x-quarters-resource-usage']))).toEqual({ wall_seconds: 1.5, cpu_seconds: 1, peak_memory_bytes: 2048, disk_bytes: 4096 });
    expect(logs.join('\n')).not.toContain('secret');
  });

  it('fails with the server\'s message when it rejects the file, without retrying', async () => {
    server.respond = () => ({ status: 409, body: { error: 'conflict', detail: 'build 77 is not running' } });
    const error = await uploadFile(target(), file, 'x.pkg', null, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemFailure);
    expect((error as Error).message).toBe('the server rejected x.pkg: HTTP 409: conflict: build 77 is not running');
    expect(server.received).toHaveLength(1);
  });

  it('retries a server error with backoff and succeeds when the server recovers', async () => {
    server.respond = (_u, index) => (index < 2 ? { status: 503, body: { error: 'busy' } } : { status: 201 });
    await uploadFile(target(), file, 'x.pkg', null, options);
    expect(server.received).toHaveLength(3);
    expect(server.received.every((u) => u.sha256 === u.headers['x-checksum-sha256'])).toBe(true);
    expect(logs.filter((l) => l.includes('retrying'))).toHaveLength(2);
  });

  it('gives up on a server that cannot be reached, naming it and the cause', async () => {
    // A port that was free a moment ago: connections are refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const error = await uploadFile({ ...target(), serverUrl: `http://127.0.0.1:${port}` }, file, 'x.pkg', null, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemFailure);
    expect((error as Error).message).toMatch(new RegExp(`could not upload x.pkg to http://127.0.0.1:${port} after 3 attempts: ECONNREFUSED`));
  });
});

describe('the output directory, read once', () => {
  let dir: string;
  let output: string;
  const secret = 'a file of the host root can read\n';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quarters-output-test-'));
    output = join(dir, 'output');
    await writeFile(join(dir, 'host-secret'), secret, { mode: 0o600 });
    await mkdir(output);
    await writeFile(join(output, 'a.pkg'), 'package a\n');
    await writeFile(join(output, 'b.pkg'), 'package b\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Lists the directory, lets `swap` change it as build code racing the upload would, then opens each listed name. */
  const listSwapOpen = async (swap: () => Promise<void>): Promise<{ names: string[]; opened: Record<string, string | Error> }> => {
    const handle = await openOutputDir(output);
    try {
      const names = await listOutputFiles(handle);
      await swap();
      const opened: Record<string, string | Error> = {};
      for (const name of names) {
        const file = await openOutputFile(handle, name).catch((error: unknown) => error as Error);
        if (file instanceof Error) opened[name] = file;
        else {
          opened[name] = await file.readFile('utf8');
          await file.close();
        }
      }
      return { names, opened };
    } finally {
      await handle.close();
    }
  };

  it('opens what it listed, through the directory it opened', async () => {
    const { names, opened } = await listSwapOpen(async () => {
      // The directory's path swapped for another: the open directory is still the one read.
      await rename(output, `${output}.moved`);
      await symlink(dir, output);
    });
    expect(names).toEqual(['a.pkg', 'b.pkg']);
    expect(opened).toEqual({ 'a.pkg': 'package a\n', 'b.pkg': 'package b\n' });
  });

  it('refuses a listed file swapped for a link to a host file: the link is not followed, the host file never read', async () => {
    const { opened } = await listSwapOpen(async () => {
      await rm(join(output, 'a.pkg'));
      await symlink(join(dir, 'host-secret'), join(output, 'a.pkg'));
    });
    expect(opened['a.pkg']).toBeInstanceOf(BuildFailure);
    expect((opened['a.pkg'] as Error).message).toBe('the output file a.pkg changed after it was listed (ELOOP): not uploaded');
    expect(opened['b.pkg']).toBe('package b\n');
  });

  it('refuses a listed file swapped for a hard link to another file, and a FIFO', async () => {
    const { opened } = await listSwapOpen(async () => {
      await rm(join(output, 'a.pkg'));
      await link(join(dir, 'host-secret'), join(output, 'a.pkg'));
      await rm(join(output, 'b.pkg'));
      await execFileAsync('mkfifo', [join(output, 'b.pkg')]);
    });
    expect((opened['a.pkg'] as Error).message).toBe('the output file a.pkg is a regular file with 2 links: not uploaded');
    expect((opened['b.pkg'] as Error).message).toBe('the output file b.pkg is no longer a regular file: not uploaded');
  });
});
