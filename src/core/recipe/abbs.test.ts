import { describe, expect, it } from 'vitest';
import { aoscVersion, parseAbbsPackage, parseAbbsTree, parseAtom } from './abbs.js';
import { AOSC_ARCH_GROUPS, AOSC_ARCHITECTURES } from './aosc-arches.js';
import type { SourcePackage, TextFile } from './model.js';

const DIR = 'core-libs/foo';

function recipe(spec: string, defines: string, extra: TextFile[] = []): TextFile[] {
  return [{ path: `${DIR}/spec`, text: spec }, { path: `${DIR}/autobuild/defines`, text: defines }, ...extra];
}

function parse(spec: string, defines: string): { value: SourcePackage; issues: string[] } {
  const result = parseAbbsPackage(DIR, recipe(spec, defines));
  if (!result.value) throw new Error(`not parsed: ${JSON.stringify(result.issues)}`);
  return { value: result.value, issues: result.issues.map((i) => `${i.file}:${i.line}: ${i.message}`) };
}

describe('parseAbbsPackage', () => {
  it('reads a simple package: version, names, relations, section, sources', () => {
    const spec = 'VER=1.2\nREL=3\nSRCS="tbl::https://example.org/foo-$VER.tar.xz"\nCHKSUMS="sha256::abc"\n';
    const defines = [
      'PKGNAME=foo',
      'PKGSEC=libs',
      "PKGDES='A \"foo\" library'",
      'PKGDEP="glibc zlib>=1.2.13 \\',
      '        bar<<2 baz==1:2.0-1 qux>>0.1 old<=3 foo @AB_AUTO_SO_DEPS@ nover_"',
      'BUILDDEP="cmake foo"',
      'PKGRECOM="foo-doc"',
      'PKGBREAK="foo-old<=1.0"',
      'PKGREP="foo-old<=1.0"',
      'PKGCONFL="foo-ng"',
      'PKGPROV="libfoo libfoo-abi==1.2"',
    ].join('\n');
    const { value, issues } = parse(spec, defines);
    expect(issues).toEqual([]);
    expect(value).toMatchObject({
      flavour: 'autobuild',
      pkgbase: 'foo',
      version: { epoch: 0, upstream: '1.2', release: '3', text: '1.2-3' },
      architectures: ['any'],
      location: { file: `${DIR}/spec`, line: 1 },
      extra: { section: 'libs', description: 'A "foo" library', srcs: 'tbl::https://example.org/foo-1.2.tar.xz', chksums: 'sha256::abc' },
    });
    const [bin] = value.binaries;
    expect(bin!.name).toBe('foo');
    // The package's own name and @...@ placeholders are left out, as autobuild does; BUILDDEP keeps it.
    expect(bin!.depends).toEqual([
      [{ name: 'glibc' }],
      [{ name: 'zlib', constraint: { op: '>=', version: '1.2.13' } }],
      [{ name: 'bar', constraint: { op: '<', version: '2' } }],
      [{ name: 'baz', constraint: { op: '=', version: '1:2.0-1' } }],
      [{ name: 'qux', constraint: { op: '>', version: '0.1' } }],
      [{ name: 'old', constraint: { op: '<=', version: '3' } }],
      [{ name: 'nover' }],
    ]);
    expect(value.buildDepends).toEqual([[{ name: 'cmake' }], [{ name: 'foo' }]]);
    expect(bin!.optionalDepends).toEqual([[{ name: 'foo-doc' }]]);
    expect(bin!.breaks).toEqual([[{ name: 'foo-old', constraint: { op: '<=', version: '1.0' } }]]);
    expect(bin!.replaces).toEqual(bin!.breaks);
    expect(bin!.conflicts).toEqual([[{ name: 'foo-ng' }]]);
    expect(bin!.provides).toEqual([{ name: 'libfoo' }, { name: 'libfoo-abi', version: '1.2' }]);
    expect(bin!.version).toBeUndefined();
  });

  it('forms the version as PKGEPOCH:VER-REL, without a 0 epoch or a 0 release', () => {
    expect(parse('VER=2.0\n', 'PKGNAME=foo\n').value.version).toEqual({ epoch: 0, upstream: '2.0', release: null, text: '2.0' });
    expect(parse('VER=2.0\nREL=0\n', 'PKGNAME=foo\nPKGEPOCH=0\n').value.version.text).toBe('2.0');
    expect(parse('VER=2.0\nREL=1\n', 'PKGNAME=foo\nPKGEPOCH=3\n').value.version).toEqual({ epoch: 3, upstream: '2.0', release: '1', text: '3:2.0-1' });
    expect(parse('VER=0.9\nREL=0retro1\n', 'PKGNAME=foo\n').value.version.text).toBe('0.9-0retro1');
    expect(aoscVersion(1, '1.0', '0').text).toBe('1:1.0');
  });

  it('lets defines refer to spec variables, PKGVER and earlier defines', () => {
    const { value } = parse('VER=6.10.3\n__VER=6.10\n', 'PKGNAME=linux-kernel-${__VER}\nMAJ=${PKGVER%%.*}\nPKGPROV="kernel-$MAJ linux==$PKGVER"\n');
    expect(value.binaries[0]!.name).toBe('linux-kernel-6.10');
    expect(value.binaries[0]!.provides).toEqual([{ name: 'kernel-6' }, { name: 'linux', version: '6.10.3' }]);
  });

  it('gives _spiral provides the package version with PKGEPOCH_SPIRAL', () => {
    const { value } = parse('VER=1.3.1\nREL=3\n', 'PKGNAME=zlib\nPKGPROV="zlib1g_spiral"\nPKGEPOCH_SPIRAL=1\nPKGEPOCH=2\n');
    expect(value.binaries[0]!.provides).toEqual([{ name: 'zlib1g', version: '1:1.3.1-3' }]);
  });

  it('encodes architecture overrides: the generic atoms everywhere else, each override on its architectures', () => {
    const defines = 'PKGNAME=foo\nPKGDEP="a b"\nPKGDEP__AMD64="a c"\nPKGDEP__RETRO="a"\nPKGDEP__I486="${PKGDEP__RETRO} d"\n';
    const { value, issues } = parse('VER=1\n', defines);
    expect(issues).toEqual([]);
    const retro = AOSC_ARCH_GROUPS.get('retro')!;
    const overridden = AOSC_ARCHITECTURES.filter((a) => a === 'amd64' || retro.includes(a));
    const retroOnly = retro.filter((a) => a !== 'i486');
    expect(value.binaries[0]!.depends).toEqual([
      [{ name: 'a', arches: { negated: true, arches: overridden } }],
      [{ name: 'b', arches: { negated: true, arches: overridden } }],
      [{ name: 'a', arches: { negated: false, arches: AOSC_ARCHITECTURES.filter((a) => retroOnly.includes(a)) } }],
      [{ name: 'a', arches: { negated: false, arches: ['amd64'] } }],
      [{ name: 'c', arches: { negated: false, arches: ['amd64'] } }],
      [{ name: 'a', arches: { negated: false, arches: ['i486'] } }],
      [{ name: 'd', arches: { negated: false, arches: ['i486'] } }],
    ]);
  });

  it('treats an empty override as "nothing on that architecture" and ignores helper suffixes', () => {
    const { value } = parse('VER=1\n', 'PKGNAME=foo\nBUILDDEP="x"\nBUILDDEP__RISCV64=""\nBUILDDEP__NOJAVA="y"\n');
    expect(value.buildDepends).toEqual([[{ name: 'x', arches: { negated: true, arches: ['riscv64'] } }]]);
  });

  it('reports an architecture in two overriding groups, as autobuild refuses it', () => {
    const { issues } = parse('VER=1\n', 'PKGNAME=foo\nPKGDEP__RETRO="a"\nPKGDEP__ARM="b"\nPKGDEP__ARMV7HF="c"\n');
    // armv4, armv5te, armv6hf are in both groups; armv7hf has its own.
    expect(issues).toEqual(
      ['armv4', 'armv5te', 'armv6hf'].map(
        (a) => `${DIR}/autobuild/defines:3: PKGDEP: ${a} is in the groups arm, retro, which all override PKGDEP; autobuild refuses to build there until PKGDEP__${a.toUpperCase()} is set (this reads PKGDEP__ARM)`,
      ),
    );
  });

  it('reads ABHOST=noarch, FAIL_ARCH patterns and ALLOW_ARCH', () => {
    expect(parse('VER=1\n', 'PKGNAME=foo\nABHOST=noarch\n').value.architectures).toEqual(['all']);
    expect(parse('VER=1\n', 'PKGNAME=foo\nFAIL_ARCH="!(amd64|arm64)"\n').value.architectures).toEqual(['amd64', 'arm64']);
    expect(parse('VER=1\n', 'PKGNAME=foo\nFAIL_ARCH="@(loongson3|riscv64)"\n').value.architectures).toEqual(AOSC_ARCHITECTURES.filter((a) => a !== 'loongson3' && a !== 'riscv64'));
    expect(parse('VER=1\n', 'PKGNAME=foo\nALLOW_ARCH="amd64"\n').value.architectures).toEqual(['amd64']);
    const noarch = parse('VER=1\n', 'PKGNAME=foo\nABHOST=noarch\nFAIL_ARCH="!(amd64)"\n');
    expect(noarch.value.architectures).toEqual(['all']);
    expect(noarch.issues).toEqual([`${DIR}/autobuild/defines:3: FAIL_ARCH "!(amd64)" matches noarch, this package's ABHOST: autobuild refuses to build it`]);
    const excluded = parse('VER=1\n', 'PKGNAME=foo+32\nABHOST=optenv32\nFAIL_ARCH="!(amd64)"\n');
    expect(excluded.value.architectures).toEqual(['optenv32']);
    expect(excluded.issues).toEqual([`${DIR}/autobuild/defines:2: ABHOST is optenv32, which FAIL_ARCH or ALLOW_ARCH excludes: autobuild never builds this package`]);
    const literal = parse('VER=1\n', 'PKGNAME=foo\nFAIL_ARCH="(loongson3|riscv64)"\n');
    expect(literal.value.architectures).toEqual(['any']);
    expect(literal.issues).toEqual([`${DIR}/autobuild/defines:2: FAIL_ARCH "(loongson3|riscv64)" matches no architecture, so autobuild builds everywhere (a list needs @(a|b) or !(a|b))`]);
  });

  it('reports bad dependency tokens with file and line, and keeps the rest', () => {
    const { value, issues } = parse('VER=1\n', 'PKGNAME=foo\n\nPKGDEP="good bad<1 worse=2 x>= y==1: ${Y}}"\nPKGPROV="p>=1"\n');
    expect(value.binaries[0]!.depends).toEqual([[{ name: 'good' }]]);
    expect(issues).toEqual([
      `${DIR}/autobuild/defines:3: PKGDEP: refers to $Y, which is not set (bash expands it to nothing)`,
      `${DIR}/autobuild/defines:3: PKGDEP: "bad<1": unsupported version operator (autobuild understands <<, <=, ==, >= and >>)`,
      `${DIR}/autobuild/defines:3: PKGDEP: "worse=2": unsupported version operator (autobuild understands <<, <=, ==, >= and >>)`,
      `${DIR}/autobuild/defines:3: PKGDEP: "x>=": no version after the operator`,
      `${DIR}/autobuild/defines:3: PKGDEP: "y==1:": invalid version '1:': nothing after colon in version number`,
      `${DIR}/autobuild/defines:3: PKGDEP: "}": not a valid package name`,
      `${DIR}/autobuild/defines:4: PKGPROV: "p>=1": a provided name takes only an exact version (==)`,
    ]);
  });

  it('reports what it cannot evaluate in a planning variable, and a typo in a reference', () => {
    const { value, issues } = parse('VER=1\n', 'PKGNAME=foo\nPKGDEP="a $(echo b)"\nBUILDDEP__AMD64="${BUIDDEP} c"\nCMAKE_AFTER="$(nproc)"\n');
    expect(value.binaries[0]!.depends).toEqual([[{ name: 'a' }]]);
    expect(issues).toEqual([
      `${DIR}/autobuild/defines:2: PKGDEP: command substitution "$(echo b)" is not evaluated (it expands to nothing here)`,
      `${DIR}/autobuild/defines:3: BUILDDEP__AMD64: refers to $BUIDDEP, which is not set (bash expands it to nothing)`,
    ]);
  });

  it('checks that every source has a checksum, per architecture too', () => {
    const spec = 'VER=1\nSRCS="tbl::https://a/x.tar.gz git::commit=v1::https://b/y"\nCHKSUMS="sha256::00 SKIP"\nSRCS__AMD64="tbl::https://a/z.tar.gz"\nSRCS__ARM64="tbl::https://a/w.tar.gz"\nCHKSUMS__ARM64=""\n';
    expect(parse(spec, 'PKGNAME=foo\n').issues).toEqual([
      `${DIR}/spec:4: SRCS__AMD64 lists 1 source but CHKSUMS has 2 checksums: ACBS refuses to fetch them (use SKIP for version-control sources)`,
      `${DIR}/spec:5: SRCS__ARM64 lists 1 source but CHKSUMS__ARM64 has 0 checksums: ACBS refuses to fetch them (use SKIP for version-control sources)`,
    ]);
    expect(parse('VER=1\nSRCS="tbl::https://a/x.tar.gz"\n', 'PKGNAME=foo\n').issues).toEqual([
      `${DIR}/spec:2: SRCS lists 1 source but CHKSUMS is missing: ACBS refuses to fetch them (use SKIP for version-control sources)`,
    ]);
  });

  it('returns null with the reason when spec, VER, defines or PKGNAME is missing', () => {
    const reasons = (files: TextFile[]): string[] => {
      const result = parseAbbsPackage(DIR, files);
      expect(result.value).toBeNull();
      return result.issues.map((i) => `${i.file}:${i.line}: ${i.message}`);
    };
    expect(reasons([{ path: `${DIR}/autobuild/defines`, text: 'PKGNAME=foo\n' }])).toEqual([`${DIR}/spec:0: missing: every abbs package directory has a spec (VER, REL, SRCS, CHKSUMS)`]);
    expect(reasons(recipe('REL=1\n', 'PKGNAME=foo\n'))).toEqual([`${DIR}/spec:0: VER is missing or empty: the package has no version`]);
    expect(reasons([{ path: `${DIR}/spec`, text: 'VER=1\n' }])).toEqual([
      `${DIR}/autobuild/defines:0: missing: the package has neither autobuild/defines nor package-group NN-name/defines files`,
    ]);
    expect(reasons(recipe('VER=1\n', 'PKGSEC=libs\n'))).toEqual([`${DIR}/autobuild/defines:0: PKGNAME is missing or empty: the package has no name`]);
    expect(reasons(recipe('VER=1\n', 'PKGNAME="two words"\n'))).toEqual([`${DIR}/autobuild/defines:1: PKGNAME "two words" is not a valid package name (letters, digits and + . _ - only)`]);
  });

  it('reads a package group (NN-name/defines) in sequence, dropping build dependencies met inside the group', () => {
    const files: TextFile[] = [
      { path: 'app-admin/dpkg/spec', text: 'VER=1.22.7\nREL=2\n' },
      { path: 'app-admin/dpkg/02-dpkg/defines', text: 'PKGNAME=dpkg\nPKGDEP="libdpkg"\nBUILDDEP="libdpkg perl"\n' },
      { path: 'app-admin/dpkg/01-libdpkg/defines', text: 'PKGNAME=libdpkg\nBUILDDEP="dpkg gettext"\nPKGEPOCH=1\n' },
      { path: 'app-admin/dpkg/03-dpkg-doc/defines', text: 'PKGNAME=dpkg-doc\nABHOST=noarch\n' },
      { path: 'app-admin/dpkg/02-dpkg/overrides/etc/dpkg/spec', text: 'not a spec' },
    ];
    const { value, issues } = parseAbbsPackage('app-admin/dpkg', files);
    expect(issues).toEqual([]);
    expect(value!.pkgbase).toBe('dpkg');
    expect(value!.binaries.map((b) => b.name)).toEqual(['libdpkg', 'dpkg', 'dpkg-doc']);
    // The first sub-package gives the source version; others differing keep their own.
    expect(value!.version.text).toBe('1:1.22.7-2');
    expect(value!.binaries[1]!.version!.text).toBe('1.22.7-2');
    expect(value!.binaries[1]!.depends).toEqual([[{ name: 'libdpkg' }]]);
    // libdpkg's BUILDDEP on dpkg is a real dependency (dpkg is built after it); dpkg's on libdpkg is met by the group.
    expect(value!.buildDepends).toEqual([[{ name: 'dpkg' }], [{ name: 'gettext' }], [{ name: 'perl' }]]);
    expect(value!.architectures).toEqual(['any']);
    expect(value!.extra?.group).toBe('01-libdpkg 02-dpkg 03-dpkg-doc');
  });
});

describe('parseAbbsPackage on hostile input', () => {
  it('stays bounded: huge files are refused, thousands of constructs keep a few problems each', () => {
    const huge = parseAbbsPackage(DIR, recipe('VER=1\n', `PKGNAME=foo\n#${'x'.repeat(1 << 20)}\n`));
    expect(huge.value).toBeNull();
    expect(huge.issues.map((i) => i.message)).toContain(`${(1 << 20) + 14} characters: recipe files over 1048576 characters are not read`);
    const many = parseAbbsPackage(DIR, recipe('VER=1\n', `PKGNAME=foo\nPKGDEP="${'$(x)\n'.repeat(50_000)}a"\n${'echo hi\n'.repeat(20_000)}`));
    expect(many.value!.binaries[0]!.depends).toEqual([[{ name: 'a' }]]);
    expect(many.issues.filter((i) => i.message.startsWith('PKGDEP: command substitution'))).toHaveLength(16);
    expect(many.issues.filter((i) => i.message.startsWith('the command "echo"'))).toHaveLength(20_000);
  });
});

describe('parseAbbsPackage on random shell-like text', () => {
  it('never throws nor loops, and places every issue on a line', () => {
    // Seeded, so that a failure can be replayed; the tokens are the ones the reader treats specially.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const tokens = ['A', 'PKGDEP', 'PKGNAME', 'VER', '=', '+=', '"', "'", '$', '{', '}', '(', ')', '[', ']', '\\', '\n', ' ', '#', ';', '|', '&', '!', '*', '?', '@', '%', '/', ':', '-', '^', ',', '`', 'if ', 'fi', 'case ', 'esac', 'x', '1', '<<', '==', '__AMD64', '__RETRO', '~'];
    const text = (length: number): string => Array.from({ length }, () => tokens[random(tokens.length)]).join('');
    for (let i = 0; i < 3000; i++) {
      const spec = `VER=1\n${random(2) ? text(random(50)) : ''}`;
      const defines = `PKGNAME=p\n${text(random(200))}`;
      const result = parseAbbsPackage('s/p', [
        { path: 's/p/spec', text: spec },
        { path: 's/p/autobuild/defines', text: defines },
      ]);
      for (const issue of result.issues) {
        const lines = (issue.file === 's/p/spec' ? spec : defines).split('\n').length;
        expect(issue.line >= 0 && issue.line <= lines, `${issue.file}:${issue.line}: ${issue.message}`).toBe(true);
      }
    }
  });
});

describe('parseAtom', () => {
  it('reads each operator autobuild knows', () => {
    expect(['a<<1', 'a<=1', 'a==1', 'a>=1', 'a>>1'].map((t) => (parseAtom(t, '0:1') as { constraint: { op: string } }).constraint.op)).toEqual(['<', '<=', '=', '>=', '>']);
  });
});

describe('parseAbbsTree', () => {
  it('groups files by section/package and reports every problem with its place', () => {
    const files: TextFile[] = [
      { path: 'core-libs/zlib/spec', text: 'VER=1.3.1\nREL=3\n' },
      { path: 'core-libs/zlib/autobuild/defines', text: 'PKGNAME=zlib\nPKGDEP=glibc\n' },
      { path: 'core-libs/zlib/autobuild/patches/0001.patch', text: 'VER=not a spec' },
      { path: 'core-libs/zlib/autobuild/amd64/defines', text: 'PKGNAME=zlib\n' },
      { path: 'app-utils/broken/spec', text: 'VER="1.0\n' },
      { path: 'app-utils/broken/autobuild/defines', text: 'PKGNAME=broken\n' },
      { path: 'app-utils/nospec/autobuild/defines', text: 'PKGNAME=nospec\n' },
      { path: 'README.md', text: 'not a package' },
    ];
    const { packages, issues } = parseAbbsTree(files);
    expect(packages.map((p) => `${p.pkgbase} ${p.version.text}`)).toEqual(['zlib 1.3.1-3']);
    expect(issues.map((i) => `${i.file}:${i.line}: ${i.message}`)).toEqual([
      'app-utils/broken/spec:1: the quote " is never closed',
      'app-utils/broken/spec:1: VER "1.0\n" is not an upstream version (no blanks, and the epoch belongs in PKGEPOCH)',
      'app-utils/nospec/spec:0: missing: every abbs package directory has a spec (VER, REL, SRCS, CHKSUMS)',
      'core-libs/zlib/autobuild/amd64/defines:0: per-architecture defines files are not read: amd64 is planned from autobuild/defines',
    ]);
  });
});
