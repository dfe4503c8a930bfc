/**
 * `quarters image build` end to end, as root with real containers: the Arch examples built with
 * `quarters build` into a local build set, then examples/images/quartz.toml built from it into a GPT
 * disk: an ESP (vfat) with a text file and a link, an ext4 root with quartz-meta and what it pulls
 * in installed by pacman in the executor's clean environment. The disk is read back with the tools
 * people use (sfdisk --json, fsck, debugfs, mtools), never by mounting; a second build reuses the
 * cached partitions (both timed, printed); a bad description gets one error naming key and file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { freePort } from './support/free-port.js';
import { archBaseSkipReason, archBaseTarball } from './support/arch-base.js';
import { backendSkipReason, reportSkip } from './support/capabilities.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from './support/executor-fixture.js';
import { debugfs, diskToolsSkipReason, expectCachedRebuild, extractPartition as extract, MIB, mtools, partitionTable as table } from './support/disk-image.js';
import { mountsMentioning } from './support/processes.js';
import { createLogger } from '../src/common/log.js';
import { Repositories } from '../src/server/artifacts/repository.js';
import { ImageBuilder } from '../src/server/images/builder.js';
import { BuildStore } from '../src/server/store/build-store.js';
import { openDatabase } from '../src/server/store/database.js';
import { ImageStore } from '../src/server/store/image-store.js';

const CLI = resolve(import.meta.dirname, '../dist/cli/main.js');
const EXAMPLES = resolve(import.meta.dirname, '../examples');

function skipReason(): string | null {
  if (!existsSync(CLI) || !existsSync(EXECUTOR[1])) return `quarters is not built (${CLI}); run npm test, which builds first`;
  return diskToolsSkipReason() ?? backendSkipReason('nspawn') ?? archBaseSkipReason();
}

const skip = reportSkip(skipReason(), 'quarters image build (real containers)');

describe.skipIf(skip)('quarters image build (real containers)', () => {
  let fx: ExecutorFixture;
  let dataDir: string;
  let work: string;
  let cacheDir: string;
  const quarters = (args: string[]) => execa('node', [CLI, ...args], { reject: false, cwd: work, env: { QUARTERS_EXECUTOR_CONFIG: fx.configFile } });
  const imageBuild = (description: string, extra: string[] = []) => quarters(['image', 'build', description, '--from', 'quartz', '--data-dir', dataDir, '--cache-dir', cacheDir, ...extra]);
  const timings: string[] = [];

  beforeAll(async () => {
    // No package manager refresh for the instance layer: the test base is offline and stays as it is.
    fx = await createExecutorFixture('[instance]\npackage_manager = "none"', { loadBase: false });
    const loaded = await fx.cli(['baseos', 'load', '--tarball', await archBaseTarball()]);
    if (loaded.exitCode !== 0) throw new Error(`baseos load failed: ${loaded.stderr}`);
    dataDir = join(fx.dir, 'data');
    work = await mkdtemp(join(fx.dir, 'images-'));
    cacheDir = join(fx.dir, 'image-cache');
    const arch = join(EXAMPLES, 'arch');
    const built = await quarters(['build', ...readdirSync(arch).map((d) => join(arch, d)), '--data-dir', dataDir, '--name', 'quartz']);
    if (built.exitCode !== 0) throw new Error(`quarters build of examples/arch failed:\n${built.stdout}\n${built.stderr}`);
  }, 1_800_000);
  afterAll(async () => {
    if (timings.length) process.stderr.write(`quarters image build timings (examples/images/quartz.toml):\n${timings.map((t) => `  ${t}`).join('\n')}\n`);
    await fx?.remove();
  });

  it('builds examples/images/quartz.toml: a GPT disk with the ESP\'s files and a root with the packages and their pacman database', async () => {
    const began = Date.now();
    const result = await imageBuild(join(EXAMPLES, 'images', 'quartz.toml'), ['--out', 'quartz.raw']);
    timings.push(`first build: ${((Date.now() - began) / 1000).toFixed(1)} s`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('quartz.raw');
    expect(result.stderr).toMatch(/partition 1 ESP \(vfat, 16 MiB\): built in/);
    expect(result.stderr).toMatch(/partition 2 root \(ext4, 77 MiB\): built in/);
    const disk = join(work, 'quartz.raw');
    expect(readFileSync(disk).length).toBe(96 * MIB);

    const gpt = await table(disk);
    expect(gpt.label).toBe('gpt');
    expect(gpt.partitions.map((p) => [p.name, p.start, p.size, p.type])).toEqual([
      ['ESP', 2048, 16 * 2048, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'],
      ['root', 17 * 2048, 77 * 2048, '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709'],
    ]);

    // The ESP: a clean vfat, the text file, and the link as a copy of it.
    const esp = await extract(disk, gpt.partitions[0]!, join(work, 'esp.img'));
    expect((await execa('fsck.vfat', ['-n', esp])).exitCode).toBe(0);
    const listing = (await mtools(['mdir', '-/', '-b', '-i', esp, '::/'])).stdout.split('\n').sort();
    expect(listing).toEqual(['::/loader/', '::/loader/default.conf', '::/loader/entries/', '::/loader/entries/quartz.conf']);
    const entry = 'title   quartz example\noptions root=PARTLABEL=root ro\n';
    expect((await mtools(['mtype', '-i', esp, '::/loader/entries/quartz.conf'])).stdout).toBe(entry.trimEnd());
    expect((await mtools(['mtype', '-i', esp, '::/loader/default.conf'])).stdout).toBe(entry.trimEnd());

    // The root: a clean ext4 with the packages' files, owned by root, and pacman's local database.
    const root = await extract(disk, gpt.partitions[1]!, join(work, 'root.img'));
    expect((await execa('fsck.ext4', ['-fn', root], { reject: false })).exitCode).toBe(0);
    expect(await debugfs(root, 'ls -l /usr/bin')).toMatch(/100755 \(1\)\s+0\s+0\s+\d+\s+\S+\s+\S+\s+quartz\n?/);
    expect(await debugfs(root, 'cat /usr/share/doc/quartz/README')).toBe(readFileSync(join(EXAMPLES, 'arch', 'quartz-meta', 'README'), 'utf8').trimEnd());
    expect(await debugfs(root, 'cat /etc/hostname')).toBe('quartz');
    expect(await debugfs(root, 'stat /etc/os-release')).toMatch(/Fast link dest: "\.\.\/usr\/lib\/os-release"/);
    // The shell entry ran after the packages were installed, in the tree.
    expect(await debugfs(root, 'cat /usr/share/quartz/installed')).toBe('quartz');
    const dump = join(work, 'rdump');
    await mkdir(dump);
    await execa('debugfs', ['-R', `rdump /var/lib/pacman/local ${dump}`, root]);
    const local = readdirSync(join(dump, 'local')).filter((name) => name !== 'ALPM_DB_VERSION').sort();
    expect(local).toEqual(['libquartz-1.2.0-1', 'libquartz-docs-1.2.0-1', 'quartz-meta-1-1', 'quartz-tool-0.3.1-2']);
    for (const name of local) {
      const desc = await readFile(join(dump, 'local', name, 'desc'), 'utf8');
      expect(desc).toContain(`%NAME%\n${name.replace(/-[^-]+-[^-]+$/, '')}\n`);
      expect(desc).toContain(`%VERSION%\n${/-([^-]+-[^-]+)$/.exec(name)![1]}\n`);
    }
    expect(await readFile(join(dump, 'local', 'quartz-tool-0.3.1-2', 'files'), 'utf8')).toContain('usr/bin/quartz\n');
    // quartz-meta was asked for; the rest came in as its dependencies.
    expect(await readFile(join(dump, 'local', 'quartz-meta-1-1', 'desc'), 'utf8')).not.toContain('%REASON%');
    expect(await readFile(join(dump, 'local', 'libquartz-1.2.0-1', 'desc'), 'utf8')).toContain('%REASON%\n1\n');

    // Nothing is left mounted, no container or workspace, no work directory.
    expect(mountsMentioning(fx.dir)).toEqual([]);
    expect(readdirSync(join(fx.workDir, 'workspaces'))).toEqual([]);
    expect(readdirSync(join(cacheDir, 'work'))).toEqual([]);
  }, 900_000);

  it('reuses both cached partitions on a second build; the partitions are the same bytes', async () => {
    const seconds = await expectCachedRebuild(imageBuild, join(EXAMPLES, 'images', 'quartz.toml'), join(work, 'quartz.raw'), 77);
    timings.push(`second build (partitions from the cache): ${seconds.toFixed(1)} s`);
  }, 300_000);

  it('takes the including file\'s values over the included one\'s, and writes qcow2', async () => {
    const top = join(work, 'qcow.toml');
    // The ESP's entry file is replaced by path, its link (from esp.toml) kept; the disk's size and format are this file's.
    await writeFile(top, `include = ["${join(EXAMPLES, 'images', 'quartz.toml')}"]\n[image]\nformat = "qcow2"\nsize = 128\n[[image.partition]]\nlabel = "ESP"\nsize = 16\nfilesystem = "vfat"\ntype = "efi"\n[[image.partition.file]]\npath = "/loader/entries/quartz.conf"\ntext = "title changed\\n"\n`);
    const result = await quarters(['image', 'build', top, '--data-dir', dataDir, '--from', 'quartz/1', '--cache-dir', cacheDir, '--cache', 'transient']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('quartz.qcow2');
    expect(result.stderr).toMatch(/partition 1 ESP \(vfat, 16 MiB\): built in .* \(transient: not cached\)/);
    const info = JSON.parse((await execa('qemu-img', ['info', '--output', 'json', join(work, 'quartz.qcow2')])).stdout) as { format: string; 'virtual-size': number };
    expect([info.format, info['virtual-size']]).toEqual(['qcow2', 128 * MIB]);
    const raw = join(work, 'back.raw');
    await execa('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', join(work, 'quartz.qcow2'), raw]);
    const esp = await extract(raw, (await table(raw)).partitions[0]!, join(work, 'esp2.img'));
    expect((await mtools(['mtype', '-i', esp, '::/loader/default.conf'])).stdout).toBe('title changed');
  }, 600_000);

  it('refuses a bad description with one line naming the file and the key, and writes nothing', async () => {
    const bad = join(work, 'bad.toml');
    await writeFile(bad, '[image]\nlabel = "bad"\nsize = 32\n[[image.partition]]\nlabel = "root"\nsize = -1\nfilesystem = "ext4"\n[[image.partition.file]]\npath = "/etc/motd"\ntext = "a"\nshell = "echo b"\n');
    const result = await quarters(['image', 'build', bad, '--cache-dir', cacheDir]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`quarters: ${bad}: image.partition.0.file.0: give exactly one of text, symlink, artifact, shell (this one has text and shell)`);
    expect(existsSync(join(work, 'bad.raw'))).toBe(false);
    expect(existsSync(join(work, 'bad.raw.part'))).toBe(false);

    const missing = await quarters(['image', 'build', join(EXAMPLES, 'images', 'quartz.toml'), '--from', 'nosuchset', '--data-dir', dataDir, '--cache-dir', cacheDir]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe(`quarters: --from nosuchset: ${dataDir} has no repository of build set "nosuchset" for x86_64`);
  }, 120_000);

  it('is built by the server on request ([[images]]), listed in the API, and served beside the repository with its log', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const token = 'image-test-token-0123456789';
    const config = join(fx.dir, 'server.toml');
    // Local build sets are settled by `quarters build`, not by this server: their images are requested.
    await writeFile(config, [
      `listen = "127.0.0.1:${port}"`, `public_url = "${url}"`, `data_dir = "${dataDir}"`,
      '[build]', 'flavour = "pkgbuild"', 'architectures = ["x86_64"]', '[api]', `tokens = ["${token}"]`,
      '[[images]]', 'name = "quartz"', `description = "${join(EXAMPLES, 'images', 'quartz.toml')}"`, `executor_config = "${fx.configFile}"`, 'namespaces = []',
    ].join('\n'));
    const server: ResultPromise = execa('node', [CLI, 'server', '--config', config], { reject: false, env: { QUARTERS_LOG_LEVEL: 'warn' } });
    try {
      for (let i = 0; i < 100 && !(await fetch(`${url}/healthz`).then((r) => r.ok, () => false)); i++) await new Promise((done) => setTimeout(done, 100));
      const list = async () => (await (await fetch(`${url}/api/v1/namespaces/quartz/images`)).json()) as { iteration: number; images: { name: string; arch: string; state: string; url: string | null; log_url: string | null; sha256: string | null; size: number | null; reason: string | null }[] };
      expect((await list()).images).toEqual([]);
      const post = (body: unknown, auth = true) => fetch(`${url}/api/v1/namespaces/quartz/images`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: `Bearer ${token}` } : {}) } });
      expect((await post({ image: 'quartz' }, false)).status).toBe(401);
      const unknown = await post({ image: 'nope' });
      expect([unknown.status, ((await unknown.json()) as { detail: string }).detail]).toEqual([404, 'no image named "nope" in the server\'s [[images]] (quartz)']);
      const started = await post({ image: 'quartz' });
      expect(started.status).toBe(202);
      expect(((await started.json()) as { images: { state: string }[] }).images.map((i) => i.state)).toEqual(['building']);
      let shown = await list();
      for (let i = 0; i < 600 && shown.images[0]?.state === 'building'; i++) {
        await new Promise((done) => setTimeout(done, 500));
        shown = await list();
      }
      const image = shown.images[0]!;
      expect([image.name, image.arch, image.state, image.reason]).toEqual(['quartz', 'x86_64', 'built', null]);
      expect(image.url).toBe(`/images/quartz/${shown.iteration}/x86_64/quartz/quartz.raw`);
      const body = Buffer.from(await (await fetch(`${url}${image.url}`)).arrayBuffer());
      expect([body.length, createHash('sha256').update(body).digest('hex')]).toEqual([image.size, image.sha256]);
      const served = join(work, 'served.raw');
      await writeFile(served, body);
      expect((await table(served)).partitions.map((p) => p.name)).toEqual(['ESP', 'root']);
      expect(await (await fetch(`${url}${image.log_url}`)).text()).toMatch(/partition 2 root \(ext4, 77 MiB\)/);
      // Asked again, a built image is not built again.
      const again = await post({ image: 'quartz' });
      expect(((await again.json()) as { images: { state: string }[] }).images.map((i) => i.state)).toEqual(['built']);
      // The command takes a build set from the server too (--from NAME with --server, no data_dir): fetched and verified.
      const fromServer = await execa('node', [CLI, 'image', 'build', join(EXAMPLES, 'images', 'quartz.toml'), '--from', `quartz/${shown.iteration}`, '--server', url, '--cache-dir', cacheDir, '--out', 'from-server.raw'], { reject: false, cwd: work, env: { QUARTERS_EXECUTOR_CONFIG: fx.configFile, QUARTERS_CONFIG: '' } });
      expect(fromServer.exitCode, fromServer.stderr).toBe(0);
      expect(fromServer.stderr).toContain(`quarters image: the build set's repository ${url}/repos/quartz/${shown.iteration}/x86_64/: 4 packages`);
      expect(fromServer.stderr).toMatch(/partition 2 root \(ext4, 77 MiB\): reused from the cache/);
      // The build set's page in the web UI links the image and its log.
      const ui = await (await fetch(`${url}/ui/namespaces/quartz`)).text();
      expect(ui).toContain(`<a href="${image.url}">quartz.raw</a>`);
      expect(ui).toContain(`<a href="${image.log_url}">log</a>`);
      // Only the image and its log are served.
      expect((await fetch(`${url}/images/quartz/${shown.iteration}/x86_64/quartz/other`)).status).toBe(404);
    } finally {
      server.kill('SIGTERM');
      await server;
    }
  }, 600_000);

  it('is built when a build set settles with every build of an architecture built, for the [[images]] whose namespaces match', async () => {
    // The server's engine calls settled(); here the build set quarters build made stands for one the server settled.
    const db = openDatabase(dataDir);
    try {
      const store = new BuildStore(db);
      const images = new ImageStore(db);
      const ns = store.namespaceByName('quartz')!;
      const iteration = store.latestIteration(ns.id)!;
      const spec = (name: string, namespaces: string[]) => ({ name, description: join(EXAMPLES, 'images', 'quartz.toml'), namespaces, executor_config: fx.configFile });
      const builder = new ImageBuilder({
        store, images, repositories: new Repositories(dataDir, 'pkgbuild'), dataDir, log: createLogger({ name: 'image-test', level: 'silent' }),
        specs: [spec('auto', ['quar*']), spec('elsewhere', ['mr-*']), spec('on-request', [])], command: ['node', CLI],
      });
      builder.settled(ns.id);
      await builder.idle();
      // (The server's test above built "quartz" of this iteration on request.)
      const rows = images.ofIteration(iteration.id).filter((r) => r.name !== 'quartz');
      expect(rows.map((r) => [r.name, r.arch, r.state, r.filename, r.reason])).toEqual([['auto', 'x86_64', 'built', 'quartz.raw', null]]);
      const file = join(builder.dir('quartz', iteration.number, 'x86_64', 'auto'), 'quartz.raw');
      expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(rows[0]!.sha256);
      // Settling again builds nothing new.
      builder.settled(ns.id);
      await builder.idle();
      expect(images.ofIteration(iteration.id).filter((r) => r.name !== 'quartz').map((r) => [r.id, r.state])).toEqual([[rows[0]!.id, 'built']]);
    } finally {
      db.close();
    }
  }, 600_000);

  it('fails a package pacman cannot find with pacman\'s reason, leaving no image and nothing mounted', async () => {
    const top = join(work, 'unknown.toml');
    await writeFile(top, '[image]\nlabel = "unknown"\nsize = 32\n[[image.partition]]\nlabel = "root"\nsize = -1\nfilesystem = "ext4"\npackages = ["no-such-package"]\n');
    const result = await quarters(['image', 'build', top, '--from', 'quartz', '--data-dir', dataDir, '--cache-dir', cacheDir]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/target not found: no-such-package/);
    expect(result.stderr).toMatch(/quarters: partition root: fetching no-such-package exited with 1$/);
    expect(existsSync(join(work, 'unknown.raw'))).toBe(false);
    expect(existsSync(join(work, 'unknown.raw.part'))).toBe(false);
    expect(mountsMentioning(fx.dir)).toEqual([]);
    await rm(join(work, 'unknown.toml'));
  }, 300_000);
});
