import { describe, expect, it } from 'vitest';
import { aptPackages, aptReleaseEntry, isPlainFileName, pacmanDbPackages, pacmanDescFields } from './repository-index.js';

const SHA = 'ab'.repeat(32);

describe('repository indexes', () => {
  it('tells plain file names from paths and hidden files', () => {
    for (const name of ['zlib-1:1.3-1-x86_64.pkg.tar.zst', 'zlib1g_1.3+dfsg-1~bpo1_amd64.deb', 'a', 'libc++-1-1-any.pkg.tar.zst']) expect(isPlainFileName(name), name).toBe(true);
    for (const name of ['', '.', '..', '../x', 'a/b', '.hidden', 'a..b', 'x y', '-rf', 'a\nb', 'x'.repeat(256)]) expect(isPlainFileName(name), name).toBe(false);
  });

  it('reads the %KEY% sections of a pacman desc, multi-line ones included', () => {
    const fields = pacmanDescFields('%FILENAME%\nz.pkg.tar.zst\n\n%DEPENDS%\nglibc\nbash\n\n%CSIZE%\n7\n');
    expect(Object.fromEntries(fields)).toEqual({ FILENAME: ['z.pkg.tar.zst'], DEPENDS: ['glibc', 'bash'], CSIZE: ['7'] });
  });

  it('takes only the desc entries of a pacman database, and names the entry of a bad one', () => {
    const desc = (filename: string) => `%FILENAME%\n${filename}\n\n%CSIZE%\n7\n\n%SHA256SUM%\n${SHA.toUpperCase()}\n`;
    expect(pacmanDbPackages([{ path: 'z-1-1/desc', text: desc('z-1-1-any.pkg.tar.zst') }, { path: 'z-1-1/files', text: 'usr/\n' }])).toEqual([{ filename: 'z-1-1-any.pkg.tar.zst', size: 7, sha256: SHA }]);
    expect(() => pacmanDbPackages([{ path: 'z-1-1/desc', text: '%CSIZE%\n7\n' }])).toThrow('the pacman database: z-1-1/desc: no %FILENAME%');
    expect(() => pacmanDbPackages([{ path: 'z-1-1/desc', text: desc('z.pkg').replace(SHA.toUpperCase(), 'xyz') }])).toThrow('%SHA256SUM% "xyz" is not a sha256');
  });

  it('reads apt Packages stanzas and what Release says of Packages', () => {
    expect(aptPackages(`Package: z\nFilename: ./z_1_all.deb\nSize: 9\nSHA256: ${SHA}\n`)).toEqual([{ filename: 'z_1_all.deb', size: 9, sha256: SHA }]);
    expect(() => aptPackages('Package: z\nFilename: ./z_1_all.deb\nSHA256: x\n')).toThrow('Packages:1 (z): Size is missing');
    const release = `Origin: quarters\nSHA256:\n ${SHA}  42 Packages\n ${'cd'.repeat(32)} 7 Release\n`;
    expect(aptReleaseEntry(release, 'Packages')).toEqual({ sha256: SHA, size: 42 });
    expect(aptReleaseEntry(release, 'Sources')).toBeNull();
    expect(() => aptReleaseEntry('SHA256:\n nothex 42 Packages\n', 'Packages')).toThrow('the SHA256 line of Packages is malformed');
  });
});
