/**
 * vm/quarters-build on Debian source packages: dpkg-buildpackage inside systemd-nspawn over the
 * Debian build base (`scripts/make-base --profile debian`), through the executor's Environment.
 * Build dependencies come from the base and from a build set's apt repository indexed as the server
 * indexes one; the build runs offline as the build user; .deb, .buildinfo and .changes come out.
 */
import { describe, expect, it } from 'vitest';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Repositories } from '../src/server/artifacts/repository.js';
import { debianBaseSkipReason, debianBaseTree } from './support/debian-base.js';
import { driverJobs, type DriverJob } from './support/driver-jobs.js';
import { containerSkipReason, reportSkip } from './support/capabilities.js';

const DRIVER = fileURLToPath(new URL('../vm/quarters-build', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../examples/debian', import.meta.url));
const PACKAGER = 'Jane Doe <jane.doe@example.org>';

/** A native Debian bundle: debian/control, changelog, rules (the body of override_dh_auto_install) and format. */
function nativeBundle(source: string, options: { buildDepends?: string; install: string[]; arch?: string }): Record<string, string> {
  return {
    'debian/control': [
      `Source: ${source}`, 'Maintainer: Quarters Tests <tests@quarters.invalid>',
      `Build-Depends: debhelper-compat (= 13)${options.buildDepends ? `, ${options.buildDepends}` : ''}`, 'Rules-Requires-Root: no', '',
      `Package: ${source}`, `Architecture: ${options.arch ?? 'all'}`, 'Depends: ${misc:Depends}', `Description: ${source} for the driver tests`, ' A test package.', '',
    ].join('\n'),
    'debian/changelog': `${source} (1.0) unstable; urgency=medium\n\n  * Test.\n\n -- Quarters Tests <tests@quarters.invalid>  Thu, 03 Dec 2026 12:00:00 +0000\n`,
    'debian/source/format': '3.0 (native)\n',
    'debian/rules': ['#!/usr/bin/make -f', '%:', '\tdh $@', '', 'override_dh_auto_install:', ...options.install.map((line) => `\t${line}`), ''].join('\n'),
  };
}

describe('quarters-build on a Debian bundle, on the host (no container)', () => {
  it('refuses malformed DEB_BUILD_OPTIONS and DEB_BUILD_PROFILES words before doing anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quarters-driver-deb-host-'));
    try {
      for (const [name, value] of [['QUARTERS_DEB_BUILD_OPTIONS', 'nocheck; rm -rf /'], ['QUARTERS_DEB_BUILD_PROFILES', 'Stage1'], ['QUARTERS_DEB_BUILD_OPTIONS', 'parallel=$(id)']] as const) {
        const result = await execa(DRIVER, ['flavour'], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', [name]: value }, extendEnv: false, reject: false, all: true });
        expect(result.exitCode, value).not.toBe(0);
        expect(result.all).toMatch(new RegExp(`${name} must be blank-separated words like 'nocheck parallel=4'`));
      }
      const type = await execa(DRIVER, ['flavour'], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', QUARTERS_DEB_BUILD_TYPE: 'source' }, extendEnv: false, reject: false, all: true });
      expect(type.exitCode).not.toBe(0);
      expect(type.all).toMatch(/QUARTERS_DEB_BUILD_TYPE must be binary or full, got 'source'/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const skip = reportSkip(containerSkipReason() ?? debianBaseSkipReason(), 'quarters-build on Debian bundles in systemd-nspawn');

describe.skipIf(skip)('quarters-build in systemd-nspawn on the Debian build base', () => {
  const driver = driverJobs('qdeb', debianBaseTree);
  const newJob = driver.job;
  type Job = DriverJob;

  /** A fresh overlay over the base: the bundle (files, or a directory copied) at /build, the output at /output, a repository at /repo. */
  const job = (files: Record<string, string> | string, repo?: string): Promise<Job> =>
    newJob({
      writeBundle: async (bundle) => {
        if (typeof files === 'string') return cp(files, bundle, { recursive: true });
        for (const [path, text] of Object.entries(files)) {
          await mkdir(join(bundle, path, '..'), { recursive: true });
          await writeFile(join(bundle, path), text, { mode: path === 'debian/rules' ? 0o755 : 0o644 });
        }
      },
      ...(repo ? { repo } : {}),
    });

  const outputs = async (directory: string): Promise<string[]> => (await readdir(directory)).sort();
  const field = async (deb: string, name: string): Promise<string> => (await execa('dpkg-deb', ['--field', deb, name])).stdout;
  const member = async (deb: string, path: string): Promise<string> => (await execa('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - "$2"', 'sh', deb, path])).stdout;

  it('fetches, then builds without network as the build user, a native source into .deb, .buildinfo and .changes', async () => {
    const j = await job(nativeBundle('quarters-seen', {
      install: [
        'mkdir -p debian/quarters-seen/usr/share/quarters-seen',
        // What the build saw: its network, its DEB_BUILD_OPTIONS and who it ran as.
        "awk 'NR > 2 { print $$1 }' /proc/net/dev > debian/quarters-seen/usr/share/quarters-seen/interfaces",
        "ip -o link show lo | grep -o '<[^>]*>' >> debian/quarters-seen/usr/share/quarters-seen/interfaces",
        'echo "$$DEB_BUILD_OPTIONS" > debian/quarters-seen/usr/share/quarters-seen/options',
        'id -u > debian/quarters-seen/usr/share/quarters-seen/uid',
      ],
    }));
    const env = { QUARTERS_PACKAGER: PACKAGER, QUARTERS_DEB_BUILD_OPTIONS: 'nocheck', QUARTERS_BUILD_UID: '4242', QUARTERS_BUILD_GID: '4242' };
    const fetched = await j.run(['fetch'], { env, network: true });
    expect(fetched.exitCode, fetched.output).toBe(0);
    expect(fetched.output).toMatch(/the build dependencies are installed/);
    // Both steps get the host's network here: the driver itself keeps the build offline.
    const built = await j.run(['build'], { env, network: true });
    expect(built.exitCode, built.output).toBe(0);
    expect(await outputs(j.output)).toEqual(['quarters-seen_1.0_all.deb', 'quarters-seen_1.0_amd64.buildinfo', 'quarters-seen_1.0_amd64.changes']);
    const deb = join(j.output, 'quarters-seen_1.0_all.deb');
    expect(await field(deb, 'Package')).toBe('quarters-seen');
    expect(await field(deb, 'Maintainer')).toBe('Quarters Tests <tests@quarters.invalid>');
    expect(await member(deb, './usr/share/quarters-seen/interfaces')).toBe('lo:\n<LOOPBACK,UP,LOWER_UP>');
    expect(await member(deb, './usr/share/quarters-seen/options')).toMatch(/^nocheck parallel=\d+$/);
    expect(await member(deb, './usr/share/quarters-seen/uid')).toBe('4242');
    expect(built.output).not.toMatch(/WARNING/);
    const changes = await readFile(join(j.output, 'quarters-seen_1.0_amd64.changes'), 'utf8');
    expect(changes).toMatch(/^Changed-By: Jane Doe <jane\.doe@example\.org>$/m);
    expect(changes).toMatch(/^Maintainer: Quarters Tests <tests@quarters\.invalid>$/m);
    expect(await readFile(join(j.output, 'quarters-seen_1.0_amd64.buildinfo'), 'utf8')).toMatch(/^Source: quarters-seen$/m);
    expect(await readFile(join(j.logs, 'build.log'), 'utf8')).toMatch(/dpkg-buildpackage -us -uc -b/);
    // The checkout is not built in.
    expect((await readdir(j.bundle)).sort()).toEqual(['debian', 'quarters-logs']);
  }, 180_000);

  it("builds the examples' library, then the 3.0 (quilt) tool from its committed orig tarball against it from the build set's apt repository", async () => {
    const lib = await job(join(EXAMPLES, 'libgarnet'));
    const libBuilt = await lib.run(['all']);
    expect(libBuilt.exitCode, libBuilt.output).toBe(0);
    const libOut = await outputs(lib.output);
    expect(libOut).toEqual(expect.arrayContaining(['libgarnet1_1.2.0_amd64.deb', 'libgarnet-dev_1.2.0_amd64.deb', 'libgarnet_1.2.0_amd64.changes', 'libgarnet_1.2.0_amd64.buildinfo']));
    // The build set's repository, indexed as the server indexes one (apt-ftparchive, Origin quarters).
    const data = join(driver.scratchDir(), 'data');
    const repositories = new Repositories(data, 'debian');
    const debs = libOut.filter((f) => f.endsWith('.deb'));
    await repositories.add('set', 1, 'x86_64', debs.map((filename) => ({ filename, poolPath: join(lib.output, filename) })));
    const repo = repositories.dir('set', 1, 'x86_64');

    const tool = await job(join(EXAMPLES, 'garnet-tool'), repo);
    const fetched = await tool.run(['fetch'], { env: { QUARTERS_REPO_DIR: '/repo' }, network: false });
    expect(fetched.exitCode, fetched.output).toBe(0);
    expect(fetched.output).toMatch(/unpacking garnet-tool_1\.0\.orig\.tar\.gz under the bundle's files/);
    // From the repository, offline: the stage1 and hurd-any build dependencies are not asked for, the first alternative is taken.
    expect(fetched.output).toMatch(/Get:\d+ file:\/repo \.\/ libgarnet-dev 1\.2\.0/);
    const built = await tool.run(['build'], { env: { QUARTERS_REPO_DIR: '/repo' } });
    expect(built.exitCode, built.output).toBe(0);
    expect(built.output).toMatch(/applying banner\.patch/);
    const deb = join(tool.output, 'garnet-tool_1.0-1_amd64.deb');
    expect(await field(deb, 'Depends')).toMatch(/libgarnet1 \(>= 1\.2\.0\)/);
    // The tool runs against the library it was built with, and carries the Debian patch.
    const ran = await tool.exec(['sh', '-c', 'dpkg -i /output/garnet-tool_1.0-1_amd64.deb >/dev/null && garnet a']);
    expect(ran.output).toBe('garnet 1.0 (libgarnet 1.2.0, built for quarters)\ne40c292c  a\n');

    // A full build of the tool makes its source package too: the committed orig tarball as it is, debian/ with
    // its patch, and not the project's other files (a GitLab project's .gitlab-ci.yml is no upstream change).
    const project = join(driver.scratchDir(), 'garnet-tool-project');
    await cp(join(EXAMPLES, 'garnet-tool'), project, { recursive: true });
    await writeFile(join(project, '.gitlab-ci.yml'), 'include: quarters.yml\n');
    const full = await job(project, repo);
    const fullBuilt = await full.run(['all'], { env: { QUARTERS_REPO_DIR: '/repo', QUARTERS_DEB_BUILD_TYPE: 'full' } });
    expect(fullBuilt.exitCode, fullBuilt.output).toBe(0);
    expect(fullBuilt.output).toMatch(/leaving out the project's \.gitlab-ci\.yml/);
    expect(fullBuilt.output).toMatch(/dpkg-buildpackage -us -uc for garnet-tool 1\.0-1,/);
    const fullOut = await outputs(full.output);
    expect(fullOut).toEqual(expect.arrayContaining([
      'garnet-tool_1.0-1.debian.tar.xz', 'garnet-tool_1.0-1.dsc', 'garnet-tool_1.0.orig.tar.gz', 'garnet-tool_1.0-1_amd64.deb', 'garnet-tool_1.0-1_amd64.changes', 'garnet-tool_1.0-1_amd64.buildinfo',
    ]));
    expect(await readFile(join(full.output, 'garnet-tool_1.0.orig.tar.gz'))).toEqual(await readFile(join(EXAMPLES, 'garnet-tool', 'garnet-tool_1.0.orig.tar.gz')));
    expect(await readFile(join(full.output, 'garnet-tool_1.0-1_amd64.changes'), 'utf8')).toMatch(/^Architecture: source amd64$/m);
    // dpkg-source takes the source package apart again (checking every file against the .dsc): the patch is there, the CI file is not.
    const unpacked = join(driver.scratchDir(), 'garnet-tool-unpacked');
    const extracted = await execa('dpkg-source', ['-x', join(full.output, 'garnet-tool_1.0-1.dsc'), unpacked], { cwd: driver.scratchDir(), reject: false, all: true });
    expect(extracted.exitCode, extracted.all).toBe(0);
    expect(await readFile(join(unpacked, 'debian', 'patches', 'banner.patch'), 'utf8')).toMatch(/built for quarters/);
    expect((await readdir(unpacked)).sort()).not.toContain('.gitlab-ci.yml');
  }, 420_000);

  it('makes a native source package with a full build, and refuses a full build of a 3.0 (quilt) tree without its orig tarball', async () => {
    const native = await job(nativeBundle('quarters-whole', { install: ['mkdir -p debian/quarters-whole/usr/share/quarters-whole'] }));
    const built = await native.run(['all'], { env: { QUARTERS_DEB_BUILD_TYPE: 'full' } });
    expect(built.exitCode, built.output).toBe(0);
    expect(await outputs(native.output)).toEqual(['quarters-whole_1.0.dsc', 'quarters-whole_1.0.tar.xz', 'quarters-whole_1.0_all.deb', 'quarters-whole_1.0_amd64.buildinfo', 'quarters-whole_1.0_amd64.changes']);
    const dsc = await readFile(join(native.output, 'quarters-whole_1.0.dsc'), 'utf8');
    expect(dsc).toMatch(/^Format: 3\.0 \(native\)$/m);
    expect(dsc).toMatch(/^Source: quarters-whole$/m);
    expect(await readFile(join(native.logs, 'build.log'), 'utf8')).not.toMatch(/dpkg-buildpackage -us -uc -b/);

    // git-buildpackage's layout: the upstream tree with debian/, no orig tarball; binary builds take it, a source package cannot be made.
    const quilt = nativeBundle('quarters-gbp', { install: ['mkdir -p debian/quarters-gbp/usr/share/quarters-gbp'] });
    quilt['debian/source/format'] = '3.0 (quilt)\n';
    quilt['debian/changelog'] = quilt['debian/changelog']!.replace('(1.0)', '(1.0-1)');
    quilt['upstream.c'] = 'int main(void) { return 0; }\n';
    const gbp = await job(quilt);
    const refused = await gbp.run(['all'], { env: { QUARTERS_DEB_BUILD_TYPE: 'full' } });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).toMatch(/a full build \(QUARTERS_DEB_BUILD_TYPE=full\) makes the source package, and source format 3\.0 \(quilt\) needs its orig tarball for that: commit quarters-gbp_1\.0\.orig\.tar\.\{gz,xz,bz2\} beside debian\//);
    expect(await outputs(gbp.output)).toEqual([]);
  }, 240_000);

  it('honours build profiles: a dependency only without the profile is not installed', async () => {
    const bundle = nativeBundle('quarters-staged', { buildDepends: 'quarters-nowhere <!stage1>', install: ['mkdir -p debian/quarters-staged/usr/share/quarters-staged'] });
    const j = await job(bundle);
    const staged = await j.run(['all'], { env: { QUARTERS_DEB_BUILD_PROFILES: 'stage1' } });
    expect(staged.exitCode, staged.output).toBe(0);
    expect(await outputs(j.output)).toContain('quarters-staged_1.0_all.deb');

    // Without the profile the dependency is needed, and neither the base nor (offline) any repository has it.
    const plain = await job(bundle);
    const failed = await plain.run(['fetch']);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.output).toMatch(/apt-get update failed|apt cannot install the build dependencies of quarters-staged/);
    expect(failed.output).toMatch(/fetch failed \(exit status \d+\)/);
  }, 180_000);

  it('fails a failing build with a non-zero status, the tail of its log and where the whole log is', async () => {
    const j = await job(nativeBundle('quarters-broken', { install: ['for i in $$(seq -w 1 80); do echo "marker-$$i"; done', 'echo "the compiler is unhappy" >&2', 'exit 3'] }));
    const result = await j.run(['all']);
    expect(result.exitCode).not.toBe(0);
    const tail = result.output.split('The last 50 lines of its log:')[1] ?? '';
    expect(tail, result.output).toMatch(/the compiler is unhappy/);
    expect(tail).toMatch(/dpkg-buildpackage: error/);
    expect(tail).not.toMatch(/marker-01\n/);
    expect(result.output).toMatch(/the full log is \/build\/quarters-logs\/build\.log/);
    expect(await readFile(join(j.logs, 'build.log'), 'utf8')).toMatch(/marker-01\n/);
    expect(await outputs(j.output)).toEqual([]);
  }, 180_000);
});
