import { describe, expect, it } from 'vitest';
import type { SourcePackage } from '../recipe/model.js';
import { parseSrcinfo } from '../recipe/srcinfo.js';
import { buildProducts, checkProduct, nameAgrees } from './build-products.js';

const SPLIT = [
  'pkgbase = python-foo', '\tpkgver = 2.1', '\tpkgrel = 3', '\tepoch = 1', '\tarch = x86_64', '\tarch = aarch64', '',
  'pkgname = python-foo', '', 'pkgname = python-foo-docs', '\tarch = any', '',
].join('\n');

const recipe = (): SourcePackage => parseSrcinfo(SPLIT, '.SRCINFO').value!;

const deb = (architectures: string[][]): SourcePackage => ({
  flavour: 'debian', pkgbase: 'zlib', version: { epoch: 1, upstream: '1.3', release: '1', text: '1:1.3-1' }, architectures: ['any'],
  binaries: architectures.map((a, i) => ({ name: ['zlib1g', 'zlib1g-doc'][i]!, architectures: a, depends: [], preDepends: [], optionalDepends: [], provides: [], conflicts: [], replaces: [], breaks: [] })),
  buildDepends: [], buildDependsArch: [], buildDependsIndep: [], checkDepends: [], buildConflicts: [], location: { file: 'debian/control', line: 1 },
});

describe('buildProducts', () => {
  it('lists every pkgname of the recipe at its version, with the package architectures a build on one architecture gives it', () => {
    expect(buildProducts(recipe(), 'x86_64')).toEqual([
      { name: 'python-foo', version: '1:2.1-3', architectures: ['x86_64'] },
      { name: 'python-foo-docs', version: '1:2.1-3', architectures: ['any'] },
    ]);
  });

  it('gives .deb products Debian architecture names, and leaves out binaries not built on the architecture', () => {
    expect(buildProducts(deb([['linux-any'], ['all']]), 'x86_64')).toEqual([
      { name: 'zlib1g', version: '1:1.3-1', architectures: ['x86_64', 'amd64'] },
      { name: 'zlib1g-doc', version: '1:1.3-1', architectures: ['all'] },
    ]);
    expect(buildProducts(deb([['arm64']]), 'x86_64')).toEqual([]);
  });
});

describe('checkProduct', () => {
  const products = buildProducts(recipe(), 'x86_64');

  it('accepts a package the recipe produces, at its version and architecture', () => {
    expect(checkProduct(products, 'pkgbuild', { name: 'python-foo', version: '1:2.1-3', arch: 'x86_64' })).toMatchObject({ ok: true });
    expect(checkProduct(products, 'pkgbuild', { name: 'python-foo-docs', version: '1:2.1-3', arch: 'any' })).toMatchObject({ ok: true });
  });

  it('refuses another package (glibc, or another pkgbase of the build set), naming what the build produces', () => {
    const glibc = checkProduct(products, 'pkgbuild', { name: 'glibc', version: '9.9-1', arch: 'x86_64' });
    expect(glibc).toMatchObject({ ok: false, reason: expect.stringContaining('python-foo 1:2.1-3 (x86_64), python-foo-docs 1:2.1-3 (any)') });
  });

  it('refuses another version or architecture of one of its packages', () => {
    expect(checkProduct(products, 'pkgbuild', { name: 'python-foo', version: '2.1-3', arch: 'x86_64' })).toMatchObject({ ok: false, reason: expect.stringContaining('at version 1:2.1-3') });
    expect(checkProduct(products, 'pkgbuild', { name: 'python-foo', version: '1:2.1-3', arch: 'any' })).toMatchObject({ ok: false, reason: expect.stringContaining('is for any') });
    expect(checkProduct(products, 'pkgbuild', { name: 'python-foo-docs', version: '1:2.1-3', arch: 'x86_64' }).ok).toBe(false);
  });

  it('compares versions as the flavour does, not as text', () => {
    const debs = buildProducts(deb([['any']]), 'x86_64');
    expect(checkProduct(debs, 'debian', { name: 'zlib1g', version: '1:1.3-1', arch: 'amd64' }).ok).toBe(true);
    expect(checkProduct(debs, 'debian', { name: 'zlib1g', version: '1.3-1', arch: 'amd64' }).ok).toBe(false);
  });

  it("takes a Debian binary's -dbgsym package (debhelper's automatic debug symbols) as its product, for architecture-dependent binaries only", () => {
    const debs = buildProducts(deb([['any']]), 'x86_64');
    expect(checkProduct(debs, 'debian', { name: 'zlib1g-dbgsym', version: '1:1.3-1', arch: 'amd64' }).ok).toBe(true);
    expect(checkProduct(debs, 'debian', { name: 'zlib1g-dbgsym', version: '1:1.3-2', arch: 'amd64' }).ok).toBe(false);
    expect(checkProduct(debs, 'debian', { name: 'zlib1g-dbgsym', version: '1:1.3-1', arch: 'all' }).ok).toBe(false);
    expect(checkProduct(debs, 'debian', { name: 'other-dbgsym', version: '1:1.3-1', arch: 'amd64' }).ok).toBe(false);
    expect(checkProduct(debs, 'autobuild', { name: 'zlib1g-dbgsym', version: '1:1.3-1', arch: 'amd64' }).ok).toBe(false);
  });
});

describe('nameAgrees', () => {
  it('holds when the file name says what the package says, and not when they differ', () => {
    expect(nameAgrees({ name: 'zlib', version: '1.3-1', arch: 'x86_64' }, { name: 'zlib', version: '1.3-1', arch: 'x86_64' }, 'pkgbuild')).toBe(true);
    expect(nameAgrees({ name: 'zlib', version: '1.3-1', arch: 'x86_64' }, { name: 'glibc', version: '1.3-1', arch: 'x86_64' }, 'pkgbuild')).toBe(false);
    expect(nameAgrees({ name: 'zlib1g', version: '1.3-1', arch: 'amd64' }, { name: 'zlib1g', version: '1:1.3-1', arch: 'amd64' }, 'debian')).toBe(true);
  });
});
