/**
 * A full Debian build (`[build] deb_build_type = "full"`) through the whole GitLab path: a push to
 * libgarnet → its pipeline with QUARTERS_DEB_BUILD_TYPE=full → the runner, the real executor and the
 * driver make the source package too → the executor uploads it, the .dsc after the files it lists →
 * the server checks the .dsc against them and indexes Sources → `apt-get source` over HTTP in a clean
 * container. garnet-tool, in git-buildpackage's layout (no orig tarball), cannot have its source
 * package made: its build fails saying so.
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

const skip = reportSkip(systemRigSkipReason('debian'), 'the whole system, flavour debian, full builds (server, GitLab double, runner, executor)');

/** A bundle directory's files as a project holds them (path → text). */
async function filesOf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files[relative(dir, join(entry.parentPath, entry.name))] = await readFile(join(entry.parentPath, entry.name), 'utf8');
  }
  return files;
}

describe.skipIf(skip)('the whole system, flavour debian, deb_build_type = "full": source packages into Sources', () => {
  let rig: SystemRig;
  const environments: Environment[] = [];

  beforeAll(async () => {
    rig = await startSystemRig({ flavour: 'debian', build: { deb_build_options: 'nocheck', deb_build_type: 'full' } });
  }, 900_000);
  afterAll(async () => {
    for (const environment of environments) await environment.destroy();
    await rig?.close();
  }, 300_000);

  it("publishes libgarnet's source package, which apt-get source fetches from the served Sources; garnet-tool without its orig tarball fails saying why", async () => {
    // garnet-tool as a git-buildpackage repository has it: the upstream tree with debian/, no orig tarball (the double keeps text files only).
    const tree = join(rig.executor.dir, 'garnet-tool-tree');
    await mkdir(tree, { recursive: true });
    await execa('tar', ['-xzf', join(EXAMPLES, 'garnet-tool', 'garnet-tool_1.0.orig.tar.gz'), '-C', tree, '--strip-components=1']);
    const { 'garnet-tool_1.0.orig.tar.gz': _tarball, ...toolDebian } = await filesOf(join(EXAMPLES, 'garnet-tool'));
    const [lib] = await rig.addPackages(
      { pkgbase: 'libgarnet', files: await filesOf(join(EXAMPLES, 'libgarnet')) },
      { pkgbase: 'garnet-tool', files: { ...(await filesOf(tree)), ...toolDebian } },
    );
    const changelog = (await readFile(join(EXAMPLES, 'libgarnet/debian/changelog'), 'utf8')).replace('libgarnet (1.2.0)', 'libgarnet (1.2.1)');
    await rig.pushFiles(lib!, { 'debian/changelog': changelog }, 'libgarnet 1.2.1');

    const builds = await rig.waitForSettled('auto-libgarnet', SETTLE_MS);
    const byName = Object.fromEntries(builds.map((b) => [b.pkgbase, b]));
    expect(Object.fromEntries(builds.map((b) => [b.pkgbase, b.state])), rig.report()).toEqual({ libgarnet: 'built', 'garnet-tool': 'failed' });
    expect(byName.libgarnet!.artifacts.map((a) => a.filename).sort()).toEqual([
      'libgarnet-dev_1.2.1_amd64.deb', 'libgarnet1-dbgsym_1.2.1_amd64.deb', 'libgarnet1_1.2.1_amd64.deb', 'libgarnet_1.2.1.dsc', 'libgarnet_1.2.1.tar.xz',
      'libgarnet_1.2.1_amd64.buildinfo', 'libgarnet_1.2.1_amd64.changes',
    ]);
    const traceOf = (pkgbase: string) => {
      const [job] = rig.gitlab.state.jobsOf(byName[pkgbase]!.pipeline_id!);
      return rig.runner.job(job!.id)!.trace;
    };
    // The executor sent the .dsc after the tarball it lists.
    expect(traceOf('libgarnet')).toMatch(/quarters: uploaded libgarnet_1\.2\.1\.tar\.xz[^]*quarters: uploaded libgarnet_1\.2\.1\.dsc/);
    expect(traceOf('garnet-tool')).toMatch(/source format 3\.0 \(quilt\) needs its orig tarball for that: commit garnet-tool_1\.0\.orig\.tar\.\{gz,xz,bz2\} beside debian\//);

    // A clean container gets the source package over HTTP from the server's Sources, apt checking each file.
    const base = `${rig.url}/repos/auto-libgarnet/latest/x86_64`;
    expect(await (await fetch(`${base}/Sources`)).text()).toMatch(/^Package: libgarnet$/m);
    const root = join(rig.executor.dir, 'clean');
    await mkdir(join(root, 'workspace'), { recursive: true });
    const environment = nspawnBackend(null).environment({
      name: `qdeb-src-sys-${process.pid}`, workspace: join(root, 'workspace'), base: { version: 'test', path: await debianBaseTree() }, instance: null, binds: [], limits: { memoryMib: 0, cpus: 0 },
    });
    environments.push(environment);
    await environment.setup();
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => { chunks.push(chunk); done(); } });
    const script = [
      'set -e', `echo "deb-src [trusted=yes] ${base} ./" > /etc/apt/sources.list`, 'apt-get -q update >/dev/null',
      'mkdir /src && cd /src', 'apt-get -q source --download-only libgarnet >/dev/null', 'ls /src',
    ].join('\n');
    const fetched = await environment.exec({ command: ['sh', '-c', script], cwd: '/', env: {}, network: true, stdout: sink, stderr: sink });
    const output = Buffer.concat(chunks).toString('utf8');
    expect(fetched.exitCode, output + fetched.detail).toBe(0);
    expect(output).toMatch(/\nlibgarnet_1\.2\.1\.dsc\nlibgarnet_1\.2\.1\.tar\.xz\n$/);
  }, 900_000);
});
