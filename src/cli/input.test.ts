import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { eachDecompressedChunk, InputError, readInputText, readTree, Utf8Chunks } from './input.js';

const dir = mkdtempSync(join(tmpdir(), 'quarters-input-'));
const text = 'Package: zlib1g\nVersion: 1:1.2.13.dfsg-1\n\n'.repeat(1000);
writeFileSync(join(dir, 'plain'), text);
for (const [tool, ext] of [['xz', 'xz'], ['gzip', 'gz'], ['zstd', 'zst']] as const) {
  writeFileSync(join(dir, `Packages.${ext}`), execFileSync(tool, ['-c'], { input: text }));
}

describe('readInputText', () => {
  it.each(['plain', 'Packages.xz', 'Packages.gz', 'Packages.zst'])('reads %s', async (name) => {
    expect(await readInputText(join(dir, name))).toBe(text);
  });

  it('names the file when it is missing or corrupt', async () => {
    await expect(readInputText(join(dir, 'missing'))).rejects.toThrow(/missing: cannot open: ENOENT/);
    const corrupt = join(dir, 'corrupt.xz');
    const whole = execFileSync('xz', ['-c'], { input: text });
    writeFileSync(corrupt, whole.subarray(0, whole.length - 12));
    const error = await readInputText(corrupt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(String(error)).toMatch(/corrupt\.xz: xz failed/);
  });
});

describe('eachDecompressedChunk', () => {
  it.each(['plain', 'Packages.xz', 'Packages.gz', 'Packages.zst'])('hands over the bytes of %s', async (name) => {
    const chunks: Buffer[] = [];
    await eachDecompressedChunk(join(dir, name), (chunk) => chunks.push(chunk));
    expect(Buffer.concat(chunks).toString('utf8')).toBe(text);
  });

  it('names the file when it is missing or corrupt, and stops on the handler\'s error', async () => {
    await expect(eachDecompressedChunk(join(dir, 'missing'), () => {})).rejects.toThrow(/missing: cannot open: ENOENT/);
    const corrupt = join(dir, 'corrupt-each.xz');
    const whole = execFileSync('xz', ['-c'], { input: text.repeat(50) });
    writeFileSync(corrupt, whole.subarray(0, whole.length - 12));
    await expect(eachDecompressedChunk(corrupt, () => {})).rejects.toThrow(/corrupt-each\.xz: xz failed/);
    let calls = 0;
    const stop = new Error('enough');
    await expect(
      eachDecompressedChunk(join(dir, 'Packages.xz'), () => {
        calls++;
        throw stop;
      }),
    ).rejects.toBe(stop);
    expect(calls).toBe(1);
  });
});

describe('Utf8Chunks', () => {
  it('decodes UTF-8 across chunks, ASCII chunks and characters cut by a chunk boundary alike', async () => {
    // A plain file is read in chunks of 1 MiB: "é" (two bytes) is cut by the first boundary, "€" (three) by the second.
    const mib = 1 << 20;
    const utf8 = `${'a'.repeat(mib - 1)}é${'b'.repeat(mib - 3)}€${'c'.repeat(mib)}ü\n`;
    writeFileSync(join(dir, 'utf8'), utf8);
    const decoder = new Utf8Chunks();
    const chunks: string[] = [];
    await eachDecompressedChunk(join(dir, 'utf8'), (chunk) => chunks.push(decoder.decode(chunk)));
    chunks.push(decoder.end());
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.join('')).toBe(utf8);
    // Chunks cut anywhere, some all ASCII, some not.
    const bytes = Buffer.from(`${'ascii '.repeat(20)}Zoë ünïcödé €uro ${'more ascii '.repeat(20)}`);
    for (const size of [1, 2, 3, 7, 64]) {
      const cut = new Utf8Chunks();
      let text = '';
      for (let i = 0; i < bytes.length; i += size) text += cut.decode(bytes.subarray(i, i + size));
      expect(text + cut.end(), `chunks of ${size}`).toBe(bytes.toString('utf8'));
    }
  });
});

describe('readTree', () => {
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'core-libs/zlib/autobuild'), { recursive: true });
  writeFileSync(join(tree, 'core-libs/zlib/spec'), 'VER=1.3\n');
  writeFileSync(join(tree, 'core-libs/zlib/autobuild/defines'), 'PKGNAME=zlib\n');
  writeFileSync(join(tree, 'README'), 'not a recipe\n');
  const accept = (p: string) => p.endsWith('/spec') || p.endsWith('/defines');
  const expected = [
    { path: 'core-libs/zlib/autobuild/defines', text: 'PKGNAME=zlib\n' },
    { path: 'core-libs/zlib/spec', text: 'VER=1.3\n' },
  ];

  it('reads a directory', async () => {
    expect(await readTree(tree, accept)).toEqual(expected);
  });

  it('reads the same tree from a .tar.xz, without a leading ./', async () => {
    const archive = join(dir, 'tree.tar.xz');
    execFileSync('tar', ['-cJf', archive, '-C', tree, '.']);
    expect(await readTree(archive, accept)).toEqual(expected);
  });

  it('rejects a file that is not a tar archive', async () => {
    await expect(readTree(join(dir, 'Packages.xz'), accept)).rejects.toThrow(InputError);
  });
});
