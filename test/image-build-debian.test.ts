/**
 * `quarters image build` for the debian flavour, as root with real containers: the Debian examples
 * built with `quarters build` into a local build set (its apt repository), then
 * examples/images/garnet.toml built from it: an ext4 root bootstrapped from the distribution's
 * Essential set (the Debian mirror the base OS's apt names) with garnet-meta and what it pulls in
 * installed by apt and dpkg chrooted in the tree, in the executor's clean environment. Read back
 * with sfdisk, fsck and debugfs, never mounted; the installed tool runs in a container of the image's
 * own tree; a second build reuses the cached partitions; an unknown package is named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { execa, execaSync } from 'execa';
import { nspawnBackend } from '../src/executor/backends/nspawn/index.js';
import type { Environment } from '../src/executor/environment.js';
import { aptPackages } from '../src/core/repository-index.js';
import { createLogger } from '../src/common/log.js';
import { Repositories } from '../src/server/artifacts/repository.js';
import { ImageBuilder } from '../src/server/images/builder.js';
import { BuildStore } from '../src/server/store/build-store.js';
import { openDatabase } from '../src/server/store/database.js';
import { ImageStore } from '../src/server/store/image-store.js';
import { backendSkipReason, reportSkip } from './support/capabilities.js';
import { debianBaseSkipReason, debianBaseTarball } from './support/debian-base.js';
import { debugfs, diskToolsSkipReason, expectCachedRebuild, extractPartition, MIB, partitionTable, rangeDigest } from './support/disk-image.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from './support/executor-fixture.js';
import { mountsMentioning } from './support/processes.js';

const CLI = resolve(import.meta.dirname, '../dist/cli/main.js');
const EXAMPLES = resolve(import.meta.dirname, '../examples');

/** The Debian mirror the base OS gets (scripts/make-base takes the host's apt source unless told): null when it answers. */
async function mirrorSkipReason(): Promise<string | null> {
  const sources = execaSync('sh', ['-c', 'cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null'], { reject: false }).stdout;
  const mirror = process.env.QUARTERS_DEBIAN_MIRROR || /^(?:deb(?:\s+\[[^\]]*\])?\s+|URIs:\s*)(\S+)/m.exec(sources)?.[1];
  if (!mirror) return 'no Debian mirror in /etc/apt/sources.list{,.d} (QUARTERS_DEBIAN_MIRROR names one): the image\'s Essential set comes from it';
  const url = `${mirror.replace(/\/$/, '')}/dists/bookworm/Release`;
  const answer = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(15_000) }).then((r) => (r.ok ? null : `HTTP ${r.status}`), (error: Error) => error.message);
  return answer === null ? null : `the Debian mirror cannot be reached (${url}: ${answer}): the image's Essential set comes from it`;
}

async function skipReason(): Promise<string | null> {
  if (!existsSync(CLI) || !existsSync(EXECUTOR[1])) return `quarters is not built (${CLI}); run npm test, which builds first`;
  return diskToolsSkipReason() ?? backendSkipReason('nspawn') ?? debianBaseSkipReason() ?? (await mirrorSkipReason());
}

const skip = reportSkip(await skipReason(), 'quarters image build, flavour debian (real containers)');

describe.skipIf(skip)('quarters image build, flavour debian (real containers)', () => {
  let fx: ExecutorFixture;
  let work: string;
  let cacheDir: string;
  let serverConfig: string;
  let dataDir: string;
  let repo: string;
  const environments: Environment[] = [];
  const timings: string[] = [];
  const quarters = (args: string[]) => execa('node', [CLI, ...args], { reject: false, cwd: work, env: { QUARTERS_EXECUTOR_CONFIG: fx.configFile } });
  const imageBuild = (description: string, extra: string[] = []) => quarters(['image', 'build', description, '--from', 'garnet', '--config', serverConfig, '--cache-dir', cacheDir, ...extra]);

  beforeAll(async () => {
    // No package manager refresh for the instance layer: the base stays as it is; the image's apt reads the mirror itself.
    fx = await createExecutorFixture('[instance]\npackage_manager = "none"', { loadBase: false });
    const loaded = await fx.cli(['baseos', 'load', '--tarball', await debianBaseTarball()]);
    if (loaded.exitCode !== 0) throw new Error(`baseos load failed: ${loaded.stderr}`);
    work = await mkdtemp(join(fx.dir, 'images-'));
    dataDir = join(fx.dir, 'data');
    // The server's image builds keep their partitions here too: the server's build of the image finds the command's.
    cacheDir = join(dataDir, 'image-cache');
    serverConfig = join(fx.dir, 'server.toml');
    await writeFile(serverConfig, [
      'listen = "127.0.0.1:8080"', 'public_url = "http://127.0.0.1:8080"', `data_dir = "${dataDir}"`, '',
      '[build]', 'flavour = "debian"', 'architectures = ["x86_64"]', 'deb_build_options = "nocheck"', '',
    ].join('\n'));
    const debian = join(EXAMPLES, 'debian');
    const built = await quarters(['build', ...readdirSync(debian).map((d) => join(debian, d)), '--config', serverConfig, '--name', 'garnet', '--jobs', '2']);
    if (built.exitCode !== 0) throw new Error(`quarters build of examples/debian failed:\n${built.stdout}\n${built.stderr}`);
    repo = join(dataDir, 'repos', 'garnet', '1', 'x86_64');
  }, 1_800_000);
  afterAll(async () => {
    if (timings.length) process.stderr.write(`quarters image build timings (examples/images/garnet.toml):\n${timings.map((t) => `  ${t}`).join('\n')}\n`);
    for (const environment of environments) await environment.destroy();
    await fx?.remove();
  });

  /** Runs `command` offline in a container whose whole system is `tree`; its exit status and output. */
  async function inTree(name: string, tree: string, command: string[]): Promise<{ exitCode: number | null; output: string }> {
    const root = join(fx.dir, name);
    await mkdir(join(root, 'workspace'), { recursive: true });
    const environment = nspawnBackend(null).environment({
      name: `${name}-${process.pid}`, workspace: join(root, 'workspace'), base: { version: 'test', path: tree }, instance: null, binds: [], limits: { memoryMib: 0, cpus: 0 },
    });
    environments.push(environment);
    await environment.setup();
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => { chunks.push(chunk); done(); } });
    const result = await environment.exec({ command, cwd: '/', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, network: false, stdout: sink, stderr: sink });
    return { exitCode: result.exitCode, output: Buffer.concat(chunks).toString('utf8') + result.detail };
  }

  it('builds examples/images/garnet.toml: a root bootstrapped from the distribution with the build set\'s packages, their files and a consistent dpkg database', async () => {
    const began = Date.now();
    const result = await imageBuild(join(EXAMPLES, 'images', 'garnet.toml'), ['--out', 'garnet.raw']);
    timings.push(`first build: ${((Date.now() - began) / 1000).toFixed(1)} s`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('garnet.raw');
    expect(result.stderr).toMatch(/partition 2 root \(ext4, 301 MiB\): built in/);
    // The packages came from the build set's repository, libc6 from the distribution, installed without network.
    expect(result.stderr).toMatch(/Get:\d+ copy:\/quarters\/repo \.\/ garnet-meta 1\.0/);
    expect(result.stderr).toMatch(/quarters: installing garnet-meta \(without network\)/);
    const disk = join(work, 'garnet.raw');
    expect(statSync(disk).size).toBe(320 * MIB);
    const gpt = await partitionTable(disk);
    expect(gpt.partitions.map((p) => [p.name, p.type])).toEqual([['ESP', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'], ['root', '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709']]);

    const root = await extractPartition(disk, gpt.partitions[1]!, join(work, 'root.img'));
    expect((await execa('fsck.ext4', ['-fn', root], { reject: false })).exitCode).toBe(0);
    // The packages' files, owned by root; the including file's entries beside them.
    expect(await debugfs(root, 'ls -l /usr/bin')).toMatch(/100755 \(1\)\s+0\s+0\s+\d+\s+\S+\s+\S+\s+garnet\n/);
    expect(await debugfs(root, 'ls /usr/lib/x86_64-linux-gnu')).toMatch(/libgarnet\.so\.1\.2\.0/);
    expect(await debugfs(root, 'cat /usr/share/garnet-meta/README')).toBe(readFileSync(join(EXAMPLES, 'debian', 'garnet-meta', 'README'), 'utf8').trimEnd());
    expect(await debugfs(root, 'cat /etc/hostname')).toBe('garnet');
    // The shell entry ran after the packages were installed.
    expect(await debugfs(root, 'cat /usr/share/garnet-meta/installed')).toBe('garnet-meta 1.0\ngarnet-tool 1.0-1\nlibgarnet1 1.2.0');
    // Nothing of the installation is left in the tree: no packages, no policy-rc.d, no mount points made for it.
    expect((await debugfs(root, 'ls /var/cache/apt/archives')).split(/\s+/).filter((n) => n.endsWith('.deb'))).toEqual([]);
    expect(await debugfs(root, 'stat /usr/sbin/policy-rc.d').catch((error: { stderr: string }) => error.stderr)).not.toMatch(/Inode:/);
    expect(await debugfs(root, 'ls /dev')).not.toMatch(/null/);

    // dpkg's database: the packages and their dependencies installed, nothing half-configured.
    const tree = join(work, 'tree');
    await mkdir(tree);
    await execa('debugfs', ['-R', `rdump / ${tree}`, root]);
    const status = readFileSync(join(tree, 'var/lib/dpkg/status'), 'utf8');
    for (const name of ['garnet-meta', 'garnet-tool', 'libgarnet1', 'libc6', 'dpkg', 'base-files']) expect(status).toMatch(new RegExp(`^Package: ${name}\\n(?:Essential: yes\\n)?Status: install ok installed\\n`, 'm'));
    const query = await execa('dpkg-query', [`--admindir=${tree}/var/lib/dpkg`, '-W', '-f', '${db:Status-Abbrev}${Package} ${Version}\\n']);
    const lines = query.stdout.split('\n');
    expect(lines).toEqual(expect.arrayContaining(['ii garnet-meta 1.0', 'ii garnet-tool 1.0-1', 'ii libgarnet1 1.2.0', expect.stringMatching(/^ii libc6 2\.36/)]));
    expect(lines.filter((line) => !line.startsWith('ii '))).toEqual([]);
    expect((await execa('dpkg', [`--admindir=${tree}/var/lib/dpkg`, '--audit'])).stdout).toBe('');
    expect(readFileSync(join(tree, 'var/lib/dpkg/info/garnet-tool.list'), 'utf8')).toMatch(/^\/usr\/bin\/garnet$/m);
    // Asked for: garnet-meta; pulled in by it: marked automatically installed, as apt does on a system.
    const states = readFileSync(join(tree, 'var/lib/apt/extended_states'), 'utf8');
    expect(states).toMatch(/^Package: libgarnet1\nArchitecture: amd64\nAuto-Installed: 1$/m);
    expect(states).not.toMatch(/^Package: garnet-meta$/m);
    // The tool runs on the image's own system: its libraries resolved.
    const ran = await inTree('garnet-run', tree, ['garnet', 'quarters']);
    expect(ran.exitCode, ran.output).toBe(0);
    expect(ran.output).toBe('garnet 1.0 (libgarnet 1.2.0, built for quarters)\ne1a4e6fc  quarters\n');

    // The partition's key holds the build set's packages with their versions and checksums.
    const sums = new Map(aptPackages(readFileSync(join(repo, 'Packages'), 'utf8')).map((p) => [p.filename, p.sha256]));
    const about = readdirSync(join(cacheDir, 'partitions')).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(cacheDir, 'partitions', n), 'utf8')) as { label: string; inputs: { packages: { installer: string; repository: string[]; distributionState: string | null } } });
    const keyed = about.find((a) => a.label === 'root')!.inputs.packages;
    expect(keyed.installer).toBe('apt');
    expect(keyed.repository).toEqual([
      `garnet-meta 1.0 ${sums.get('garnet-meta_1.0_all.deb')}`, `garnet-tool 1.0-1 ${sums.get('garnet-tool_1.0-1_amd64.deb')}`, `libgarnet1 1.2.0 ${sums.get('libgarnet1_1.2.0_amd64.deb')}`,
    ]);
    expect(keyed.distributionState).toMatch(/^base \S+, instance /);

    expect(mountsMentioning(fx.dir)).toEqual([]);
    expect(readdirSync(join(fx.workDir, 'workspaces'))).toEqual([]);
    expect(readdirSync(join(cacheDir, 'work'))).toEqual([]);
  }, 900_000);

  it('reuses both cached partitions on a second build; the partitions are the same bytes', async () => {
    const seconds = await expectCachedRebuild(imageBuild, join(EXAMPLES, 'images', 'garnet.toml'), join(work, 'garnet.raw'), 301);
    timings.push(`second build (partitions from the cache): ${seconds.toFixed(1)} s`);
  }, 300_000);

  it('is built by the server when the build set settles ([[images]]), from the same cached partitions', async () => {
    const db = openDatabase(dataDir);
    try {
      const store = new BuildStore(db);
      const images = new ImageStore(db);
      const ns = store.namespaceByName('garnet')!;
      const iteration = store.latestIteration(ns.id)!;
      const builder = new ImageBuilder({
        store, images, repositories: new Repositories(dataDir, 'debian'), dataDir, log: createLogger({ name: 'image-test', level: 'silent' }),
        specs: [{ name: 'garnet', description: join(EXAMPLES, 'images', 'garnet.toml'), namespaces: ['garn*'], executor_config: fx.configFile }], command: ['node', CLI],
      });
      builder.settled(ns.id);
      await builder.idle();
      const rows = images.ofIteration(iteration.id);
      expect(rows.map((r) => [r.name, r.arch, r.state, r.filename, r.reason])).toEqual([['garnet', 'x86_64', 'built', 'garnet.raw', null]]);
      const dir = builder.dir('garnet', iteration.number, 'x86_64', 'garnet');
      expect(readFileSync(join(dir, 'build.log'), 'utf8')).toMatch(/partition 2 root \(ext4, 301 MiB\): reused from the cache \(normal, key [0-9a-f]{12}\)/);
      const served = join(dir, 'garnet.raw');
      const first = join(work, 'garnet.raw');
      for (const p of (await partitionTable(first)).partitions) {
        expect(await rangeDigest(served, p.start * 512, p.size * 512)).toBe(await rangeDigest(first, p.start * 512, p.size * 512));
      }
    } finally {
      db.close();
    }
  }, 300_000);

  it('names a package neither repository has, before downloading anything, leaving no image and nothing mounted', async () => {
    const top = join(work, 'unknown.toml');
    await writeFile(top, '[image]\nlabel = "unknown"\nsize = 320\n[[image.partition]]\nlabel = "root"\nsize = -1\nfilesystem = "ext4"\npackages = ["garnet-meta", "no-such-garnet"]\n');
    const result = await imageBuild(top);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toMatch(/Download complete/);
    // The installer's reason is the command's last line.
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('quarters: partition root: fetching garnet-meta no-such-garnet: no package no-such-garnet in the build set\'s repository or the distribution\'s');
    expect(existsSync(join(work, 'unknown.raw'))).toBe(false);
    expect(existsSync(join(work, 'unknown.raw.part'))).toBe(false);
    expect(mountsMentioning(fx.dir)).toEqual([]);
  }, 300_000);
});
