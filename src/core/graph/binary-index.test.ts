import { describe, expect, it } from 'vitest';
import { archView } from '../recipe/arch-view.js';
import { clauses, dep, indexed, provide } from '../../../test/support/universe-builder.js';
import { BinaryIndex } from './binary-index.js';
import { resolveClause } from './dependency-graph.js';

const debian = BinaryIndex.of(
  {
    flavour: 'debian',
    sources: [],
    binaries: [
      indexed('debian', 'mawk', '1.3.4-1', { provides: [provide('awk')] }),
      indexed('debian', 'gawk', '1:5.2.1-2', { provides: [provide('awk', '1:5.2.1-2')] }),
      indexed('debian', 'libz-dev', '1:1.2.13-1', { source: 'zlib', provides: [provide('zlib-dev', '1:1.2.13-1')] }),
      indexed('debian', 'python3', '3.11.2-1', { multiArch: 'allowed' }),
      indexed('debian', 'perl', '5.36.0-7'),
      indexed('debian', 'make', '4.3-4.1', { multiArch: 'foreign', provides: [provide('build-tool')] }),
      indexed('debian', 'libc6', '2.36-9', { architectures: ['amd64'], multiArch: 'same' }),
      indexed('debian', 'libc6-i386-only', '2.36-9', { architectures: ['i386'] }),
      indexed('debian', 'tzdata', '2024a-0', { architectures: ['all'] }),
      indexed('debian', 'hurd-only', '1', { architectures: ['hurd-any'] }),
    ],
  },
  archView('amd64'),
);
const names = (index: BinaryIndex, ids: number[]) => ids.map((id) => index.entries[id]!.name);

describe('BinaryIndex (dpkg semantics)', () => {
  it('keeps only binaries built for the architecture', () => {
    expect(debian.entries.map((e) => e.name)).not.toContain('libc6-i386-only');
    expect(debian.entries.map((e) => e.name)).not.toContain('hurd-only');
    expect(debian.entries.map((e) => e.name)).toContain('tzdata');
  });

  it('resolves a virtual name to every provider', () => {
    expect(names(debian, debian.resolveAtom(dep('awk')))).toEqual(['gawk', 'mawk']);
  });

  it('satisfies a versioned dependency only through a versioned provide', () => {
    expect(names(debian, debian.resolveAtom(dep('awk', '>=', '1:5')))).toEqual(['gawk']);
    expect(names(debian, debian.resolveAtom(dep('awk', '>=', '1:6')))).toEqual([]);
    expect(names(debian, debian.resolveAtom(dep('zlib-dev', '=', '1:1.2.13-1')))).toEqual(['libz-dev']);
  });

  it('checks versions with dpkg ordering (epochs, revisions, tilde)', () => {
    expect(names(debian, debian.resolveAtom(dep('libz-dev', '>=', '1.2.0')))).toEqual(['libz-dev']);
    expect(names(debian, debian.resolveAtom(dep('libz-dev', '<', '1:1.2.13-1~')))).toEqual([]);
    expect(names(debian, debian.resolveAtom(dep('libc6', '>=', '2.36')))).toEqual(['libc6']);
    expect(names(debian, debian.resolveAtom(dep('libc6', '>', '2.36-9')))).toEqual([]);
  });

  it('resolves a clause through any alternative', () => {
    const [clause] = clauses([dep('nawk'), dep('mawk'), dep('gawk', '>=', '1:5')]);
    expect(names(debian, resolveClause(debian, clause!))).toEqual(['gawk', 'mawk']);
  });

  it('reads :any as dpkg does, and a foreign qualifier as unsatisfiable on one architecture', () => {
    expect(names(debian, debian.resolveAtom(dep('python3', undefined, undefined, { archQualifier: 'any' })))).toEqual(['python3']);
    expect(names(debian, debian.resolveAtom(dep('perl', undefined, undefined, { archQualifier: 'any' })))).toEqual([]);
    expect(names(debian, debian.resolveAtom(dep('perl', undefined, undefined, { archQualifier: 'native' })))).toEqual(['perl']);
    expect(names(debian, debian.resolveAtom(dep('make', undefined, undefined, { archQualifier: 'any' })))).toEqual(['make']);
    expect(names(debian, debian.resolveAtom(dep('build-tool', undefined, undefined, { archQualifier: 'any' })))).toEqual(['make']);
    expect(names(debian, debian.resolveAtom(dep('libc6', undefined, undefined, { archQualifier: 'amd64' })))).toEqual(['libc6']);
    expect(names(debian, debian.resolveAtom(dep('libc6', undefined, undefined, { archQualifier: 'i386' })))).toEqual([]);
  });
});

describe('BinaryIndex (pacman semantics)', () => {
  const arch = BinaryIndex.of(
    {
      flavour: 'pkgbuild',
      sources: [],
      binaries: [
        indexed('pkgbuild', 'zlib', '1:1.3.1-2', { provides: [provide('libz.so', '1-64')] }),
        indexed('pkgbuild', 'sh-impl', '5.2-1', { provides: [provide('sh')] }),
        indexed('pkgbuild', 'python', '3.12.7-1', { provides: [provide('python3', '3.12.7')] }),
      ],
    },
    archView('x86_64'),
  );

  it('satisfies a versioned dependency by a versioned provide', () => {
    expect(names(arch, arch.resolveAtom(dep('libz.so', '=', '1-64')))).toEqual(['zlib']);
    expect(names(arch, arch.resolveAtom(dep('python3', '>=', '3.10')))).toEqual(['python']);
    expect(names(arch, arch.resolveAtom(dep('sh', '>=', '5')))).toEqual([]);
    expect(names(arch, arch.resolveAtom(dep('sh')))).toEqual(['sh-impl']);
  });

  it('ignores the pkgrel when the constraint gives none, as alpm does', () => {
    expect(names(arch, arch.resolveAtom(dep('zlib', '=', '1:1.3.1')))).toEqual(['zlib']);
    expect(names(arch, arch.resolveAtom(dep('zlib', '=', '1:1.3.1-1')))).toEqual([]);
  });
});
