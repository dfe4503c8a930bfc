/**
 * What a Debian build may publish and keep: its .debs (checked with dpkg-deb against the recipe's
 * products, debhelper's -dbgsym packages included) go into the build set's apt repository
 * (apt-ftparchive); its .buildinfo and .changes are checked as records of the build (source, version,
 * architectures, binaries, Changed-By) and kept in the pool, out of the repository's index. A full
 * build's source package (dpkg-source's .dsc and tarballs) is checked file by file, the .dsc against
 * the source files uploaded before it, and indexed into the repository's Sources, which apt reads.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkArtifactName } from '../../src/core/build-set/artifact-name.js';
import { buildProducts } from '../../src/core/build-set/build-products.js';
import { parseDebianControl } from '../../src/core/recipe/debian.js';
import { checkPackageFile, PackageRefused } from '../../src/server/artifacts/package-check.js';
import { Repositories } from '../../src/server/artifacts/repository.js';
import { execa } from 'execa';
import { debPackage, debSourcePackage, sha256Of, tempDir } from '../support/packages.js';

const CONTROL = [
  'Source: libgarnet', 'Maintainer: Quarters Examples <examples@quarters.invalid>', '',
  'Package: libgarnet1', 'Architecture: any', 'Multi-Arch: same', '',
  'Package: libgarnet-doc', 'Architecture: all', '',
].join('\n');
const recipe = parseDebianControl(CONTROL, 'debian/control', { version: '1:1.2.0-1' }).value!;
const products = buildProducts(recipe, 'x86_64');
const PACKAGER = 'Jane Doe <jane@example.org>';
const build = { id: 7, pkgbase: 'libgarnet', version: '1:1.2.0-1', packager: PACKAGER };

/** A .changes as dpkg-genchanges writes one for a binary-only build. */
function changes(overrides: Record<string, string> = {}): string {
  const fields: Record<string, string> = {
    Format: '1.8', Date: 'Thu, 03 Dec 2026 12:00:00 +0000', Source: 'libgarnet', Binary: 'libgarnet-doc libgarnet1 libgarnet1-dbgsym',
    Architecture: 'amd64 all', Version: '1:1.2.0-1', Distribution: 'unstable', Urgency: 'medium',
    Maintainer: 'Quarters Examples <examples@quarters.invalid>', 'Changed-By': PACKAGER, ...overrides,
  };
  return `${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n')}\nFiles:\n 0123 1 libs optional libgarnet1_1.2.0-1_amd64.deb\n`;
}

async function check(filename: string, text: string) {
  const dir = tempDir('quarters-record-');
  writeFileSync(join(dir, filename), text);
  const named = checkArtifactName(filename, 'debian', 'x86_64');
  if (!named.ok) throw new Error(named.reason);
  return checkPackageFile('debian', join(dir, filename), filename, named.value, build, products);
}

describe('Debian build records (.changes, .buildinfo)', () => {
  it('takes the records dpkg-buildpackage writes for the build, with the packager as Changed-By', async () => {
    const info = await check('libgarnet_1.2.0-1_amd64.changes', changes());
    expect(info).toEqual({ identity: { name: 'libgarnet', version: '1:1.2.0-1', arch: 'amd64' }, packager: { field: 'Changed-By', value: PACKAGER } });
    const buildinfo = 'Format: 1.0\nSource: libgarnet\nBinary: libgarnet1 libgarnet-doc\nArchitecture: amd64 all\nVersion: 1:1.2.0-1\nBuild-Architecture: amd64\n';
    expect((await check('libgarnet_1.2.0-1_amd64.buildinfo', buildinfo)).packager).toBeNull();
  });

  it.each([
    ['another source', 'libgarnet_1.2.0-1_amd64.changes', changes({ Source: 'ruby' }), 'package_name_mismatch', /named libgarnet_1\.2\.0-1_amd64\.changes, but it says it is of ruby/],
    ['another version', 'libgarnet_1.3-1_amd64.changes', changes({ Version: '1:1.3-1' }), 'not_a_product', /records a build of libgarnet 1:1\.3-1/],
    ['a binary the recipe does not make', 'libgarnet_1.2.0-1_amd64.changes', changes({ Binary: 'libgarnet1 openssl' }), 'not_a_product', /lists openssl, which this build's recipe does not produce/],
    ['an architecture the build does not make', 'libgarnet_1.2.0-1_amd64.changes', changes({ Architecture: 'source amd64 arm64' }), 'not_a_product', /records packages for arm64/],
    ['another packager', 'libgarnet_1.2.0-1_amd64.changes', changes({ 'Changed-By': 'Mallory <m@example.org>' }), 'packager_mismatch', /Changed-By "Mallory <m@example\.org>", but the build was made for "Jane Doe/],
    ['a signed record', 'libgarnet_1.2.0-1_amd64.changes', `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${changes()}`, 'invalid_package', /is signed/],
    ['no Source', 'libgarnet_1.2.0-1_amd64.buildinfo', 'Version: 1.2.0-1\n', 'invalid_package', /lacks Source, Version or Architecture/],
  ])('refuses %s, naming what is wrong', async (_what, filename, text, code, message) => {
    const refused = await check(filename, text).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PackageRefused);
    expect((refused as PackageRefused).code).toBe(code);
    expect((refused as PackageRefused).message).toMatch(message);
  });
});

describe('Debian packages of a build', () => {
  async function checkDeb(name: string, version: string, arch: string) {
    const made = await debPackage({ name, version, arch, maintainer: 'Quarters Examples <examples@quarters.invalid>' });
    // As dpkg-deb names it: without the epoch.
    const deb = { filename: `${name}_${version.slice(version.indexOf(':') + 1)}_${arch}.deb`, path: '' };
    deb.path = join(dirname(made.path), deb.filename);
    renameSync(made.path, deb.path);
    const named = checkArtifactName(deb.filename, 'debian', 'x86_64');
    if (!named.ok) throw new Error(named.reason);
    return { deb, result: await checkPackageFile('debian', deb.path, deb.filename, named.value, build, products).catch((error: unknown) => error) };
  }

  it("takes the recipe's binaries and debhelper's -dbgsym of an architecture-dependent one; Maintainer stays debian/control's", async () => {
    expect((await checkDeb('libgarnet1', '1:1.2.0-1', 'amd64')).result).toMatchObject({ identity: { name: 'libgarnet1' }, packager: null });
    expect((await checkDeb('libgarnet1-dbgsym', '1:1.2.0-1', 'amd64')).result).toMatchObject({ identity: { name: 'libgarnet1-dbgsym' } });
    expect((await checkDeb('libgarnet-doc', '1:1.2.0-1', 'all')).result).toMatchObject({ identity: { arch: 'all' } });
    expect((await checkDeb('libgarnet-doc-dbgsym', '1:1.2.0-1', 'all')).result).toBeInstanceOf(PackageRefused);
    expect((await checkDeb('libgarnet1', '1:1.2.0-2', 'amd64')).result).toMatchObject({ code: 'not_a_product', message: expect.stringMatching(/at version 1:1\.2\.0-1/) });
  });

  it("indexes the .debs into the build set's apt repository and keeps the records out of it", async () => {
    const data = tempDir('quarters-debian-repo-');
    const repositories = new Repositories(data, 'debian');
    const { deb } = await checkDeb('libgarnet1', '1:1.2.0-1', 'amd64');
    const record = join(tempDir('quarters-record-'), 'libgarnet_1.2.0-1_amd64.changes');
    writeFileSync(record, changes());
    await repositories.add('set', 1, 'x86_64', [{ poolPath: deb.path, filename: deb.filename }, { poolPath: record, filename: 'libgarnet_1.2.0-1_amd64.changes' }]);
    const dir = repositories.dir('set', 1, 'x86_64');
    expect(readdirSync(dir).sort()).toEqual(['Packages', 'Release', 'Sources', deb.filename]);
    // No source package yet: an empty Sources, so that a deb-src entry finds an index.
    expect(readFileSync(join(dir, 'Sources'), 'utf8')).toBe('');
    expect(readFileSync(join(dir, 'Packages'), 'utf8')).toMatch(/^Package: libgarnet1$/m);
    expect(readFileSync(join(dir, 'Release'), 'utf8')).toMatch(/^Origin: quarters$/m);
    // A record alone changes nothing, not even a new generation of the repository.
    await repositories.add('set', 2, 'x86_64', [{ poolPath: record, filename: 'libgarnet_1.2.0-1_amd64.changes' }]);
    expect(existsSync(repositories.dir('set', 2, 'x86_64'))).toBe(false);
  });
});

describe("a full build's source package", () => {
  /** Offers the files to the build in this order, each checked against those stored before it, as the upload route does; the first refusal, or the infos. */
  async function offer(dir: string, filenames: readonly string[], stored: { filename: string; sha256: string; size: number; path: string }[] = []) {
    for (const filename of filenames) {
      const path = join(dir, filename);
      const named = checkArtifactName(filename, 'debian', 'x86_64');
      if (!named.ok) return new Error(named.reason);
      const sha256 = sha256Of(path);
      const size = statSync(path).size;
      const refused = await checkPackageFile('debian', path, filename, named.value, build, products, { sha256, size, stored: stored.filter((f) => f.filename !== filename) }).then(() => null, (error: unknown) => error);
      if (refused) return refused;
      stored.splice(0, stored.length, ...stored.filter((f) => f.filename !== filename), { filename, sha256, size, path });
    }
    return stored;
  }
  const refusal = (result: unknown) => {
    expect(result).toBeInstanceOf(PackageRefused);
    return result as PackageRefused;
  };

  it("takes the orig tarball, the .debian.tar and then the .dsc listing them; a retried upload of the same file after it too", async () => {
    const made = await debSourcePackage({ source: 'libgarnet', version: '1:1.2.0-1', format: 'quilt', binaries: ['libgarnet1'] });
    expect(made.files).toEqual(['libgarnet_1.2.0-1.debian.tar.xz', 'libgarnet_1.2.0.orig.tar.xz', 'libgarnet_1.2.0-1.dsc']);
    const stored = await offer(made.dir, made.files);
    expect(stored).toHaveLength(3);
    expect(await offer(made.dir, ['libgarnet_1.2.0.orig.tar.xz'], stored as never)).toHaveLength(3);
  });

  it('refuses a .dsc that arrives before the files it lists', async () => {
    const made = await debSourcePackage({ source: 'libgarnet', version: '1:1.2.0-1', format: 'quilt', binaries: ['libgarnet1'] });
    const refused = refusal(await offer(made.dir, ['libgarnet_1.2.0-1.debian.tar.xz', 'libgarnet_1.2.0-1.dsc']));
    expect(refused.code).toBe('source_mismatch');
    expect(refused.message).toMatch(/libgarnet_1\.2\.0-1\.dsc: it lists libgarnet_1\.2\.0\.orig\.tar\.xz, which the build has not uploaded \(a source package's files come before its \.dsc\)/);
  });

  it('refuses a .dsc naming another source or version than the build', async () => {
    const other = await debSourcePackage({ source: 'libgarnet', version: '1:1.3-1', format: 'quilt', binaries: ['libgarnet1'] });
    // Named for the build, but saying it is of 1.3-1.
    renameSync(join(other.dir, 'libgarnet_1.3-1.dsc'), join(other.dir, 'libgarnet_1.2.0-1.dsc'));
    const misnamed = refusal(await offer(other.dir, ['libgarnet_1.2.0-1.dsc']));
    expect(misnamed.code).toBe('package_name_mismatch');
    expect(misnamed.message).toMatch(/it is named for libgarnet 1\.2\.0-1, but it says it is of libgarnet 1:1\.3-1/);
    // Named for what it is, which is not the build's version: refused by its name already.
    const foreign = refusal(await offer(other.dir, ['libgarnet_1.3.orig.tar.xz']));
    expect(foreign.code).toBe('not_a_product');
    expect(foreign.message).toMatch(/build 7 \(libgarnet 1:1\.2\.0-1\): libgarnet_1\.3\.orig\.tar\.xz: it is named for libgarnet at upstream version 1\.3, but the build is of libgarnet at upstream version 1\.2\.0/);
    const ruby = await debSourcePackage({ source: 'ruby', version: '1:1.2.0-1', format: 'quilt', binaries: ['ruby'] });
    copyFileSync(join(ruby.dir, 'ruby_1.2.0-1.dsc'), join(ruby.dir, 'libgarnet_1.2.0-1.dsc'));
    expect(refusal(await offer(ruby.dir, ['libgarnet_1.2.0-1.dsc'])).message).toMatch(/but it says it is of ruby 1:1\.2\.0-1/);
  });

  it('refuses a missing, an extra or a changed source file', async () => {
    const made = await debSourcePackage({ source: 'libgarnet', version: '1:1.2.0-1', format: 'quilt', binaries: ['libgarnet1'] });
    const missing = refusal(await offer(made.dir, ['libgarnet_1.2.0.orig.tar.xz', 'libgarnet_1.2.0-1.dsc']));
    expect(missing.message).toMatch(/it lists libgarnet_1\.2\.0-1\.debian\.tar\.xz, which the build has not uploaded/);

    // An extra one: a native tarball of the build's version beside the quilt package's files.
    writeFileSync(join(made.dir, 'libgarnet_1.2.0-1.tar.gz'), 'not listed');
    const extra = refusal(await offer(made.dir, ['libgarnet_1.2.0-1.tar.gz', ...made.files]));
    expect(extra.code).toBe('source_mismatch');
    expect(extra.message).toMatch(/the build uploaded libgarnet_1\.2\.0-1\.tar\.gz, which it does not list/);

    // A changed one, before the .dsc and (a retried upload) after it.
    const changed = join(tempDir('quarters-dsc-changed-'), 'libgarnet_1.2.0.orig.tar.xz');
    writeFileSync(changed, 'another upstream');
    const stored = [{ filename: 'libgarnet_1.2.0.orig.tar.xz', sha256: sha256Of(changed), size: statSync(changed).size, path: changed }];
    const before = refusal(await offer(made.dir, ['libgarnet_1.2.0-1.debian.tar.xz', 'libgarnet_1.2.0-1.dsc'], [...stored]));
    expect(before.message).toMatch(/libgarnet_1\.2\.0\.orig\.tar\.xz has sha256 [0-9a-f]{64} \(16 bytes\), but the \.dsc lists sha256/);
    const complete = await offer(made.dir, made.files);
    const after = refusal(await offer(dirname(changed), ['libgarnet_1.2.0.orig.tar.xz'], complete as never));
    expect(after.code).toBe('source_mismatch');
    expect(after.message).toMatch(/has sha256 [0-9a-f]{64} \(16 bytes\), but the \.dsc lists .* \(a source package's files come before its \.dsc\)/);
  });

  it("indexes the source package into the repository's Sources, which apt-get source reads", async () => {
    const made = await debSourcePackage({ source: 'libgarnet', version: '1:1.2.0-1', format: 'quilt', binaries: ['libgarnet1'] });
    const repositories = new Repositories(tempDir('quarters-debian-repo-'), 'debian');
    await repositories.add('set', 1, 'x86_64', made.files.map((filename) => ({ filename, poolPath: join(made.dir, filename) })));
    const repo = repositories.dir('set', 1, 'x86_64');
    const sources = readFileSync(join(repo, 'Sources'), 'utf8');
    expect(sources).toMatch(/^Package: libgarnet$/m);
    expect(sources).toMatch(/^Version: 1:1\.2\.0-1$/m);
    expect(readFileSync(join(repo, 'Release'), 'utf8')).toMatch(new RegExp(` ${sha256Of(join(repo, 'Sources'))} +\\d+ Sources$`, 'm'));

    // apt, with a state of its own that knows only this repository, downloads the source package (checking every file).
    const apt = tempDir('quarters-apt-');
    for (const sub of ['lists/partial', 'cache/archives/partial', 'etc/preferences.d', 'etc/apt.conf.d', 'download']) mkdirSync(join(apt, sub), { recursive: true });
    writeFileSync(join(apt, 'etc/sources.list'), `deb-src [trusted=yes] file:${repo} ./\n`);
    writeFileSync(join(apt, 'status'), '');
    const options = [
      '-o', `Dir::Etc=${join(apt, 'etc')}`, '-o', 'Dir::Etc::SourceParts=/nonexistent', '-o', `Dir::State::Lists=${join(apt, 'lists')}`,
      '-o', `Dir::Cache=${join(apt, 'cache')}`, '-o', `Dir::State::status=${join(apt, 'status')}`, '-o', 'Debug::NoLocking=1',
    ];
    const updated = await execa('apt-get', [...options, 'update'], { reject: false, all: true });
    expect(updated.exitCode, updated.all).toBe(0);
    const shown = await execa('apt-cache', [...options, 'showsrc', 'libgarnet'], { reject: false, all: true });
    expect(shown.all).toMatch(/^Binary: libgarnet1$/m);
    const fetched = await execa('apt-get', [...options, 'source', '--download-only', 'libgarnet'], { cwd: join(apt, 'download'), reject: false, all: true });
    expect(fetched.exitCode, fetched.all).toBe(0);
    expect(readdirSync(join(apt, 'download')).sort()).toEqual(['libgarnet_1.2.0-1.debian.tar.xz', 'libgarnet_1.2.0-1.dsc', 'libgarnet_1.2.0.orig.tar.xz']);
  });
});
