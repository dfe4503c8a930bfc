/**
 * The executor's fetch of a build set's repository against a real HTTP server serving repositories
 * the server's own code made (repo-add, apt-ftparchive): verification, the checksum cache, failures
 * naming the URL, an empty repository, and a wave of concurrent fetches downloading each package once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { createServer as createTcpServer, type Server } from 'node:net';
import { join } from 'node:path';
import { SystemFailure } from '../../src/executor/failure.js';
import { formatBytes } from '../../src/executor/usage.js';
import { directorySource, fetchBuildSetRepository, httpSource, PackageCache, type RepositorySource } from '../../src/executor/build-set-repository/index.js';
import { startArtifactServer, type ArtifactServer } from '../support/artifact-server.js';
import { serverRepository, type TestRepository } from '../support/build-set-repository.js';
import { debPackage, pacmanPackage, sha256Of, tempDir } from '../support/packages.js';

describe('fetching a build set\'s repository', () => {
  let server: ArtifactServer;
  let reposDir: string;
  let pacman: TestRepository;
  let files: { path: string; filename: string }[];
  const logs: string[] = [];
  const log = (line: string) => void logs.push(line);

  beforeAll(async () => {
    files = [
      await pacmanPackage({ name: 'zlib', version: '1:1.3-1' }),
      await pacmanPackage({ name: 'libpng', version: '1.6.43-1', depends: ['zlib'] }),
      await pacmanPackage({ name: 'cairo', version: '1.18.0-1', depends: ['libpng'] }),
    ];
    pacman = await serverRepository('pkgbuild', { namespace: 'auto-zlib', iteration: 2, arch: 'x86_64' }, files);
    reposDir = pacman.reposDir;
    await serverRepository('autobuild', { namespace: 'aosc', iteration: 1, arch: 'amd64' }, [await debPackage({ name: 'zlib1g', version: '1.3-1', arch: 'amd64' })], join(reposDir, '..'));
    server = await startArtifactServer({ repositories: reposDir });
  });
  afterAll(async () => server?.close());

  const source = (ns: string, iteration: number, arch: string, options = {}) => httpSource(`${server.url}/repos/${ns}/${iteration}/${arch}/`, options);
  const fetchInto = (src: RepositorySource, cache: PackageCache | null, into = join(tempDir('quarters-job-'), 'repository')) => fetchBuildSetRepository(src, into, { cache, log });
  const failureOf = async (promise: Promise<unknown>): Promise<SystemFailure> => {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(SystemFailure);
    return error as SystemFailure;
  };
  const packageGets = (from: number) => server.requests.slice(from).filter((r) => r.endsWith('.pkg.tar.zst') || r.endsWith('.deb'));

  it('fetches the index and every package, verified, into the job\'s directory; a second fetch downloads nothing', async () => {
    const cache = new PackageCache(join(tempDir('quarters-cache-'), 'packages'));
    const before = server.requests.length;
    logs.length = 0;
    const first = await fetchInto(source('auto-zlib', 2, 'x86_64'), cache);
    const bytes = files.reduce((sum, f) => sum + statSync(f.path).size, 0);
    expect(first).toMatchObject({ packages: 3, fromCache: 0, bytesDownloaded: bytes });
    expect(readdirSync(first!.dir).sort()).toEqual(['quarters.db', ...files.map((f) => f.filename)].sort());
    expect(readFileSync(join(first!.dir, 'quarters.db')).equals(readFileSync(join(pacman.dir, 'quarters.db')))).toBe(true);
    for (const f of files) {
      const fetched = join(first!.dir, f.filename);
      expect(sha256Of(fetched)).toBe(sha256Of(f.path));
      // A hard link to the cache, which only root may enter.
      expect(statSync(fetched).ino).toBe(statSync(cache.path(sha256Of(f.path))).ino);
    }
    expect(statSync(cache.dir).mode & 0o777).toBe(0o700);
    const requests = server.requests.slice(before);
    expect(requests.slice(0, 2)).toEqual(['GET /repos/auto-zlib/2/x86_64/', 'GET /repos/auto-zlib/2/x86_64/quarters.db']);
    expect(requests.slice(2).sort()).toEqual(files.map((f) => `GET /repos/auto-zlib/2/x86_64/${encodeURIComponent(f.filename)}`).sort());
    expect(logs).toEqual([`quarters: the build set's repository ${server.url}/repos/auto-zlib/2/x86_64/: 3 packages, 0 from the cache, ${formatBytes(bytes)} downloaded, every one verified`]);

    const again = server.requests.length;
    const second = await fetchInto(source('auto-zlib', 2, 'x86_64'), cache);
    expect(second).toMatchObject({ packages: 3, fromCache: 3, bytesDownloaded: 0 });
    expect(server.requests.slice(again)).toEqual(['GET /repos/auto-zlib/2/x86_64/', 'GET /repos/auto-zlib/2/x86_64/quarters.db']);
    expect(readdirSync(second!.dir).sort()).toEqual(readdirSync(first!.dir).sort());
  });

  it('prunes cached packages that no job has and none fetched lately, and leftover downloads', async () => {
    const cache = new PackageCache(join(tempDir('quarters-cache-'), 'packages'));
    const job = join(tempDir('quarters-job-'), 'repository');
    await fetchInto(source('auto-zlib', 2, 'x86_64'), cache, job);
    writeFileSync(join(cache.dir, 'tmp', 'interrupted-download'), 'half');
    // Every package is linked into the job's directory: in use.
    expect(await cache.prune(0)).toEqual(['packages/tmp/interrupted-download']);
    rmSync(job, { recursive: true });
    expect(await cache.prune(60_000)).toEqual([]);
    expect((await cache.prune(0)).sort()).toEqual(files.map((f) => `packages/sha256/${sha256Of(f.path)}`).sort());
    expect(readdirSync(join(cache.dir, 'sha256'))).toEqual([]);
  });

  it('fetches an apt flat repository: Packages and Release, and the .deb files they name', async () => {
    const fetched = await fetchInto(source('aosc', 1, 'amd64'), new PackageCache(join(tempDir('quarters-cache-'), 'packages')));
    expect(fetched).toMatchObject({ packages: 1, fromCache: 0 });
    expect(readdirSync(fetched!.dir).sort()).toEqual(['Packages', 'Release', 'zlib1g_1.3-1_amd64.deb']);
  });

  it('offers none for a repository without an index yet (the first wave of a build set)', async () => {
    logs.length = 0;
    const into = join(tempDir('quarters-job-'), 'repository');
    expect(await fetchInto(source('auto-zlib', 1, 'x86_64'), null, into)).toBeNull();
    expect(existsSync(into)).toBe(false);
    expect(logs).toEqual([`quarters: the build set's repository ${server.url}/repos/auto-zlib/1/x86_64/ has no index yet (nothing built); none is offered`]);
  });

  it('fails on a tampered package, naming its URL and the sha256, and caches nothing of it', async () => {
    const file = await pacmanPackage({ name: 'tampered', version: '1-1' });
    const repo = await serverRepository('pkgbuild', { namespace: 'tamper', iteration: 1, arch: 'x86_64' }, [file], join(reposDir, '..'));
    const served = join(repo.dir, file.filename);
    const bytes = readFileSync(served);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    rmSync(served);
    writeFileSync(served, bytes);
    const cache = new PackageCache(join(tempDir('quarters-cache-'), 'packages'));
    const failure = await failureOf(fetchInto(source('tamper', 1, 'x86_64'), cache));
    expect(failure.message).toBe(`${server.url}/repos/tamper/1/x86_64/${file.filename} does not verify: its sha256 is ${sha256Of(served)}, the index says ${sha256Of(file.path)}`);
    expect(readdirSync(join(cache.dir, 'sha256'))).toEqual([]);
    expect(readdirSync(join(cache.dir, 'tmp'))).toEqual([]);

    // The same repository on a shared filesystem (repositories_dir) is verified the same way.
    const local = await failureOf(fetchInto(directorySource(repo.dir), null));
    expect(local.message).toBe(`${served} does not verify: its sha256 is ${sha256Of(served)}, the index says ${sha256Of(file.path)}`);
  });

  it('fails naming the URL when the server refuses, lacks a package the index names, cannot be reached or does not answer', async () => {
    server.serve = (url) => (url === '/repos/auto-zlib/2/x86_64/' ? { status: 404, body: { error: 'not_found', detail: 'build set "auto-zlib" has no iteration "2"' } } : null);
    try {
      expect((await failureOf(fetchInto(source('auto-zlib', 2, 'x86_64'), null))).message).toBe(`cannot fetch the build set's repository: ${server.url}/repos/auto-zlib/2/x86_64/: HTTP 404: not_found: build set "auto-zlib" has no iteration "2"`);
    } finally {
      server.serve = () => null;
    }

    const gone = await pacmanPackage({ name: 'gone', version: '1-1' });
    const repo = await serverRepository('pkgbuild', { namespace: 'gone', iteration: 1, arch: 'x86_64' }, [gone], join(reposDir, '..'));
    rmSync(join(repo.dir, gone.filename));
    expect((await failureOf(fetchInto(source('gone', 1, 'x86_64'), new PackageCache(join(tempDir('quarters-cache-'), 'packages'))))).message)
      .toBe(`cannot fetch the build set's repository: ${server.url}/repos/gone/1/x86_64/${gone.filename}: HTTP 404: not_found: ${gone.filename} is not in /repos/gone/1/x86_64/`);

    // An index that names one of its own files as a package.
    const clash = join(reposDir, 'clash', '1', 'amd64');
    mkdirSync(clash, { recursive: true });
    writeFileSync(join(clash, 'Packages'), `Package: x\nFilename: ./Release\nSize: 3\nSHA256: ${'a'.repeat(64)}\n`);
    writeFileSync(join(clash, 'Release'), (await execa('apt-ftparchive', ['release', '.'], { cwd: clash, env: { LC_ALL: 'C' } })).stdout);
    expect((await failureOf(fetchInto(source('clash', 1, 'amd64'), null))).message).toBe(`the index of the build set's repository ${server.url}/repos/clash/1/amd64/ does not verify: it names its own file Release as a package`);

    const closed = await freePort();
    expect((await failureOf(fetchInto(httpSource(`http://127.0.0.1:${closed}/repos/a/1/x86_64/`), null))).message).toBe(`cannot fetch the build set's repository: http://127.0.0.1:${closed}/repos/a/1/x86_64/: ECONNREFUSED`);

    const silent: Server = createTcpServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      expect((await failureOf(fetchInto(httpSource(`http://127.0.0.1:${port}/repos/a/1/x86_64/`, { idleTimeoutMs: 300 }), null))).message).toBe(`cannot fetch the build set's repository: http://127.0.0.1:${port}/repos/a/1/x86_64/: no answer for 0.3 s`);
    } finally {
      silent.close();
    }
  });

  it('downloads each package once for a wave of 8 concurrent fetches sharing the cache', async () => {
    const cache = new PackageCache(join(tempDir('quarters-cache-'), 'packages'));
    const before = server.requests.length;
    const wave = await Promise.all(Array.from({ length: 8 }, () => fetchInto(source('auto-zlib', 2, 'x86_64'), cache)));
    expect(packageGets(before).sort()).toEqual(files.map((f) => `GET /repos/auto-zlib/2/x86_64/${encodeURIComponent(f.filename)}`).sort());
    expect(wave.reduce((sum, w) => sum + w!.fromCache, 0)).toBe(8 * 3 - 3);
    for (const job of wave) for (const f of files) expect(sha256Of(join(job!.dir, f.filename))).toBe(sha256Of(f.path));
  });
});

async function freePort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
