import { describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { execa } from 'execa';
import { RepositoryIndexError } from '../../core/repository-index.js';
import { aptIndex, indexKindOf, pacmanDbIndex } from './index-files.js';
import { debPackage, pacmanPackage, sha256Of, tempDir } from '../../../test/support/packages.js';
import { serverRepository } from '../../../test/support/build-set-repository.js';

const at = { namespace: 'ns', iteration: 1, arch: 'x86_64' };
const described = (file: { path: string; filename: string }) => ({ filename: file.filename, size: statSync(file.path).size, sha256: sha256Of(file.path) });
const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

/** A gzip'd tar of `entries` (path → text), made by tar as repo-add's bsdtar would. */
async function dbOf(entries: Record<string, string>): Promise<Buffer> {
  const dir = tempDir('quarters-db-src-');
  for (const [path, text] of Object.entries(entries)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const db = join(dir, '..', `${dir.split('/').pop()}.db.tar.gz`);
  await execa('tar', ['-czf', db, '-C', dir, ...Object.keys(entries)]);
  return readFileSync(db);
}

describe('the pacman database of a build set repository', () => {
  it('names every package repo-add added, with its size and sha256', async () => {
    const files = [
      await pacmanPackage({ name: 'zlib', version: '1:1.3-2' }),
      await pacmanPackage({ name: 'python-a-package-with-a-name-long-enough-that-its-db-entry-needs-more-than-a-hundred-chars', version: '1.0-1', arch: 'any' }),
      await pacmanPackage({ name: 'libpng', version: '1.6.43-1' }),
    ];
    const repo = await serverRepository('pkgbuild', at, files);
    expect(indexKindOf(readdirSync(repo.dir))).toBe('pacman');
    const packages = pacmanDbIndex(readFileSync(join(repo.dir, 'quarters.db')));
    expect(packages.sort((a, b) => a.filename.localeCompare(b.filename))).toEqual(files.map(described).sort((a, b) => a.filename.localeCompare(b.filename)));
  });

  it('refuses what is no database, a damaged one, and entries that name no verifiable plain file', async () => {
    const notGzip = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not gzip at all')]);
    expect(errorOf(() => pacmanDbIndex(notGzip))).toBeInstanceOf(RepositoryIndexError);
    expect(errorOf(() => pacmanDbIndex(notGzip)).message).toMatch(/^quarters\.db: cannot decompress it/);
    expect(errorOf(() => pacmanDbIndex(Buffer.alloc(1024, 'x'))).message).toMatch(/^quarters\.db: the header at byte 0 has a wrong checksum/);
    const good = await dbOf({ 'zlib-1.3-1/desc': '%FILENAME%\nzlib-1.3-1-x86_64.pkg.tar.zst\n\n%CSIZE%\n12\n\n%SHA256SUM%\n' + 'a'.repeat(64) + '\n' });
    expect(pacmanDbIndex(good)).toEqual([{ filename: 'zlib-1.3-1-x86_64.pkg.tar.zst', size: 12, sha256: 'a'.repeat(64) }]);
    expect(errorOf(() => pacmanDbIndex(gunzipSync(good).subarray(0, 700))).message).toMatch(/truncated/);
    const noChecksum = await dbOf({ 'zlib-1.3-1/desc': '%FILENAME%\nzlib-1.3-1-x86_64.pkg.tar.zst\n\n%CSIZE%\n12\n' });
    expect(errorOf(() => pacmanDbIndex(noChecksum)).message).toBe('quarters.db: zlib-1.3-1/desc: %SHA256SUM% is missing');
    const escaping = await dbOf({ 'evil-1-1/desc': `%FILENAME%\n../../etc/passwd\n\n%CSIZE%\n12\n\n%SHA256SUM%\n${'b'.repeat(64)}\n` });
    expect(errorOf(() => pacmanDbIndex(escaping)).message).toBe('quarters.db: evil-1-1/desc: %FILENAME% "../../etc/passwd" is not a plain file name');
    const hidden = await dbOf({ 'evil-1-1/desc': `%FILENAME%\n.quarters.db\n\n%CSIZE%\n12\n\n%SHA256SUM%\n${'b'.repeat(64)}\n` });
    expect(errorOf(() => pacmanDbIndex(hidden)).message).toMatch(/is not a plain file name/);
    const badSize = await dbOf({ 'zlib-1.3-1/desc': `%FILENAME%\nzlib.pkg.tar.zst\n\n%CSIZE%\n-3\n\n%SHA256SUM%\n${'c'.repeat(64)}\n` });
    expect(errorOf(() => pacmanDbIndex(badSize)).message).toMatch(/%CSIZE% "-3" is not a size in bytes/);
  });
});

describe('the apt flat repository of a build set', () => {
  it('names every package apt-ftparchive indexed, with Packages checked against Release', async () => {
    const files = [await debPackage({ name: 'zlib1g', version: '1.3+dfsg-1~bpo1', arch: 'amd64' }), await debPackage({ name: 'zlib1g-dev', version: '1.3-1', arch: 'amd64' })];
    const repo = await serverRepository('autobuild', { ...at, arch: 'amd64' }, files);
    expect(indexKindOf(readdirSync(repo.dir))).toBe('apt');
    const packages = aptIndex(readFileSync(join(repo.dir, 'Packages')), readFileSync(join(repo.dir, 'Release')));
    expect(packages).toEqual(expect.arrayContaining(files.map(described)));
    expect(packages).toHaveLength(2);
  });

  it('refuses a Packages that Release does not vouch for, and stanzas without a verifiable plain file', async () => {
    const file = await debPackage({ name: 'hello', version: '1.0', arch: 'amd64' });
    const repo = await serverRepository('autobuild', { ...at, arch: 'amd64' }, [file]);
    const packages = readFileSync(join(repo.dir, 'Packages'));
    const release = readFileSync(join(repo.dir, 'Release'));
    const tampered = Buffer.from(packages.toString().replace(/^SHA256: .*$/m, `SHA256: ${'d'.repeat(64)}`));
    expect(errorOf(() => aptIndex(tampered, release)).message).toMatch(/^Packages does not match Release: its sha256 is [0-9a-f]{64} \(\d+ bytes\), Release says [0-9a-f]{64}/);
    expect(errorOf(() => aptIndex(packages, Buffer.from('Origin: quarters\n'))).message).toBe('Release does not list Packages in its SHA256 section');

    // A Release that vouches for a bad Packages does not make it good.
    const dir = tempDir('quarters-apt-');
    const index = async (text: string) => {
      writeFileSync(join(dir, 'Packages'), text);
      const { stdout } = await execa('apt-ftparchive', ['release', '.'], { cwd: dir, env: { LC_ALL: 'C' } });
      return errorOf(() => aptIndex(Buffer.from(text), Buffer.from(stdout))).message;
    };
    const sha = 'e'.repeat(64);
    expect(await index(`Package: a\nFilename: pool/main/a_1_amd64.deb\nSize: 3\nSHA256: ${sha}\n`)).toBe('Packages:1 (a): Filename "pool/main/a_1_amd64.deb" is not a plain file name');
    expect(await index(`Package: a\nFilename: ./a_1_amd64.deb\nSize: 3\n`)).toBe('Packages:1 (a): SHA256 is missing');
    expect(await index(`Package: a\nFilename: ./a_1_amd64.deb\nSize: 3\nSHA256: ${sha}\n\nPackage: b\nFilename: ./a_1_amd64.deb\nSize: 4\nSHA256: ${sha}\n`)).toBe('Packages names a_1_amd64.deb twice, with different checksums');
  });
});
