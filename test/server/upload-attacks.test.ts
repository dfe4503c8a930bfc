/**
 * The upload attack matrix: one table of what an executor, a job or anyone reaching the server may
 * send to `PUT /api/v1/builds/:id/artifacts/:filename` (tokens missing, wrong, forged, expired or of
 * another build; traversal and odd names; checksums that lie; bodies cut off or too large; one file
 * twice at once; packages the build does not make; a full disk). Every row is answered with its status
 * and error code, and after every row nothing partial is left in the data directory, the pool holds
 * the one good package uploaded first, the served repository (repo-add's db) names exactly it, and the
 * server logged nothing as unhandled. The data directory is a small tmpfs, so that the disk can be
 * filled; without the mount (not root, no tmpfs) the full-disk row is skipped with the reason printed.
 */
import { execa } from 'execa';
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { createGitLabClient } from '../../src/server/gitlab/client.js';
import { errorHandler } from '../../src/server/http/http-error.js';
import { uploadRoutes } from '../../src/server/artifacts/upload.js';
import { capturingLogger, listen, tempDir } from './http-harness.js';
import { pacmanPackage, sha256Of, upload } from './packages.js';
import { leftovers, servedRepository } from './repository-checks.js';
import { API_TOKEN, EXECUTOR_TOKEN, JANE, srcinfo, startRig, type Rig } from './server-harness.js';

const PACKAGER = 'Jane Packager <jane@example.org>';
const REPO = '/repos/auto-zlib/latest/x86_64';

/** A PUT sent by hand, for what fetch will not send: a raw path, a Content-Length the body does not have, a body cut off. Null when it was cut off unanswered. */
function rawPut(url: string, path: string, headers: Record<string, string>, body: Buffer, cutAfter?: number): Promise<{ status: number | null; body?: { error: string; detail: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'PUT', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as { error: string; detail: string } }));
    });
    req.on('error', (error) => (cutAfter === undefined ? reject(error) : resolve({ status: null })));
    if (cutAfter === undefined) {
      req.end(body);
      return;
    }
    req.write(body.subarray(0, cutAfter));
    // The executor dies mid-body: the connection goes, no answer is read.
    setTimeout(() => {
      req.destroy();
      resolve({ status: null });
    }, 300);
  });
}

interface Setup {
  url: string;
  buildId: number;
  /** The running job's token; a finished job's of the same pipeline; a job's of another build. */
  jobToken: string;
  expiredJobToken: string;
  otherJobToken: string;
  good: { path: string; filename: string };
  /** The same server's upload route with a 64 KiB limit (a test of the limit needs no 4 GiB body). */
  limitedUrl: string;
}

type Answer = { status: number | null; body?: { error: string; detail: string } };

interface Row {
  attack: string;
  send(s: Setup): Promise<Answer>;
  /** The status, or null: no answer (the client went away). */
  status: number | null;
  error?: string;
  detail?: string;
  fullDisk?: true;
}

const answer = async (res: Response): Promise<Answer> => ({ status: res.status, body: (await res.json()) as { error: string; detail: string } });
const tokens = (s: Setup, job = s.jobToken) => ({ executor: EXECUTOR_TOKEN, job });
const zlib = () => pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER });
/** The good package's bytes under another name. */
const named = async (s: Setup, filename: string) => answer(await upload(s.url, s.buildId, { path: s.good.path, filename }, tokens(s)));

const ROWS: Row[] = [
  { attack: 'no Authorization', status: 401, error: 'unauthorized', send: async (s) => answer(await upload(s.url, s.buildId, s.good, tokens(s), { Authorization: '' })) },
  { attack: 'a wrong executor token (an API token)', status: 401, error: 'unauthorized', send: async (s) => answer(await upload(s.url, s.buildId, s.good, { executor: API_TOKEN, job: s.jobToken })) },
  { attack: 'no job token', status: 401, error: 'unauthorized', send: async (s) => answer(await upload(s.url, s.buildId, s.good, tokens(s, ''))) },
  { attack: 'a forged job token', status: 401, error: 'unauthorized', send: async (s) => answer(await upload(s.url, s.buildId, s.good, tokens(s, 'glcbt-not-a-token'))) },
  { attack: 'an expired job token (its job finished)', status: 401, error: 'unauthorized', send: async (s) => answer(await upload(s.url, s.buildId, s.good, tokens(s, s.expiredJobToken))) },
  { attack: 'a job token of another build\'s pipeline', status: 403, error: 'wrong_pipeline', send: async (s) => answer(await upload(s.url, s.buildId, s.good, tokens(s, s.otherJobToken))) },
  ...[
    '../zlib-1.1-1-x86_64.pkg.tar.zst', '..zlib-1.1-1-x86_64.pkg.tar.zst', 'zlib/../../../quarters.sqlite3', '/etc/passwd',
    'zlib-1.1-1-x86_64.pkg.tar.zst\0', `${'z'.repeat(10_000)}-1.1-1-x86_64.pkg.tar.zst`, 'zlib-1.1\u22151-1-x86_64.pkg.tar.zst',
    'zlib-1.1-1-x86_64.pkg.tar.zst\u00a0', 'zlib.tar', 'zlib-1.1-1-aarch64.pkg.tar.zst', 'zlib_1.1-1_amd64.deb',
  ].map((filename): Row => ({ attack: `the file name ${JSON.stringify(filename.length > 60 ? `${filename.slice(0, 20)}…(${filename.length})` : filename)} (percent-encoded)`, status: 400, error: 'invalid_filename', send: (s) => named(s, filename) })),
  {
    attack: 'a raw ../ in the path', status: 404, error: 'not_found',
    send: (s) => rawPut(s.url, `/api/v1/builds/${s.buildId}/artifacts/../../../../quarters.sqlite3`, { Authorization: `Bearer ${EXECUTOR_TOKEN}`, 'X-Job-Token': s.jobToken, 'X-Checksum-Sha256': sha256Of(s.good.path) }, readFileSync(s.good.path)),
  },
  { attack: 'a malformed checksum', status: 400, error: 'missing_checksum', send: async (s) => answer(await upload(s.url, s.buildId, s.good, tokens(s), { 'X-Checksum-Sha256': 'nope' })) },
  { attack: 'a checksum the body does not have', status: 422, error: 'checksum_mismatch', send: async (s) => answer(await upload(s.url, s.buildId, s.good, tokens(s), { 'X-Checksum-Sha256': 'a'.repeat(64) })) },
  {
    attack: 'a body cut off mid-way (the client goes away)', status: null,
    send: async (s) => {
      const body = readFileSync((await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER, filler: 256 * 1024 })).path);
      const headers = { Authorization: `Bearer ${EXECUTOR_TOKEN}`, 'X-Job-Token': s.jobToken, 'X-Checksum-Sha256': 'b'.repeat(64), 'Content-Length': String(body.length) };
      return rawPut(s.url, `/api/v1/builds/${s.buildId}/artifacts/${s.good.filename}`, headers, body, body.length >> 1);
    },
  },
  {
    attack: 'a Content-Length over the limit', status: 413, error: 'payload_too_large',
    send: (s) => rawPut(s.url, `/api/v1/builds/${s.buildId}/artifacts/${s.good.filename}`, { Authorization: `Bearer ${EXECUTOR_TOKEN}`, 'X-Job-Token': s.jobToken, 'X-Checksum-Sha256': sha256Of(s.good.path), 'Content-Length': String(5 * 1024 ** 3) }, Buffer.alloc(0), 0),
  },
  {
    attack: 'a streamed body over the limit (no Content-Length)', status: 413, error: 'payload_too_large',
    send: async (s) => {
      const body = readFileSync((await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER, filler: 256 * 1024 })).path);
      const chunks = Array.from({ length: 8 }, (_, i) => body.subarray((i * body.length) >> 3, ((i + 1) * body.length) >> 3));
      const stream = new ReadableStream<Uint8Array>({ pull: (controller) => (chunks.length ? controller.enqueue(chunks.shift()!) : controller.close()) });
      return answer(await fetch(`${s.limitedUrl}/api/v1/builds/${s.buildId}/artifacts/${s.good.filename}`, {
        method: 'PUT', body: stream, duplex: 'half', headers: { Authorization: `Bearer ${EXECUTOR_TOKEN}`, 'X-Job-Token': s.jobToken, 'X-Checksum-Sha256': sha256Of(s.good.path) },
      } as RequestInit));
    },
  },
  {
    attack: 'the same file twice at once', status: 201,
    send: async (s) => {
      const answers = await Promise.all([1, 2].map(async () => answer(await upload(s.url, s.buildId, s.good, tokens(s)))));
      expect(answers.map((a) => a.status)).toEqual([201, 201]);
      return answers[0]!;
    },
  },
  {
    attack: 'another package of the build set through this build\'s tokens', status: 422, error: 'not_a_product', detail: 'zlib 1.1-1 (x86_64)',
    send: async (s) => answer(await upload(s.url, s.buildId, await pacmanPackage({ name: 'other', version: '2-1', packager: PACKAGER }), tokens(s))),
  },
  {
    attack: 'glibc-9.9-1-x86_64.pkg.tar.zst through this build\'s tokens', status: 422, error: 'not_a_product', detail: 'glibc',
    send: async (s) => {
      const result = await answer(await upload(s.url, s.buildId, await pacmanPackage({ name: 'glibc', version: '9.9-1', packager: PACKAGER }), tokens(s)));
      expect((await fetch(`${s.url}${REPO}/glibc-9.9-1-x86_64.pkg.tar.zst`)).status).toBe(404);
      return result;
    },
  },
  {
    // repo-add and the index read a repeated key's last value: the check must read the same one.
    attack: 'zlib-1.1-1-x86_64.pkg.tar.zst whose .PKGINFO names glibc last', status: 422, error: 'package_name_mismatch', detail: 'glibc',
    send: async (s) => answer(await upload(s.url, s.buildId, await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER, pkginfoTail: ['pkgname = glibc'] }), tokens(s))),
  },
  { attack: 'a full data_dir', status: 507, error: 'insufficient_storage', fullDisk: true, send: async (s) => answer(await upload(s.url, s.buildId, await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER, filler: 512 * 1024 }), tokens(s))) },
];

describe('the upload attack matrix', () => {
  let rig: Rig;
  let setup: Setup;
  let limitedServer: { url: string; close: () => Promise<void> } | undefined;
  let mounted: string | null = null;
  let noMount = '';
  const { log, lines } = capturingLogger();

  beforeAll(async () => {
    const dataDir = tempDir('quarters-attacks-');
    const mount = await execa('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'quarters-attacks', dataDir], { reject: false });
    if (mount.exitCode === 0) mounted = dataDir;
    else noMount = `mount -t tmpfs failed (${String(mount.stderr || mount.shortMessage).trim()})`;
    rig = await startRig({ log, dataDir });
    const project = rig.gitlab.state.addProject({ path: 'packages/zlib', files: { PKGBUILD: 'pkgname=zlib\n', '.SRCINFO': srcinfo('zlib') }, ciJobs: [{ name: 'prepare', stage: 'build' }, { name: 'build', stage: 'build' }] });
    const other = rig.addPackage('other', srcinfo('other'));
    await rig.server.index.syncAll();
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(project, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }), JANE));
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(other, { '.SRCINFO': srcinfo('other', { version: '2-1' }) }), JANE));
    const ns = rig.server.store.namespaceByName('auto-zlib')!;
    const build = rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id)[0]!;
    const [first, second] = rig.gitlab.state.jobsOf(build.pipeline_id!);
    const expiredJobToken = await rig.gitlab.state.startJob(first!.id);
    await rig.gitlab.state.finishJob(first!.id, 'success');
    const jobToken = await rig.gitlab.state.startJob(second!.id);
    const otherJobToken = (await rig.gitlab.state.startPipeline(rig.gitlab.state.pipelinesOf(other)[0]!.id)).token;
    await rig.server.drain();
    const limited = new Hono();
    limited.onError(errorHandler(log));
    limited.route('/', uploadRoutes({
      store: rig.server.store, engine: rig.server.engine, repositories: rig.server.repositories, gitlab: createGitLabClient({ url: rig.gitlab.url, token: rig.gitlab.token }),
      executorTokens: [EXECUTOR_TOKEN], flavour: 'pkgbuild', metrics: rig.server.metrics, log, maxBytes: 64 * 1024,
    }));
    limitedServer = await listen(limited);
    setup = { url: rig.url, buildId: build.id, jobToken, expiredJobToken, otherJobToken, good: await zlib(), limitedUrl: limitedServer.url };
    const first201 = await upload(rig.url, build.id, setup.good, tokens(setup));
    expect(first201.status, await first201.clone().text()).toBe(201);
  });
  afterAll(async () => {
    await limitedServer?.close();
    await rig?.close();
    if (mounted) await execa('umount', ['-l', mounted], { reject: false });
  });

  it.for(ROWS)('$attack: $status $error', async (row, context) => {
    if (row.fullDisk && !mounted) {
      console.log(`skipped "${row.attack}": ${noMount}`);
      context.skip();
    }
    const dataDir = rig.config.data_dir;
    const from = lines.length;
    const filler = join(dataDir, 'filler');
    if (row.fullDisk) {
      const free = statfsSync(dataDir);
      // All but 64 KiB taken: the upload's temporary file cannot be written.
      writeFileSync(filler, Buffer.alloc(Math.max(0, free.bavail * free.bsize - 64 * 1024)));
    }
    let got: Answer;
    try {
      got = await row.send(setup);
    } finally {
      if (row.fullDisk) rmSync(filler, { force: true });
    }
    expect(got.status).toBe(row.status);
    if (row.error) expect(got.body?.error, got.body?.detail).toBe(row.error);
    if (row.detail) expect(got.body?.detail).toContain(row.detail);
    if (row.status === null) {
      // The server notices the client has gone and cleans up; wait for it to say so.
      const answered = () => lines.slice(from).some((l) => l.msg === 'request' && String(l.path ?? '').includes('/artifacts/'));
      for (let i = 0; i < 100 && !answered(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const logged = lines.slice(from);
      expect(logged.some((l) => l.msg === 'upload interrupted by the client' && l.level === 30), 'logged at info').toBe(true);
      // The access log's line: a quiet 400-class answer to a client no longer there, not a 500.
      expect(logged.filter((l) => String(l.path ?? '').includes('/artifacts/'))).toEqual([expect.objectContaining({ msg: 'request', status: 400 })]);
    }

    expect(leftovers(dataDir)).toEqual([]);
    expect(readdirSync(join(dataDir, 'pool', String(setup.buildId)))).toEqual([setup.good.filename]);
    expect(await servedRepository(rig.url, REPO)).toEqual(new Map([[setup.good.filename, sha256Of(setup.good.path)]]));
    const logged = lines.slice(from);
    expect(logged.filter((l) => l.msg === 'unhandled error')).toEqual([]);
    expect(logged.filter((l) => (l.level as number) >= 50 && !(row.fullDisk && l.msg === 'out of disk space'))).toEqual([]);
  });

  it('still takes a good upload after the matrix', async () => {
    const again = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER, depends: ['glibc'] });
    expect((await upload(rig.url, setup.buildId, again, tokens(setup))).status).toBe(201);
    expect(await servedRepository(rig.url, REPO)).toEqual(new Map([[again.filename, sha256Of(again.path)]]));
    mkdirSync(join(rig.config.data_dir, 'tmp'), { recursive: true });
    expect(leftovers(rig.config.data_dir)).toEqual([]);
  });
});
