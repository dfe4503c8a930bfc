import { describe, expect, it } from 'vitest';
import { Deb822Reader, readDeb822, type Deb822Options, type Deb822Paragraph } from './deb822.js';

/** Paragraphs as plain data: { field: [value, line] } plus the paragraph's line. */
function plain(paragraphs: Deb822Paragraph[]): { line: number; fields: Record<string, [string, number]> }[] {
  return paragraphs.map((p) => ({ line: p.line, fields: Object.fromEntries([...p.fields].map(([k, f]) => [k, [f.value, f.line]])) }));
}

function readChunks(chunks: (string | Uint8Array)[], options: Deb822Options = { file: 'Packages' }) {
  const reader = new Deb822Reader(options);
  const paragraphs: Deb822Paragraph[] = [];
  for (const chunk of chunks) paragraphs.push(...reader.push(chunk));
  paragraphs.push(...reader.end());
  return { paragraphs: plain(paragraphs), issues: reader.issues };
}

const SAMPLE = [
  'Package: zlib1g',
  'Version: 1:1.2.13.dfsg-1',
  'Depends: libc6 (>= 2.14)',
  'Description: compression library - runtime',
  ' zlib is a library implementing the deflate compression method found',
  ' .',
  ' in gzip and PKZIP.',
  '',
  '',
  'Package: héllo',
  'Provides: a,',
  '   b',
  '',
].join('\n');

const SAMPLE_PARSED = [
  {
    line: 1,
    fields: {
      package: ['zlib1g', 1],
      version: ['1:1.2.13.dfsg-1', 2],
      depends: ['libc6 (>= 2.14)', 3],
      description: ['compression library - runtime\n zlib is a library implementing the deflate compression method found\n .\n in gzip and PKZIP.', 4],
    },
  },
  { line: 10, fields: { package: ['héllo', 10], provides: ['a,\n   b', 11] } },
];

describe('Deb822Reader', () => {
  it('reads paragraphs, continuation lines and the line of each field', () => {
    expect(readChunks([SAMPLE])).toEqual({ paragraphs: SAMPLE_PARSED, issues: [] });
  });

  it('gives the same result wherever the text is cut into two or three chunks', () => {
    for (let i = 0; i <= SAMPLE.length; i++) {
      expect(readChunks([SAMPLE.slice(0, i), SAMPLE.slice(i)]).paragraphs, `cut at ${i}`).toEqual(SAMPLE_PARSED);
      const j = Math.min(SAMPLE.length, i + 7);
      expect(readChunks([SAMPLE.slice(0, i), SAMPLE.slice(i, j), SAMPLE.slice(j)]).paragraphs, `cut at ${i}, ${j}`).toEqual(SAMPLE_PARSED);
    }
  });

  it('reads one character at a time', () => {
    expect(readChunks([...SAMPLE]).paragraphs).toEqual(SAMPLE_PARSED);
  });

  it('reads UTF-8 bytes cut inside a multi-byte character', () => {
    const bytes = new TextEncoder().encode(SAMPLE);
    for (let i = 0; i <= bytes.length; i++) {
      expect(readChunks([bytes.subarray(0, i), bytes.subarray(i)]).paragraphs, `cut at byte ${i}`).toEqual(SAMPLE_PARSED);
    }
  });

  it('reads CRLF line ends, also when a chunk ends between CR and LF', () => {
    const crlf = SAMPLE.replaceAll('\n', '\r\n');
    for (let i = 0; i <= crlf.length; i++) {
      expect(readChunks([crlf.slice(0, i), crlf.slice(i)]).paragraphs, `cut at ${i}`).toEqual(SAMPLE_PARSED);
    }
  });

  it('skips a byte-order mark and reads a last line without a newline', () => {
    expect(readChunks(['\ufeffPackage: a\nVersion: 1']).paragraphs).toEqual([{ line: 1, fields: { package: ['a', 1], version: ['1', 2] } }]);
  });

  it('takes lines of only spaces and tabs as paragraph separators', () => {
    expect(readChunks(['Package: a\n \t\nPackage: b\n']).paragraphs).toEqual([
      { line: 1, fields: { package: ['a', 1] } },
      { line: 3, fields: { package: ['b', 3] } },
    ]);
  });

  it('materialises only the fields asked for, matching names case-insensitively', () => {
    const { paragraphs } = readDeb822('package: a\nSize: 3\nPRE-DEPENDS: dpkg\nDescription: x\n more\n', { file: 'P', fields: ['Package', 'Pre-Depends'] });
    expect(paragraphs).toHaveLength(1);
    expect(paragraphs[0]!.fields.get('package')).toEqual({ name: 'Package', value: 'a', line: 1 });
    expect(paragraphs[0]!.fields.get('pre-depends')).toEqual({ name: 'Pre-Depends', value: 'dpkg', line: 3 });
    expect(paragraphs[0]!.fields.size).toBe(2);
  });

  it('keeps a field name as written when all fields are wanted', () => {
    const { paragraphs } = readDeb822('Build-Depends: a\n', { file: 'control' });
    expect(paragraphs[0]!.fields.get('build-depends')?.name).toBe('Build-Depends');
  });

  it('skips comment lines in control files, also between continuation lines', () => {
    const text = '# a comment\nSource: foo\n# another\nBuild-Depends: a,\n# b is gone\n c\n\n#only a comment\n\nPackage: foo\n';
    const result = readChunks([text], { file: 'debian/control', comments: true });
    expect(result).toEqual({
      paragraphs: [
        { line: 2, fields: { source: ['foo', 2], 'build-depends': ['a,\n c', 4] } },
        { line: 10, fields: { package: ['foo', 10] } },
      ],
      issues: [],
    });
  });

  it('reads comments the same wherever the text is cut', () => {
    const text = '# head\r\nSource: foo\r\nBuild-Depends: a,\r\n# gone\r\n b\r\n\r\n# between\r\nPackage: foo\r\n# tail';
    const expected = readChunks([text], { file: 'c', comments: true });
    expect(expected.paragraphs).toEqual([
      { line: 2, fields: { source: ['foo', 2], 'build-depends': ['a,\n b', 3] } },
      { line: 8, fields: { package: ['foo', 8] } },
    ]);
    for (let i = 0; i <= text.length; i++) {
      expect(readChunks([text.slice(0, i), text.slice(i)], { file: 'c', comments: true }), `cut at ${i}`).toEqual(expected);
    }
  });

  it('does not treat "#" specially in archive indices', () => {
    const { issues } = readChunks(['Package: a\n# not a comment\n']);
    expect(issues).toEqual([{ file: 'Packages', line: 2, message: 'expected "Field: value", found "# not a comment"' }]);
  });

  it('reports malformed lines with file and line, and keeps reading', () => {
    const text = ' leading continuation\nPackage: a\nno colon here\n more\n: empty\nPackage : spaced\nPackage: again\n\nPackage: b\n';
    const { paragraphs, issues } = readChunks([text]);
    expect(paragraphs).toEqual([
      { line: 2, fields: { package: ['a', 2] } },
      { line: 9, fields: { package: ['b', 9] } },
    ]);
    expect(issues).toEqual([
      { file: 'Packages', line: 1, message: 'continuation line (starting with whitespace) before any field' },
      { file: 'Packages', line: 3, message: 'expected "Field: value", found "no colon here"' },
      { file: 'Packages', line: 4, message: 'continuation line (starting with whitespace) after a line that is no field' },
      { file: 'Packages', line: 5, message: 'field with an empty name' },
      { file: 'Packages', line: 6, message: 'field name "Package " ends in whitespace' },
      { file: 'Packages', line: 7, message: 'duplicate field "Package" (first on line 2); keeping the first' },
    ]);
  });

  it('counts lines across many chunks and blank lines', () => {
    const text = 'A: 1\n\n\n\nB: 2\n\nC: 3\n';
    for (let i = 0; i <= text.length; i++) {
      expect(readChunks([text.slice(0, i), text.slice(i)]).paragraphs.map((p) => p.line), `cut at ${i}`).toEqual([1, 5, 7]);
    }
  });

  it('refuses a push after end', () => {
    const reader = new Deb822Reader({ file: 'x' });
    reader.end();
    expect(() => reader.push('A: 1\n')).toThrow(/push after end/);
  });
});
