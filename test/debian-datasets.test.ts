/**
 * The Debian parsers against the whole of Debian 12 (bookworm) main/amd64: every stanza of
 * Packages and Sources, streamed from the compressed files as the graph engine reads them.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readDecompressed } from '../src/cli/input.js';
import { createDebianPackagesParser, createDebianSourcesParser, parseDebianPackages, parseDebianStream, type DebianParseResult } from '../src/core/recipe/debian.js';
import type { IndexedBinaryPackage, SourcePackage } from '../src/core/recipe/model.js';

const DATASET = fileURLToPath(new URL('../../shared/datasets/debian-bookworm/', import.meta.url));
const PACKAGES = `${DATASET}Packages.xz`;
const SOURCES = `${DATASET}Sources.xz`;

function only<T extends { name?: string; pkgbase?: string }>(values: T[], name: string): T {
  const found = values.filter((v) => (v.name ?? v.pkgbase) === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

describe('bookworm Packages', () => {
  let result: DebianParseResult<IndexedBinaryPackage>;

  it('parses every stanza without an issue', async () => {
    result = await parseDebianStream(createDebianPackagesParser(PACKAGES), readDecompressed(PACKAGES));
    console.log(`bookworm Packages: ${result.values.length} binary packages, ${result.issues.length} issues`);
    expect(result.values).toHaveLength(63_440);
    // The archive's own tools wrote this file: any issue would be a parser bug, so none is expected.
    expect(result.issues).toEqual([]);
  });

  it('reads zlib1g', () => {
    expect(only(result.values, 'zlib1g')).toEqual({
      name: 'zlib1g',
      version: { epoch: 1, upstream: '1.2.13.dfsg', release: '1', text: '1:1.2.13.dfsg-1' },
      architectures: ['amd64'],
      depends: [[{ name: 'libc6', constraint: { op: '>=', version: '2.14' } }]],
      preDepends: [],
      optionalDepends: [],
      provides: [{ name: 'libz1' }],
      conflicts: [[{ name: 'zlib1', constraint: { op: '<=', version: '1:1.0.4-7' } }]],
      replaces: [],
      breaks: [[{ name: 'libxml2', constraint: { op: '<', version: '2.7.6.dfsg-2' } }], [{ name: 'texlive-binaries', constraint: { op: '<', version: '2009-12' } }]],
      multiArch: 'same',
      source: 'zlib',
      sourceVersion: '1:1.2.13.dfsg-1',
      location: { file: PACKAGES, line: expect.any(Number) },
    });
  });

  it('reads alternatives (0ad-data-common) and a versioned Provides (libgcc-s1)', () => {
    expect(only(result.values, '0ad-data-common').depends).toEqual([
      [{ name: 'fonts-dejavu-core' }, { name: 'ttf-dejavu-core' }],
      [{ name: 'fonts-freefont-ttf' }, { name: 'ttf-freefont' }],
      [{ name: 'fonts-texgyre' }, { name: 'tex-gyre' }],
    ]);
    const libgcc = only(result.values, 'libgcc-s1');
    expect(libgcc.provides).toEqual([{ name: 'libgcc1', version: '1:12.2.0-14+deb12u1' }]);
    expect([libgcc.source, libgcc.sourceVersion]).toEqual(['gcc-12', '12.2.0-14+deb12u1']);
  });

  it('reads a binNMU\'s source version ("Source: a56 (1.3+dfsg-9)")', () => {
    const a56 = only(result.values, 'a56');
    expect([a56.version.text, a56.source, a56.sourceVersion]).toEqual(['1.3+dfsg-9+b1', 'a56', '1.3+dfsg-9']);
  });
});

describe('bookworm Packages, cut into random chunks', () => {
  it('parses the same as whole text wherever the chunks end', async () => {
    // The first 256 KiB of the index (whole stanzas), as bytes, so cuts also fall inside UTF-8 sequences.
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of readDecompressed(PACKAGES)) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= 256 * 1024) break;
    }
    const all = Buffer.concat(parts);
    const bytes = all.subarray(0, all.lastIndexOf('\n\n') + 2);
    const whole = parseDebianPackages(bytes.toString('utf8'), PACKAGES);
    expect(whole.values.length).toBeGreaterThan(200);
    let seed = 20261121;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return 1 + (seed % n);
    };
    for (const largest of [7, 300, 70_000]) {
      const parser = createDebianPackagesParser(PACKAGES);
      for (let i = 0; i < bytes.length; ) {
        const next = Math.min(bytes.length, i + random(largest));
        parser.push(bytes.subarray(i, next));
        i = next;
      }
      expect(parser.end(), `chunks of up to ${largest} bytes`).toEqual(whole);
    }
  });
});

describe('bookworm Sources', () => {
  let result: DebianParseResult<SourcePackage>;

  it('parses every stanza without an issue', async () => {
    result = await parseDebianStream(createDebianSourcesParser(SOURCES), readDecompressed(SOURCES));
    console.log(`bookworm Sources: ${result.values.length} source packages, ${result.issues.length} issues`);
    expect(result.values).toHaveLength(34_335);
    expect(result.issues).toEqual([]);
  });

  it('reads zlib: architecture restrictions, a profile, per-binary architectures from Package-List', () => {
    const zlib = only(result.values, 'zlib');
    expect(zlib.version.text).toBe('1:1.2.13.dfsg-1');
    expect(zlib.architectures).toEqual(['any']);
    expect(zlib.buildDepends).toEqual([
      [{ name: 'debhelper', constraint: { op: '>=', version: '13' } }],
      [
        {
          name: 'gcc-multilib',
          arches: {
            negated: false,
            arches: 'amd64 i386 kfreebsd-amd64 mips mipsel powerpc ppc64 s390 sparc s390x mipsn32 mipsn32el mipsr6 mipsr6el mipsn32r6 mipsn32r6el mips64 mips64el mips64r6 mips64r6el x32'.split(' '),
          },
          profiles: [['!nobiarch']],
        },
      ],
      [{ name: 'dpkg-dev', constraint: { op: '>=', version: '1.16.1' } }],
    ]);
    expect(zlib.binaries.map((b) => [b.name, b.architectures.join(',')])).toEqual([
      ['zlib1g', 'any'],
      ['zlib1g-dev', 'any'],
      ['zlib1g-udeb', 'any'],
      ['lib64z1', 'sparc,s390,i386,powerpc,mips,mipsel,mipsn32,mipsn32el,mipsr6,mipsr6el,mipsn32r6,mipsn32r6el,x32'],
      ['lib64z1-dev', 'sparc,s390,i386,powerpc,mips,mipsel,mipsn32,mipsn32el,mipsr6,mipsr6el,mipsn32r6,mipsn32r6el,x32'],
      ['lib32z1', 'amd64,ppc64,kfreebsd-amd64,s390x'],
      ['lib32z1-dev', 'amd64,ppc64,kfreebsd-amd64,s390x'],
      ['libn32z1', 'mips,mipsel'],
      ['libn32z1-dev', 'mips,mipsel'],
    ]);
  });

  it('reads libxml2: Build-Depends-Arch with a :any qualifier, profiles and alternatives', () => {
    const libxml2 = only(result.values, 'libxml2');
    expect(libxml2.architectures).toEqual(['any', 'all']);
    expect(libxml2.buildDependsIndep).toEqual([[{ name: 'pkg-config' }]]);
    expect(libxml2.buildDependsArch).toEqual([
      [{ name: 'dh-sequence-python3', profiles: [['!nopython']] }],
      [{ name: 'libicu-dev' }],
      [{ name: 'liblzma-dev' }],
      [{ name: 'libpython3-all-dev', profiles: [['!nopython']] }],
      [{ name: 'pkg-config' }],
      [{ name: 'python3-all-dev', archQualifier: 'any', constraint: { op: '>=', version: '3.5' }, profiles: [['!nopython']] }],
      [{ name: 'rename' }],
      [{ name: 'zlib1g-dev' }, { name: 'libz-dev' }],
    ]);
  });

  it('marks the sources kept only for Built-Using', () => {
    expect(result.values.filter((s) => s.extra?.['extra-source-only'] === 'yes')).toHaveLength(36);
  });
});
