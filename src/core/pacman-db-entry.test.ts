import { describe, expect, it } from 'vitest';
import { descText, entryName, filesText, isEntryOf, parsePkginfo, PkginfoError } from './pacman-db-entry.js';

describe('pacman db entries', () => {
  it('reads .PKGINFO as repo-add does: comments skipped, list keys gathered, a repeated scalar\'s last value, white space made one space', () => {
    const pkginfo = parsePkginfo('# makepkg\npkgname = zlib\n  pkgver = 1.3-1  \npkgdesc = a  =  b\t c\ndepend = glibc\ndepend = bash\narch = any\narch = x86_64\nnot-a-name = x\n');
    expect(pkginfo.get('pkgdesc')).toEqual(['a = b c']);
    expect(pkginfo.get('depend')).toEqual(['glibc', 'bash']);
    expect(pkginfo.get('arch')).toEqual(['x86_64']);
    expect(pkginfo.has('not-a-name')).toBe(false);
    expect(entryName(pkginfo)).toBe('zlib-1.3-1');
    expect(() => entryName(parsePkginfo('pkgname = zlib\n'))).toThrow(PkginfoError);
  });

  it('writes desc sections in repo-add\'s order, leaving out empty ones', () => {
    const pkginfo = parsePkginfo('pkgname = zlib\npkgbase = zlib\npkgver = 1.3-1\npkgdesc = \nsize = 6\narch = x86_64\ndepend = glibc\nlicense = Zlib\n');
    expect(descText(pkginfo, { filename: 'zlib-1.3-1-x86_64.pkg.tar.zst', size: 10, sha256: 'ab'.repeat(32) })).toBe(
      `%FILENAME%\nzlib-1.3-1-x86_64.pkg.tar.zst\n\n%NAME%\nzlib\n\n%BASE%\nzlib\n\n%VERSION%\n1.3-1\n\n%CSIZE%\n10\n\n%ISIZE%\n6\n\n%SHA256SUM%\n${'ab'.repeat(32)}\n\n%LICENSE%\nZlib\n\n%ARCH%\nx86_64\n\n%DEPENDS%\nglibc\n\n`,
    );
  });

  it('knows a pkgname\'s entries by their last two dash-separated parts, and sorts files by byte value, each once', () => {
    expect(isEntryOf('zlib-1:1.3-2', 'zlib')).toBe(true);
    expect(isEntryOf('zlib-ng-2.1-1', 'zlib')).toBe(false);
    expect(isEntryOf('zlib-ng-2.1-1', 'zlib-ng')).toBe(true);
    expect(filesText(['usr/b', 'usr/', 'usr/B', 'usr/é', 'usr/z', 'usr/b', ''])).toBe('%FILES%\nusr/\nusr/B\nusr/b\nusr/z\nusr/é\n');
  });
});
