/**
 * What a Debian build may publish and keep: its .debs (checked with dpkg-deb against the recipe's
 * products, debhelper's -dbgsym packages included) go into the build set's apt repository
 * (apt-ftparchive); its .buildinfo and .changes are checked as records of the build (source, version,
 * architectures, binaries, Changed-By) and kept in the pool, out of the repository's index.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkArtifactName } from '../../src/core/build-set/artifact-name.js';
import { buildProducts } from '../../src/core/build-set/build-products.js';
import { parseDebianControl } from '../../src/core/recipe/debian.js';
import { checkPackageFile, PackageRefused } from '../../src/server/artifacts/package-check.js';
import { Repositories } from '../../src/server/artifacts/repository.js';
import { debPackage, tempDir } from '../support/packages.js';

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
    ['an architecture the build does not make', 'libgarnet_1.2.0-1_amd64.changes', changes({ Architecture: 'amd64 source' }), 'not_a_product', /records packages for source/],
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
    expect(readdirSync(dir).sort()).toEqual(['Packages', 'Release', deb.filename]);
    expect(readFileSync(join(dir, 'Packages'), 'utf8')).toMatch(/^Package: libgarnet1$/m);
    expect(readFileSync(join(dir, 'Release'), 'utf8')).toMatch(/^Origin: quarters$/m);
    // A record alone changes nothing, not even a new generation of the repository.
    await repositories.add('set', 2, 'x86_64', [{ poolPath: record, filename: 'libgarnet_1.2.0-1_amd64.changes' }]);
    expect(existsSync(repositories.dir('set', 2, 'x86_64'))).toBe(false);
  });
});
