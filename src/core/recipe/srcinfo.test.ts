import { describe, expect, it } from 'vitest';
import type { SourcePackage } from './model.js';
import { isSrcinfoPath, parseSrcinfo, parseSrcinfoTree } from './srcinfo.js';

/** Writes a .SRCINFO the way makepkg does: section headers flush left, keys tab-indented. */
function srcinfo(...sections: string[][]): string {
  return sections.map(([header, ...keys]) => [header, ...keys.map((key) => `\t${key}`)].join('\n')).join('\n\n') + '\n';
}

function parsed(text: string): SourcePackage {
  const result = parseSrcinfo(text, 'foo/.SRCINFO');
  expect(result.issues).toEqual([]);
  expect(result.value).not.toBeNull();
  return result.value as SourcePackage;
}

const x86 = { negated: false, arches: ['x86_64'] };
const arm = { negated: false, arches: ['aarch64'] };

describe('parseSrcinfo', () => {
  it('reads a single package: version, architectures, build and run dependencies', () => {
    const pkg = parsed(srcinfo(
      ['pkgbase = foo', 'pkgdesc = A foo', 'pkgver = 1.2.3', 'pkgrel = 2', 'url = https://foo.example', 'arch = x86_64', 'arch = aarch64',
        'license = MIT', 'makedepends = cmake>=3.20', 'makedepends = git', 'checkdepends = python-pytest', 'depends = glibc', 'depends = zlib>=1:1.3',
        'optdepends = bash: for the scripts', 'optdepends = python>=3.11: bindings', 'source = foo.tar.gz', 'sha256sums = SKIP'],
      ['pkgname = foo'],
    ));
    expect(pkg).toEqual({
      flavour: 'pkgbuild',
      pkgbase: 'foo',
      version: { epoch: 0, upstream: '1.2.3', release: '2', text: '1.2.3-2' },
      architectures: ['x86_64', 'aarch64'],
      binaries: [{
        name: 'foo',
        architectures: ['x86_64', 'aarch64'],
        depends: [[{ name: 'glibc' }], [{ name: 'zlib', constraint: { op: '>=', version: '1:1.3' } }]],
        preDepends: [],
        optionalDepends: [[{ name: 'bash' }], [{ name: 'python', constraint: { op: '>=', version: '3.11' } }]],
        provides: [],
        conflicts: [],
        replaces: [],
        breaks: [],
      }],
      buildDepends: [[{ name: 'cmake', constraint: { op: '>=', version: '3.20' } }], [{ name: 'git' }]],
      buildDependsArch: [],
      buildDependsIndep: [],
      checkDepends: [[{ name: 'python-pytest' }]],
      buildConflicts: [],
      location: { file: 'foo/.SRCINFO', line: 1 },
      extra: { pkgdesc: 'A foo', url: 'https://foo.example' },
    });
  });

  it('reads the epoch into the version', () => {
    const pkg = parsed(srcinfo(['pkgbase = foo', 'pkgver = 2.0', 'pkgrel = 1.1', 'epoch = 3', 'arch = any'], ['pkgname = foo']));
    expect(pkg.version).toEqual({ epoch: 3, upstream: '2.0', release: '1.1', text: '3:2.0-1.1' });
    expect(pkg.architectures).toEqual(['any']);
  });

  it('gives split packages the pkgbase values unless their section replaces them', () => {
    const pkg = parsed(srcinfo(
      ['pkgbase = mesa-split', 'pkgver = 24.1', 'pkgrel = 1', 'arch = x86_64', 'depends = libdrm', 'depends = expat', 'provides = mesa-libgl',
        'conflicts = mesa-amber', 'replaces = mesa-old'],
      ['pkgname = mesa'],
      ['pkgname = vulkan-radeon', 'depends = libdrm', 'depends = vulkan-icd-loader', 'provides = vulkan-driver=24.1'],
      ['pkgname = mesa-docs', 'arch = any', 'depends = ', 'provides = ', 'conflicts = '],
    ));
    const [mesa, vulkan, docs] = pkg.binaries;
    expect(pkg.binaries.map((b) => b.name)).toEqual(['mesa', 'vulkan-radeon', 'mesa-docs']);
    expect(mesa?.depends).toEqual([[{ name: 'libdrm' }], [{ name: 'expat' }]]);
    expect(mesa?.provides).toEqual([{ name: 'mesa-libgl' }]);
    expect(mesa?.architectures).toEqual(['x86_64']);
    expect(vulkan?.depends).toEqual([[{ name: 'libdrm' }], [{ name: 'vulkan-icd-loader' }]]);
    expect(vulkan?.provides).toEqual([{ name: 'vulkan-driver', version: '24.1' }]);
    expect(vulkan?.conflicts).toEqual([[{ name: 'mesa-amber' }]]);
    expect(vulkan?.replaces).toEqual([[{ name: 'mesa-old' }]]);
    expect(docs?.architectures).toEqual(['any']);
    expect(docs?.depends).toEqual([]);
    expect(docs?.provides).toEqual([]);
    expect(docs?.conflicts).toEqual([]);
    expect(docs?.replaces).toEqual([[{ name: 'mesa-old' }]]);
    expect(pkg.architectures).toEqual(['x86_64']);
  });

  it('adds per-architecture keys to the generic list on their architecture, and overrides them one by one', () => {
    const pkg = parsed(srcinfo(
      ['pkgbase = qemu-thing', 'pkgver = 1', 'pkgrel = 1', 'arch = x86_64', 'arch = aarch64', 'makedepends = gcc', 'makedepends_aarch64 = dtc',
        'checkdepends_x86_64 = valgrind', 'depends = glibc', 'depends_x86_64 = lib32-glibc', 'depends_aarch64 = libfdt', 'provides_x86_64 = qemu-x86=1',
        'conflicts_aarch64 = qemu-arm', 'optdepends_x86_64 = ovmf: UEFI'],
      ['pkgname = qemu-thing'],
      ['pkgname = qemu-thing-extra', 'depends = qemu-thing', 'depends_x86_64 = '],
      ['pkgname = qemu-thing-alt', 'depends_aarch64 = libfdt-alt', 'depends_aarch64 = pixman'],
    ));
    expect(pkg.buildDepends).toEqual([[{ name: 'gcc' }], [{ name: 'dtc', arches: arm }]]);
    expect(pkg.checkDepends).toEqual([[{ name: 'valgrind', arches: x86 }]]);
    const [main, extra, alt] = pkg.binaries;
    expect(main?.depends).toEqual([[{ name: 'glibc' }], [{ name: 'lib32-glibc', arches: x86 }], [{ name: 'libfdt', arches: arm }]]);
    expect(main?.provides).toEqual([{ name: 'qemu-x86', version: '1', arches: x86 }]);
    expect(main?.conflicts).toEqual([[{ name: 'qemu-arm', arches: arm }]]);
    expect(main?.optionalDepends).toEqual([[{ name: 'ovmf', arches: x86 }]]);
    // The generic list and the x86_64 list are replaced; the aarch64 list still comes from pkgbase.
    expect(extra?.depends).toEqual([[{ name: 'qemu-thing' }], [{ name: 'libfdt', arches: arm }]]);
    expect(alt?.depends).toEqual([[{ name: 'glibc' }], [{ name: 'lib32-glibc', arches: x86 }], [{ name: 'libfdt-alt', arches: arm }], [{ name: 'pixman', arches: arm }]]);
  });

  it('accepts CRLF line ends, comments, blank-stripped empty values and space indentation', () => {
    const text = '# Generated by makepkg\r\npkgbase = foo\r\n  pkgver = 1\r\n  pkgrel = 1\r\n  arch = any\r\n  depends = bar\r\n\r\npkgname = foo\r\n  depends =\r\n';
    expect(parsed(text).binaries[0]?.depends).toEqual([]);
  });

  it('reports a line without " = " with its line, and goes on', () => {
    const result = parseSrcinfo(srcinfo(['pkgbase = foo', 'pkgver = 1', 'pkgrel = 1', 'arch = any', 'depends=bar', 'depends = baz'], ['pkgname = foo']), 'foo/.SRCINFO');
    expect(result.issues).toEqual([{ file: 'foo/.SRCINFO', line: 5, message: "not a 'key = value' line: 'depends=bar'" }]);
    expect(result.value?.binaries[0]?.depends).toEqual([[{ name: 'baz' }]]);
  });

  it('reports a key outside any section', () => {
    const result = parseSrcinfo(`pkgver = 1\n${srcinfo(['pkgbase = foo', 'pkgver = 1', 'pkgrel = 1', 'arch = any'], ['pkgname = foo'])}`, 'f');
    expect(result.issues).toEqual([{ file: 'f', line: 1, message: "'pkgver' is outside any section: a .SRCINFO starts with 'pkgbase = NAME'" }]);
    expect(result.value?.pkgbase).toBe('foo');
  });

  it('reports a pkgname section before the pkgbase section and leaves that package out', () => {
    const result = parseSrcinfo(srcinfo(['pkgname = early'], ['pkgbase = foo', 'pkgver = 1', 'pkgrel = 1', 'arch = any'], ['pkgname = foo']), 'f');
    expect(result.issues).toEqual([{ file: 'f', line: 1, message: "pkgname section 'early' comes before the pkgbase section" }]);
    expect(result.value?.binaries.map((b) => b.name)).toEqual(['foo']);
  });

  it('answers no package, with the reason, when pkgbase, pkgver, pkgrel or every pkgname is missing', () => {
    expect(parseSrcinfo('', 'f')).toEqual({ value: null, issues: [{ file: 'f', line: 1, message: "no pkgbase section: a .SRCINFO starts with 'pkgbase = NAME'" }] });
    expect(parseSrcinfo(srcinfo(['pkgbase = foo', 'pkgrel = 1', 'arch = any'], ['pkgname = foo']), 'f'))
      .toEqual({ value: null, issues: [{ file: 'f', line: 1, message: "pkgbase 'foo' has no pkgver" }] });
    expect(parseSrcinfo(srcinfo(['pkgbase = foo', 'pkgver = 1', 'arch = any'], ['pkgname = foo']), 'f'))
      .toEqual({ value: null, issues: [{ file: 'f', line: 1, message: "pkgbase 'foo' has no pkgrel" }] });
    expect(parseSrcinfo(srcinfo(['pkgbase = foo', 'pkgver = 1', 'pkgrel = 1', 'arch = any']), 'f'))
      .toEqual({ value: null, issues: [{ file: 'f', line: 1, message: "pkgbase 'foo' has no pkgname section" }] });
  });

  it('reports a malformed version on the line that holds the faulty part', () => {
    const bad = (keys: string[]) => parseSrcinfo(srcinfo(['pkgbase = foo', ...keys, 'arch = any'], ['pkgname = foo']), 'f');
    expect(bad(['pkgver = 1.0-beta', 'pkgrel = 1'])).toEqual({ value: null, issues: [{ file: 'f', line: 2, message: "invalid version '1.0-beta-1': pkgver may not contain colons, slashes or hyphens" }] });
    expect(bad(['pkgver = 1:0', 'pkgrel = 1'])).toEqual({ value: null, issues: [{ file: 'f', line: 2, message: "invalid version '1:0-1': pkgver may not contain colons, slashes or hyphens" }] });
    expect(bad(['pkgver = 1.0', 'pkgrel = one'])).toEqual({ value: null, issues: [{ file: 'f', line: 3, message: "invalid version '1.0-one': pkgrel must be of the form 'integer[.integer]'" }] });
    expect(bad(['pkgver = 1.0', 'pkgrel = 1', 'epoch = x'])).toEqual({ value: null, issues: [{ file: 'f', line: 4, message: "invalid version 'x:1.0-1': epoch must be a non-negative integer" }] });
  });

  it('reports keys a pkgname section cannot override, repeated single values, bad names and bad dependencies', () => {
    const result = parseSrcinfo(srcinfo(
      ['pkgbase = foo', 'pkgver = 1', 'pkgrel = 1', 'pkgrel = 2', 'arch = any', 'provides = foo-bin>=1'],
      ['pkgname = foo', 'makedepends = gcc', 'depends = bar>=', 'conflicts = >=2'],
      ['pkgname = foo'],
    ), 'f');
    expect(result.issues).toEqual([
      { file: 'f', line: 13, message: "pkgname 'foo' is given twice" },
      { file: 'f', line: 4, message: "'pkgrel' is given more than once in pkgbase 'foo'" },
      { file: 'f', line: 9, message: "'makedepends' belongs to the pkgbase section; pkgname 'foo' cannot override it" },
      { file: 'f', line: 10, message: "depends: dependency 'bar>=' has an operator but no version; kept without a version constraint" },
      { file: 'f', line: 6, message: "provides 'foo-bin>=1' may only use '=' for a version, not '>='; kept without a version" },
      { file: 'f', line: 11, message: "conflicts: dependency '>=2' has no package name" },
    ]);
    expect(result.value?.binaries[0]?.depends).toEqual([[{ name: 'bar' }]]);
    expect(result.value?.binaries[0]?.provides).toEqual([{ name: 'foo-bin' }]);
    expect(result.value?.binaries[0]?.conflicts).toEqual([]);
    expect(result.value?.buildDepends).toEqual([]);
  });

  it('answers no package for an invalid pkgbase or pkgname, with the line', () => {
    const result = parseSrcinfo(srcinfo(['pkgbase = -foo', 'pkgver = 1', 'pkgrel = 1', 'arch = any'], ['pkgname = foo bar']), 'f');
    expect(result).toEqual({ value: null, issues: [
      { file: 'f', line: 1, message: "pkgbase '-foo' is not a valid package name" },
      { file: 'f', line: 6, message: "pkgname 'foo bar' is not a valid package name" },
    ] });
  });

  it('reports a per-architecture key without an architecture', () => {
    const result = parseSrcinfo(srcinfo(['pkgbase = foo', 'pkgver = 1', 'pkgrel = 1', 'arch = any', 'depends_ = bar'], ['pkgname = foo']), 'f');
    expect(result.issues).toEqual([{ file: 'f', line: 5, message: "'depends_' names no architecture after the underscore; it is ignored" }]);
    expect(result.value?.binaries[0]?.depends).toEqual([]);
  });

  it('never throws, whatever the text', () => {
    for (const text of ['pkgbase', ' = ', 'pkgbase = \npkgname = ', '\u0000\u0001', 'pkgbase = a\n\tpkgver = 1\n\tpkgrel = 1\npkgname = a\n\tdepends_ = x\n\tdepends_x86_64 = <']) {
      const result = parseSrcinfo(text, 'f');
      expect(result.value === null || result.value.pkgbase !== '').toBe(true);
      for (const issue of result.issues) expect(issue.line).toBeGreaterThan(0);
    }
  });
});

describe('parseSrcinfoTree', () => {
  it('parses every .SRCINFO of a tree and gathers the issues', () => {
    const good = srcinfo(['pkgbase = a', 'pkgver = 1', 'pkgrel = 1', 'arch = any'], ['pkgname = a']);
    const result = parseSrcinfoTree([
      { path: 'archlinuxcn/a/.SRCINFO', text: good },
      { path: 'archlinuxcn/a/PKGBUILD', text: 'pkgname=a' },
      { path: 'archlinuxcn/b/.SRCINFO', text: 'pkgname = b\n' },
      { path: '.SRCINFO', text: good.replaceAll('= a', '= root') },
    ]);
    expect(result.packages.map((p) => p.pkgbase)).toEqual(['a', 'root']);
    expect(result.issues.map((i) => `${i.file}:${i.line}`)).toEqual(['archlinuxcn/b/.SRCINFO:1', 'archlinuxcn/b/.SRCINFO:1']);
    expect(isSrcinfoPath('x/.SRCINFO.orig')).toBe(false);
  });
});
