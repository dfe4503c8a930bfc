import { describe, expect, it } from 'vitest';
import { createDebianControlParser, createDebianPackagesParser, createDebianRunDependencyReader, createDebianSourcesParser, parseDebianControl, parseDebianPackages, parseDebianSources } from './debian.js';

const PACKAGES = `Package: zlib1g
Source: zlib
Version: 1:1.2.13.dfsg-1
Installed-Size: 168
Architecture: amd64
Multi-Arch: same
Depends: libc6 (>= 2.14)
Pre-Depends: dpkg (>= 1.15.6~)
Breaks: libxml2 (<< 2.7.6.dfsg-2), texlive-binaries (<< 2009-12)
Conflicts: zlib1 (<= 1:1.0.4-7)
Provides: libz1
Recommends: not-kept
Description: compression library - runtime
 zlib is a library implementing the deflate compression method found
 in gzip and PKZIP.

Package: libgcc-s1
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
Architecture: amd64
Replaces: libgcc1 (<< 1:10)
Provides: libgcc1 (= 1:12.2.0-14)

Package: nover
Architecture: all

Package: badver
Version: 1:
Architecture: all
`;

describe('parseDebianPackages', () => {
  it('reads binary packages with their relations, source and Multi-Arch', () => {
    const { values, issues } = parseDebianPackages(PACKAGES, 'Packages');
    expect(values).toEqual([
      {
        name: 'zlib1g',
        version: { epoch: 1, upstream: '1.2.13.dfsg', release: '1', text: '1:1.2.13.dfsg-1' },
        architectures: ['amd64'],
        depends: [[{ name: 'libc6', constraint: { op: '>=', version: '2.14' } }]],
        preDepends: [[{ name: 'dpkg', constraint: { op: '>=', version: '1.15.6~' } }]],
        optionalDepends: [],
        provides: [{ name: 'libz1' }],
        conflicts: [[{ name: 'zlib1', constraint: { op: '<=', version: '1:1.0.4-7' } }]],
        replaces: [],
        breaks: [[{ name: 'libxml2', constraint: { op: '<', version: '2.7.6.dfsg-2' } }], [{ name: 'texlive-binaries', constraint: { op: '<', version: '2009-12' } }]],
        multiArch: 'same',
        source: 'zlib',
        sourceVersion: '1:1.2.13.dfsg-1',
        location: { file: 'Packages', line: 1 },
      },
      {
        name: 'libgcc-s1',
        version: { epoch: 0, upstream: '12.2.0', release: '14', text: '12.2.0-14' },
        architectures: ['amd64'],
        depends: [],
        preDepends: [],
        optionalDepends: [],
        provides: [{ name: 'libgcc1', version: '1:12.2.0-14' }],
        conflicts: [],
        replaces: [[{ name: 'libgcc1', constraint: { op: '<', version: '1:10' } }]],
        breaks: [],
        source: 'gcc-12',
        sourceVersion: '12.2.0-14',
        location: { file: 'Packages', line: 17 },
      },
    ]);
    expect(issues).toEqual([
      { file: 'Packages', line: 24, message: 'missing Version field in the stanza of "nover"; stanza left out' },
      { file: 'Packages', line: 28, message: '"badver": invalid version \'1:\': nothing after colon in version number; stanza left out' },
    ]);
  });

  it('gives the same result streamed in chunks of any size', () => {
    const whole = parseDebianPackages(PACKAGES, 'Packages');
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const parser = createDebianPackagesParser('Packages');
      for (let i = 0; i < PACKAGES.length; i += size) parser.push(PACKAGES.slice(i, i + size));
      expect(parser.end(), `chunks of ${size}`).toEqual(whole);
    }
  });

  it('hands each binary\'s run relations to a sink, with the issues of the full parser but for Conflicts, Breaks and Replaces', () => {
    const text = `${PACKAGES}\nPackage: bad\nVersion: 1\nArchitecture: all\nSource: b (1\nDepends: c (>= \nConflicts: d (\n\nPackage: no-version\nArchitecture: all\n`;
    const whole = parseDebianPackages(text, 'Packages');
    const added: unknown[] = [];
    const reader = createDebianRunDependencyReader('Packages', { add: (name, version, source, relations) => added.push({ name, version, source, ...relations }) });
    for (let i = 0; i < text.length; i += 100) reader.push(text.slice(i, i + 100));
    const run = reader.end();
    expect(run.ascii).toBe(true);
    expect(run.issues).toEqual(whole.issues.filter((issue) => !issue.message.startsWith('Conflicts:')));
    expect(run.issues.length).toBeGreaterThan(2);
    expect(added).toEqual(
      whole.values.map((binary) => ({
        name: binary.name,
        version: binary.version.text,
        source: binary.source,
        architectures: binary.architectures,
        multiArch: binary.multiArch,
        preDepends: binary.preDepends,
        depends: binary.depends,
        provides: binary.provides,
      })),
    );
  });

  it('says whether every field it read was ASCII, so that text decoded as latin1 reads as UTF-8 would', () => {
    const read = (text: string) => {
      const reader = createDebianRunDependencyReader('P', { add: () => {} });
      reader.push(Buffer.from(text, 'utf8').toString('latin1'));
      return reader.end();
    };
    // A maintainer's name is not read; a version or a relation is.
    expect(read('Package: a\nVersion: 1\nArchitecture: all\nMaintainer: Zoë <z@example.org>\nDepends: b\n').ascii).toBe(true);
    expect(read('Package: a\nVersion: 1.0ü\nArchitecture: all\n').ascii).toBe(false);
    expect(read('Package: a\nVersion: 1\nArchitecture: all\nDepends: b (>= 1ü)\n').ascii).toBe(false);
  });

  it('reports a malformed Source field', () => {
    const { values, issues } = parseDebianPackages('Package: a\nVersion: 1\nArchitecture: all\nSource: b (1\n', 'P');
    expect(values[0]).toMatchObject({ source: 'b', sourceVersion: '1' });
    expect(issues).toEqual([{ file: 'P', line: 4, message: 'Source: expected "name" or "name (version)", found "b (1"' }]);
  });

  it('reports a malformed relation with the line of its field and keeps the package', () => {
    const { values, issues } = parseDebianPackages('Package: a\nVersion: 1\nArchitecture: all\nDepends: b,\n c (>= 1\n', 'P');
    expect(values[0]!.depends).toEqual([[{ name: 'b' }]]);
    expect(issues).toEqual([{ file: 'P', line: 5, message: 'Depends: missing ")" in "c (>= 1"; clause left out' }]);
  });
});

const SOURCES = `Package: 0ad-data
Binary: 0ad-data, 0ad-data-common
Version: 0.0.26-1
Build-Depends: debhelper-compat (= 13), dpkg-dev (>= 1.15.5)
Architecture: all
Package-List:
 0ad-data deb games optional arch=all
 0ad-data-common deb games optional arch=all
Section: games

Package: acl
Binary: libacl1-dev, libacl1, acl, libacl1-udeb
Version: 2.3.1-3
Build-Depends: debhelper-compat (= 13), gettext, libattr1-dev (>= 1:2.4.46)
Build-Depends-Indep: texlive <!nodoc>
Build-Conflicts: autoconf2.13
Build-Conflicts-Arch: libacl-broken [hurd-any]
Architecture: any
Package-List:
 acl deb utils optional arch=any
 libacl1 deb libs optional arch=any
 libacl1-dev deb libdevel optional arch=any
 libacl1-udeb udeb debian-installer optional arch=linux-any profile=!noudeb
Extra-Source-Only: yes

Package: broken
Version: 1
Architecture: any
Package-List:
 broken deb
`;

describe('parseDebianSources', () => {
  it('reads source packages, their binaries with per-binary architectures, and build relations', () => {
    const { values, issues } = parseDebianSources(SOURCES, 'Sources');
    expect(values.map((s) => [s.pkgbase, s.version.text, s.architectures, s.location.line, s.extra])).toEqual([
      ['0ad-data', '0.0.26-1', ['all'], 1, { section: 'games' }],
      ['acl', '2.3.1-3', ['any'], 11, { 'extra-source-only': 'yes' }],
      ['broken', '1', ['any'], 26, undefined],
    ]);
    expect(values[1]!.binaries.map((b) => [b.name, b.architectures])).toEqual([
      ['libacl1-dev', ['any']],
      ['libacl1', ['any']],
      ['acl', ['any']],
      ['libacl1-udeb', ['linux-any']],
    ]);
    expect(values[1]!.buildDepends).toEqual([
      [{ name: 'debhelper-compat', constraint: { op: '=', version: '13' } }],
      [{ name: 'gettext' }],
      [{ name: 'libattr1-dev', constraint: { op: '>=', version: '1:2.4.46' } }],
    ]);
    expect(values[1]!.buildDependsIndep).toEqual([[{ name: 'texlive', profiles: [['!nodoc']] }]]);
    expect(values[1]!.buildConflicts).toEqual([[{ name: 'autoconf2.13' }], [{ name: 'libacl-broken', arches: { negated: false, arches: ['hurd-any'] } }]]);
    // Without a Binary field, the Package-List names the binaries.
    expect(values[2]!.binaries).toEqual([]);
    expect(issues).toEqual([{ file: 'Sources', line: 30, message: 'Package-List: expected "name type section priority [key=value...]", found "broken deb"' }]);
  });

  it('gives the same result streamed in chunks of any size', () => {
    const whole = parseDebianSources(SOURCES, 'Sources');
    for (const size of [1, 3, 64]) {
      const parser = createDebianSourcesParser('Sources');
      for (let i = 0; i < SOURCES.length; i += size) parser.push(SOURCES.slice(i, i + size));
      expect(parser.end(), `chunks of ${size}`).toEqual(whole);
    }
  });
});

const CONTROL = `# Maintained in git.
Source: libfoo
Section: libs
Build-Depends: debhelper-compat (= 13),
# the test suite needs python
               python3:any <!nocheck>,
               libbar-dev [linux-any],

Package: libfoo1
Architecture: any
Multi-Arch: same
Depends: \${shlibs:Depends}, \${misc:Depends}, libfoo-data (= \${source:Version})
Provides: libfoo-abi-1 (= \${binary:Version})

Package: libfoo-dev
Architecture: any
Depends: libfoo1 (= \${binary:Version}), \${misc:Depends}, libbaz (>= \${baz:Version})

Package: libfoo-data
Architecture: all
Depends: \${misc:Depends}

Package: libfoo-doc
Architecture: all
Build-Profiles: <!nodoc>
`;

describe('parseDebianControl', () => {
  it('reads the source stanza and its binaries, resolving version substvars and recording the rest', () => {
    const { value, issues } = parseDebianControl(CONTROL, 'libfoo/debian/control', { version: '2.0-1' });
    expect(issues).toEqual([]);
    expect(value).toMatchObject({
      flavour: 'debian',
      pkgbase: 'libfoo',
      version: { epoch: 0, upstream: '2.0', release: '1', text: '2.0-1' },
      architectures: ['any', 'all'],
      buildDepends: [
        [{ name: 'debhelper-compat', constraint: { op: '=', version: '13' } }],
        [{ name: 'python3', archQualifier: 'any', profiles: [['!nocheck']] }],
        [{ name: 'libbar-dev', arches: { negated: false, arches: ['linux-any'] } }],
      ],
      location: { file: 'libfoo/debian/control', line: 2 },
    });
    expect(value!.binaries.map((b) => [b.name, b.architectures, b.depends, b.provides, b.multiArch])).toEqual([
      ['libfoo1', ['any'], [[{ name: 'libfoo-data', constraint: { op: '=', version: '2.0-1' } }]], [{ name: 'libfoo-abi-1', version: '2.0-1' }], 'same'],
      ['libfoo-dev', ['any'], [[{ name: 'libfoo1', constraint: { op: '=', version: '2.0-1' } }], [{ name: 'libbaz' }]], [], undefined],
      ['libfoo-data', ['all'], [], [], undefined],
      ['libfoo-doc', ['all'], [], [], undefined],
    ]);
    expect(value!.extra).toEqual({
      section: 'libs',
      substvars: [
        'libfoo1 Depends ${shlibs:Depends}',
        'libfoo1 Depends ${misc:Depends}',
        'libfoo-dev Depends ${misc:Depends}',
        'libfoo-dev Depends ${baz:Version}',
        'libfoo-data Depends ${misc:Depends}',
      ].join('\n'),
      'build-profiles': 'libfoo-doc <!nodoc>',
    });
  });

  it('gives the same result streamed in chunks of any size', () => {
    const whole = parseDebianControl(CONTROL, 'debian/control', { version: '2.0-1' });
    for (const size of [1, 5, 64]) {
      const parser = createDebianControlParser('debian/control', { version: '2.0-1' });
      for (let i = 0; i < CONTROL.length; i += size) parser.push(CONTROL.slice(i, i + size));
      const { values, issues } = parser.end();
      expect({ value: values[0], issues }, `chunks of ${size}`).toEqual(whole);
    }
  });

  it('says that the version must come from debian/changelog when none is given', () => {
    const { value, issues } = parseDebianControl(CONTROL, 'debian/control');
    expect(value?.pkgbase).toBe('libfoo');
    expect(issues).toEqual([{ file: 'debian/control', line: 2, message: 'debian/control carries no version: pass the one from debian/changelog' }]);
    expect(value!.extra!.substvars).toContain('libfoo1 Depends ${source:Version}');
  });

  it('refuses a malformed version with the reason', () => {
    expect(parseDebianControl(CONTROL, 'debian/control', { version: '1:' })).toEqual({
      value: null,
      issues: [{ file: 'debian/control', line: 2, message: `"libfoo": invalid version '1:': nothing after colon in version number (the version given for debian/control)` }],
    });
  });

  it('reports an empty file, a missing Source and a binary without Package or Architecture', () => {
    expect(parseDebianControl('# nothing\n', 'c', { version: '1' })).toEqual({ value: null, issues: [{ file: 'c', line: 1, message: 'no source stanza: debian/control is empty' }] });
    expect(parseDebianControl('Package: x\n', 'c', { version: '1' }).issues).toEqual([{ file: 'c', line: 1, message: 'missing Source field in the stanza of "x"; stanza left out' }]);
    const { value, issues } = parseDebianControl('Source: s\n\nArchitecture: any\n\nPackage: b\n', 'c', { version: '1' });
    expect(value!.binaries.map((b) => b.name)).toEqual(['b']);
    expect(issues).toEqual([
      { file: 'c', line: 3, message: 'missing Package field in the stanza; stanza left out' },
      { file: 'c', line: 5, message: 'binary package "b" has no Architecture field' },
    ]);
  });
});
