/**
 * flavour "debian" end to end with `quarters build`, as root with real containers: the three Debian
 * examples (libgarnet ← garnet-tool ← garnet-meta) planned on the Debian graph and built in dependency
 * order in the executor's nspawn environment on the Debian build base, each dependant installing its
 * dependency's new packages from the build set's apt repository; the uploads' checks, the apt
 * repository and the records kept with each build; then `apt-get install` from that repository in a
 * clean container, where the installed tool runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { nspawnBackend } from '../src/executor/backends/nspawn/index.js';
import type { Environment } from '../src/executor/environment.js';
import { BuildStore } from '../src/server/store/build-store.js';
import { openDatabase } from '../src/server/store/database.js';
import { backendSkipReason, reportSkip } from './support/capabilities.js';
import { debianBaseSkipReason, debianBaseTarball, debianBaseTree } from './support/debian-base.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from './support/executor-fixture.js';
import { mountsMentioning } from './support/processes.js';

const CLI = resolve(import.meta.dirname, '../dist/cli/main.js');
const EXAMPLES = resolve(import.meta.dirname, '../examples/debian');
const PACKAGER = 'Jane Doe <jane.doe@example.org>';

function skipReason(): string | null {
  if (!existsSync(CLI) || !existsSync(EXECUTOR[1])) return `quarters is not built (${CLI}); run npm test, which builds first`;
  return backendSkipReason('nspawn') ?? debianBaseSkipReason();
}

const skip = reportSkip(skipReason(), 'quarters build of the Debian examples (real containers)');

describe.skipIf(skip)('quarters build, flavour debian (real containers)', () => {
  let fx: ExecutorFixture;
  let dataDir: string;
  let serverConfig: string;
  const environments: Environment[] = [];
  const quarters = (args: string[]) => execa('node', [CLI, ...args], { reject: false, env: { QUARTERS_EXECUTOR_CONFIG: fx.configFile } });

  beforeAll(async () => {
    // No package manager refresh for the instance layer: the examples need nothing from a mirror.
    fx = await createExecutorFixture('[instance]\npackage_manager = "none"', { loadBase: false });
    const loaded = await fx.cli(['baseos', 'load', '--tarball', await debianBaseTarball()]);
    if (loaded.exitCode !== 0) throw new Error(`baseos load failed: ${loaded.stderr}`);
    dataDir = join(fx.dir, 'data');
    serverConfig = join(fx.dir, 'server.toml');
    await writeFile(serverConfig, [
      'listen = "127.0.0.1:8080"', 'public_url = "http://127.0.0.1:8080"', `data_dir = "${dataDir}"`, '',
      '[build]', 'flavour = "debian"', 'architectures = ["x86_64"]', 'deb_build_options = "nocheck"', '',
    ].join('\n'));
  }, 900_000);
  afterAll(async () => {
    for (const environment of environments) await environment.destroy();
    await fx?.remove();
  });

  it('builds the examples in dependency order, each against the one before it from the apt repository, and apt installs the result in a clean container', async () => {
    const bundles = ['garnet-meta', 'garnet-tool', 'libgarnet'].map((name) => join(EXAMPLES, name));
    const result = await quarters(['build', ...bundles, '--config', serverConfig, '--name', 'garnet', '--jobs', '2', '--packager', PACKAGER]);
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stderr).toMatch(/wave 1: libgarnet\n\s+wave 2: garnet-tool\n\s+wave 3: garnet-meta/);
    expect(result.stderr).toMatch(/wave 1: built libgarnet[^]*wave 2: building garnet-tool[^]*wave 2: built garnet-tool[^]*wave 3: building garnet-meta/);

    const db = openDatabase(dataDir);
    let artifacts: Record<string, string[]>;
    try {
      const store = new BuildStore(db);
      const ns = store.namespaceByName('garnet')!;
      const builds = store.builds(store.latestIteration(ns.id)!.id);
      expect(builds.map((b) => [b.pkgbase, b.state, b.version]).sort()).toEqual([
        ['garnet-meta', 'built', '1.0'], ['garnet-tool', 'built', '1.0-1'], ['libgarnet', 'built', '1.2.0'],
      ]);
      const byName = Object.fromEntries(builds.map((b) => [b.pkgbase, b]));
      expect(byName['garnet-tool']!.depends_on).toEqual([byName.libgarnet!.id]);
      expect(byName['garnet-meta']!.depends_on).toEqual([byName['garnet-tool']!.id]);
      // The .buildinfo and .changes are kept with each build, beside its packages.
      artifacts = Object.fromEntries(builds.map((b) => [b.pkgbase, store.artifacts(b.id).map((a) => a.filename).sort()]));
      for (const b of builds) for (const name of artifacts[b.pkgbase]!) expect(existsSync(join(dataDir, 'pool', String(b.id), name)), name).toBe(true);
    } finally {
      db.close();
    }
    expect(artifacts.libgarnet).toEqual(['libgarnet-dev_1.2.0_amd64.deb', 'libgarnet1-dbgsym_1.2.0_amd64.deb', 'libgarnet1_1.2.0_amd64.deb', 'libgarnet_1.2.0_amd64.buildinfo', 'libgarnet_1.2.0_amd64.changes']);
    expect(artifacts['garnet-tool']).toContain('garnet-tool_1.0-1_amd64.changes');
    expect(artifacts['garnet-meta']).toEqual(['garnet-meta_1.0_all.deb', 'garnet-meta_1.0_amd64.buildinfo', 'garnet-meta_1.0_amd64.changes']);
    const changes = readFileSync(join(dataDir, 'pool', String(readdirSync(join(dataDir, 'pool')).find((id) => existsSync(join(dataDir, 'pool', id, 'garnet-tool_1.0-1_amd64.changes')))), 'garnet-tool_1.0-1_amd64.changes'), 'utf8');
    expect(changes).toMatch(/^Changed-By: Jane Doe <jane\.doe@example\.org>$/m);

    // The apt repository: the packages, indexed; the records stay out.
    const repo = join(dataDir, 'repos', 'garnet', '1', 'x86_64');
    const names = readdirSync(repo).sort();
    expect(names.filter((n) => !n.endsWith('.deb'))).toEqual(['Packages', 'Release']);
    const packages = readFileSync(join(repo, 'Packages'), 'utf8');
    expect([...packages.matchAll(/^Package: (.+)$/gm)].map((m) => m[1]).sort()).toEqual(['garnet-meta', 'garnet-tool', 'garnet-tool-dbgsym', 'libgarnet-dev', 'libgarnet1', 'libgarnet1-dbgsym']);
    expect(packages).toMatch(/^Depends: libc6 \(>= [^)]+\), libgarnet1 \(>= 1\.2\.0\)$/m);

    // garnet-tool got libgarnet-dev from the build set's repository; DEB_BUILD_OPTIONS came from the config.
    const log = readFileSync(join(dataDir, 'logs', 'garnet', '1', 'x86_64', 'garnet-tool.log'), 'utf8');
    expect(log).toMatch(/Get:\d+ file:\/quarters\/repo \.\/ libgarnet-dev 1\.2\.0/);
    expect(log).toMatch(/DEB_BUILD_OPTIONS='nocheck parallel=\d+'/);
    expect(log).toMatch(/applying banner\.patch/);
    expect(mountsMentioning(fx.dir)).toEqual([]);

    // A clean container that knows nothing but the build set's repository installs the metapackage and, through it, the tool and the library.
    const root = join(fx.dir, 'clean');
    await mkdir(join(root, 'workspace'), { recursive: true });
    const environment = nspawnBackend(null).environment({
      name: `qdeb-install-${process.pid}`, workspace: join(root, 'workspace'), base: { version: 'test', path: await debianBaseTree() }, instance: null,
      binds: [{ host: repo, guest: '/repo', readOnly: true }], limits: { memoryMib: 0, cpus: 0 },
    });
    environments.push(environment);
    await environment.setup();
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => { chunks.push(chunk); done(); } });
    const script = [
      'set -e', 'echo "deb [trusted=yes] file:/repo ./" > /etc/apt/sources.list', 'apt-get -q update >/dev/null',
      'DEBIAN_FRONTEND=noninteractive apt-get -q -y install garnet-meta >/dev/null', 'dpkg-query -W -f "\\${Package} \\${Version}\\n" garnet-meta garnet-tool libgarnet1', 'garnet quarters',
    ].join('\n');
    const installed = await environment.exec({ command: ['sh', '-c', script], cwd: '/', env: {}, network: false, stdout: sink, stderr: sink });
    const output = Buffer.concat(chunks).toString('utf8');
    expect(installed.exitCode, output + installed.detail).toBe(0);
    // (apt's own notes on stderr come first.)
    expect(output).toMatch(/\ngarnet-meta 1\.0\ngarnet-tool 1\.0-1\nlibgarnet1 1\.2\.0\ngarnet 1\.0 \(libgarnet 1\.2\.0, built for quarters\)\ne1a4e6fc {2}quarters\n$/);
  }, 900_000);
});
