import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { TarError, tarFiles } from './tar.js';
import { tempDir } from '../../../test/support/packages.js';

// Over the 100 characters of a tar header's name field; two levels, so that ustar can split it into its prefix field.
const LONG = `${'a-directory-name-'.repeat(4)}/${'and-its-subdirectory-'.repeat(3)}`;

/** An archive of the same three files, written by GNU tar in `format`. */
async function archive(format: 'gnu' | 'pax' | 'ustar'): Promise<Buffer> {
  const dir = tempDir('quarters-tar-');
  mkdirSync(join(dir, 'src', LONG), { recursive: true });
  writeFileSync(join(dir, 'src', LONG, 'desc'), '%NAME%\nlong\n');
  mkdirSync(join(dir, 'src', 'zlib-1.3-1'));
  writeFileSync(join(dir, 'src', 'zlib-1.3-1', 'desc'), '%NAME%\nzlib\n');
  writeFileSync(join(dir, 'src', 'empty'), '');
  await execa('tar', [`--format=${format}`, '-cf', join(dir, 'a.tar'), '-C', join(dir, 'src'), 'zlib-1.3-1', LONG, 'empty']);
  return readFileSync(join(dir, 'a.tar'));
}

describe('tarFiles', () => {
  it.each(['gnu', 'pax', 'ustar'] as const)('reads the regular files of a %s archive, long names included', async (format) => {
    const files = tarFiles(await archive(format)).map((f) => [f.path, Buffer.from(f.data).toString()]);
    expect(files).toEqual([['zlib-1.3-1/desc', '%NAME%\nzlib\n'], [`${LONG}/desc`, '%NAME%\nlong\n'], ['empty', '']]);
  });

  it('refuses a damaged header and a truncated archive', async () => {
    const good = await archive('pax');
    const damaged = Buffer.from(good);
    damaged[10] = damaged[10]! ^ 1;
    expect(() => tarFiles(damaged)).toThrow(new TarError('the header at byte 0 has a wrong checksum: not a tar archive, or a damaged one'));
    expect(() => tarFiles(good.subarray(0, 1000))).toThrow(/truncated/);
    expect(() => tarFiles(good.subarray(0, 512 * 3))).toThrow(/truncated/);
  });
});
