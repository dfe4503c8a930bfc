/**
 * flavour "debian" through the whole GitLab path: the Debian examples as package projects in the
 * GitLab double; a push to libgarnet → the server plans libgarnet ← garnet-tool ← garnet-meta and
 * dispatches each pipeline when its dependency is built → the runner runs the CI template's job
 * through the real quarters-executor → dpkg-buildpackage in an nspawn container on the Debian build
 * base, each dependant installing its dependency's new packages from the build set's apt repository
 * (fetched by the executor from the server) → the executor uploads .debs, .buildinfo and .changes →
 * the server checks and indexes them → apt in a clean container installs from the served repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { nspawnBackend } from '../../src/executor/backends/nspawn/index.js';
import type { Environment } from '../../src/executor/environment.js';
import { reportSkip } from '../support/capabilities.js';
import { debianBaseTree } from '../support/debian-base.js';
import { startSystemRig, systemRigSkipReason, type SystemRig } from '../support/system-rig.js';

const EXAMPLES = resolve(import.meta.dirname, '../../examples/debian');
const SETTLE_MS = 600_000;

const skip = reportSkip(systemRigSkipReason('debian'), 'the whole system, flavour debian (server, GitLab double, runner, executor)');

/** A bundle directory's files as a project holds them (path → text). */
async function filesOf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files[relative(dir, join(entry.parentPath, entry.name))] = await readFile(join(entry.parentPath, entry.name), 'utf8');
  }
  return files;
}

/**
 * garnet-tool as a git-buildpackage repository has it (the double keeps text files only): the
 * upstream tree unpacked from the orig tarball, debian/ beside it with its patch unapplied, no tarball.
 */
async function unpackedTool(scratch: string): Promise<Record<string, string>> {
  await mkdir(scratch, { recursive: true });
  await execa('tar', ['-xzf', join(EXAMPLES, 'garnet-tool', 'garnet-tool_1.0.orig.tar.gz'), '-C', scratch, '--strip-components=1']);
  const { 'garnet-tool_1.0.orig.tar.gz': _tarball, ...debian } = await filesOf(join(EXAMPLES, 'garnet-tool'));
  return { ...(await filesOf(scratch)), ...debian };
}

describe.skipIf(skip)('the whole system, flavour debian: push → pipelines in order → apt repository', () => {
  let rig: SystemRig;
  const environments: Environment[] = [];

  beforeAll(async () => {
    rig = await startSystemRig({ flavour: 'debian', build: { deb_build_options: 'nocheck' } });
  }, 900_000);
  afterAll(async () => {
    for (const environment of environments) await environment.destroy();
    await rig?.close();
  }, 300_000);

  it('rebuilds the library, the tool against its new packages and the metapackage, and apt installs them from the served repository', async () => {
    const [lib] = await rig.addPackages(
      { pkgbase: 'libgarnet', files: await filesOf(join(EXAMPLES, 'libgarnet')) },
      { pkgbase: 'garnet-tool', files: await unpackedTool(join(rig.executor.dir, 'garnet-tool-tree')) },
      { pkgbase: 'garnet-meta', files: await filesOf(join(EXAMPLES, 'garnet-meta')) },
    );
    const changelog = (await readFile(join(EXAMPLES, 'libgarnet/debian/changelog'), 'utf8')).replace('libgarnet (1.2.0)', 'libgarnet (1.2.1)');
    await rig.pushFiles(lib!, { 'debian/changelog': changelog }, 'libgarnet 1.2.1');

    const builds = await rig.waitForSettled('auto-libgarnet', SETTLE_MS);
    const byName = Object.fromEntries(builds.map((b) => [b.pkgbase, b]));
    expect(Object.fromEntries(builds.map((b) => [b.pkgbase, [b.state, b.version]])), rig.report()).toEqual({
      libgarnet: ['built', '1.2.1'], 'garnet-tool': ['built', '1.0-1'], 'garnet-meta': ['built', '1.0'],
    });
    expect(byName.libgarnet!.artifacts.map((a) => a.filename).sort()).toEqual([
      'libgarnet-dev_1.2.1_amd64.deb', 'libgarnet1-dbgsym_1.2.1_amd64.deb', 'libgarnet1_1.2.1_amd64.deb', 'libgarnet_1.2.1_amd64.buildinfo', 'libgarnet_1.2.1_amd64.changes',
    ]);

    // Each job ran the template's steps with the driver; garnet-tool's got libgarnet-dev 1.2.1 from the set's repository, which the executor fetched from the server.
    const traceOf = (pkgbase: string) => {
      const pipeline = rig.gitlab.state.pipelines.get(byName[pkgbase]!.pipeline_id!)!;
      const [job] = rig.gitlab.state.jobsOf(pipeline.id);
      return rig.runner.job(job!.id)!.trace;
    };
    const tool = traceOf('garnet-tool');
    expect(tool).toMatch(/quarters: the build set's repository .*: \d+ packages/);
    expect(tool).toMatch(/Get:\d+ file:\/quarters\/repo \.\/ libgarnet-dev 1\.2\.1/);
    expect(tool).toMatch(/source format 3\.0 \(quilt\) without an orig tarball/);
    // The executor's fetch step (with network) did the work; the job script's own fetch finds it done.
    expect(tool).toMatch(/build dependencies were installed in this environment already: nothing to fetch/);
    expect(tool).toMatch(/applying banner\.patch/);
    expect(tool).toMatch(/DEB_BUILD_OPTIONS='nocheck parallel=\d+'/);
    expect(tool).toMatch(/quarters: uploaded garnet-tool_1\.0-1_amd64\.changes/);
    // The packager who pushed is who changed the build (.changes' Changed-By, which the server checked on upload).
    expect(traceOf('libgarnet')).toMatch(/dpkg-genchanges --build=binary -eJane Doe <jane\.doe@example\.org>/);

    // The served repository: the packages, indexed; the records are the builds' only.
    const base = `${rig.url}/repos/auto-libgarnet/latest/x86_64`;
    const packages = await (await fetch(`${base}/Packages`)).text();
    expect([...packages.matchAll(/^Package: (.+)$/gm)].map((m) => m[1]).sort()).toEqual(['garnet-meta', 'garnet-tool', 'garnet-tool-dbgsym', 'libgarnet-dev', 'libgarnet1', 'libgarnet1-dbgsym']);
    expect(packages).toMatch(/^Depends: libc6 \(>= [^)]+\), libgarnet1 \(>= 1\.2\.\d\)$/m);
    expect((await fetch(`${base}/libgarnet_1.2.1_amd64.changes`)).status).toBe(404);

    // A clean container installs the metapackage over HTTP from the server, and with it the tool and the new library.
    const root = join(rig.executor.dir, 'clean');
    await mkdir(join(root, 'workspace'), { recursive: true });
    const environment = nspawnBackend(null).environment({
      name: `qdeb-sys-${process.pid}`, workspace: join(root, 'workspace'), base: { version: 'test', path: await debianBaseTree() }, instance: null, binds: [], limits: { memoryMib: 0, cpus: 0 },
    });
    environments.push(environment);
    await environment.setup();
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => { chunks.push(chunk); done(); } });
    const script = [
      'set -e', `echo "deb [trusted=yes] ${base} ./" > /etc/apt/sources.list`, 'apt-get -q update >/dev/null',
      'DEBIAN_FRONTEND=noninteractive apt-get -q -y install garnet-meta >/dev/null', 'dpkg-query -W -f "\\${Package} \\${Version}\\n" garnet-meta garnet-tool libgarnet1', 'garnet a',
    ].join('\n');
    const installed = await environment.exec({ command: ['sh', '-c', script], cwd: '/', env: {}, network: true, stdout: sink, stderr: sink });
    const output = Buffer.concat(chunks).toString('utf8');
    expect(installed.exitCode, output + installed.detail).toBe(0);
    expect(output).toMatch(/\ngarnet-meta 1\.0\ngarnet-tool 1\.0-1\nlibgarnet1 1\.2\.1\ngarnet 1\.0 \(libgarnet 1\.2\.0, built for quarters\)\ne40c292c {2}a\n$/);
  }, 900_000);
});
