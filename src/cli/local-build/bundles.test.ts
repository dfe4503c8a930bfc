import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from '../command.js';
import { isBundleContent, readBundle, readBundles } from './bundles.js';

const SRCINFO = (pkgbase: string, depends = '') => `pkgbase = ${pkgbase}\n\tpkgver = 1.0\n\tpkgrel = 1\n\tarch = any\n${depends ? `\tdepends = ${depends}\n` : ''}\npkgname = ${pkgbase}\n`;

function bundle(root: string, name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('build bundles', () => {
  const root = mkdtempSync(join(tmpdir(), 'quarters-bundles-'));

  it('reads a PKGBUILD bundle from its .SRCINFO, fingerprinting its own files only', async () => {
    const dir = bundle(root, 'hello', { PKGBUILD: 'pkgname=hello\n', '.SRCINFO': SRCINFO('hello', 'zlib'), 'hello.sh': 'echo hi\n' });
    const first = await readBundle(dir);
    expect(first.flavour).toBe('pkgbuild');
    expect(first.recipe.pkgbase).toBe('hello');
    expect(first.files).toEqual(['.SRCINFO', 'PKGBUILD', 'hello.sh']);
    // What makepkg leaves behind does not change the bundle; a source file does.
    bundle(root, 'hello', { 'src/hello.sh': 'x', 'pkg/hello/usr/bin/hello': 'x', 'hello-1.0-1-any.pkg.tar.zst': 'x' });
    expect((await readBundle(dir)).digest).toBe(first.digest);
    bundle(root, 'hello', { 'hello.sh': 'echo hello\n' });
    expect((await readBundle(dir)).digest).not.toBe(first.digest);
  });

  it('reads an AOSC bundle (spec + autobuild/defines), the directory naming the pkgbase', async () => {
    const dir = bundle(root, 'libmica', { spec: 'VER=1.2\nREL=1\n', 'autobuild/defines': 'PKGNAME=libmica\nPKGSEC=libs\nPKGDES="mica"\nPKGDEP="glibc"\n' });
    const read = await readBundle(dir);
    expect(read.flavour).toBe('autobuild');
    expect(read.recipe.pkgbase).toBe('libmica');
    expect(read.recipe.version.text).toBe('1.2-1');
  });

  it('reads a Debian source package: debian/control at the version of debian/changelog, leaving build leftovers out', async () => {
    const dir = bundle(root, 'garnet', {
      'debian/control': 'Source: garnet\nBuild-Depends: debhelper-compat (= 13), libgarnet-dev (>= 1.2) [linux-any] | libgarnet-legacy-dev, helper <stage1>\n\nPackage: garnet\nArchitecture: any\nMulti-Arch: foreign\nDepends: ${shlibs:Depends}, libgarnet1 (= ${binary:Version})\n',
      'debian/changelog': 'garnet (1:1.0-2) unstable; urgency=low\n\n  * x\n\n -- A <a@b.c>  Thu, 03 Dec 2026 12:00:00 +0000\n',
      'garnet_1.0.orig.tar.gz': 'x',
    });
    const first = await readBundle(dir);
    expect(first.flavour).toBe('debian');
    expect(first.recipe.pkgbase).toBe('garnet');
    expect(first.recipe.version.text).toBe('1:1.0-2');
    expect(first.recipe.binaries[0]).toMatchObject({ name: 'garnet', multiArch: 'foreign', depends: [[{ name: 'libgarnet1', constraint: { op: '=', version: '1:1.0-2' } }]] });
    expect(first.recipe.buildDepends[1]).toEqual([{ name: 'libgarnet-dev', constraint: { op: '>=', version: '1.2' }, arches: { negated: false, arches: ['linux-any'] } }, { name: 'libgarnet-legacy-dev' }]);
    expect(first.files).toEqual(['debian/changelog', 'debian/control', 'garnet_1.0.orig.tar.gz']);
    bundle(root, 'garnet', { 'debian/.debhelper/x': 'x', 'debian/tmp/usr/bin/garnet': 'x', 'debian/files': 'x', 'debian/garnet.substvars': 'x', 'garnet_1.0-2_amd64.deb': 'x', 'garnet_1.0-2_amd64.changes': 'x' });
    expect((await readBundle(dir)).digest).toBe(first.digest);
  });

  it.each([
    ['no-srcinfo', { PKGBUILD: 'pkgname=x\n' }, /no-srcinfo: no \.SRCINFO next to the PKGBUILD \(write it with: makepkg --printsrcinfo > \.SRCINFO\)/],
    ['empty', { README: 'hi' }, /empty: no PKGBUILD, no spec \+ autobuild\/ and no debian\/control with debian\/changelog found/],
    ['both', { PKGBUILD: '', spec: 'VER=1\n', 'autobuild/defines': '' }, /both: has more than one of a PKGBUILD, spec \+ autobuild\/ and debian\//],
    ['pkgbuild-and-debian', { PKGBUILD: '', 'debian/control': '', 'debian/changelog': '' }, /has more than one of/],
    ['other-source', { 'debian/control': 'Source: garnet\n\nPackage: garnet\nArchitecture: any\n', 'debian/changelog': 'ruby (1.0) unstable; urgency=low\n' }, /debian\/changelog's newest entry is for source ruby, but debian\/control says Source: garnet/],
    ['no-changelog-entry', { 'debian/control': 'Source: garnet\n\nPackage: garnet\nArchitecture: any\n', 'debian/changelog': '\n' }, /debian\/changelog's newest entry is for no source \(its first line is not/],
    ['bad-srcinfo', { PKGBUILD: '', '.SRCINFO': 'pkgbase = bad\n' }, /bad-srcinfo: .*\.SRCINFO:\d+: .*pkgver/],
  ])('refuses %s with a message naming it', async (name, files, message) => {
    const dir = bundle(root, name, files);
    await expect(readBundle(dir)).rejects.toThrow(CommandError);
    await expect(readBundle(dir)).rejects.toThrow(message);
  });

  it('refuses a path that is not a directory, two bundles of one pkgbase, and mixed flavours', async () => {
    await expect(readBundle(join(root, 'missing'))).rejects.toThrow(/missing: not a directory/);
    const a = bundle(root, 'twin-a', { PKGBUILD: '', '.SRCINFO': SRCINFO('twin') });
    const b = bundle(root, 'twin-b', { PKGBUILD: '', '.SRCINFO': SRCINFO('twin') });
    await expect(readBundles([a, b])).rejects.toThrow(/twin-a and .*twin-b both build pkgbase twin/);
    const aosc = bundle(root, 'libother', { spec: 'VER=1\n', 'autobuild/defines': 'PKGNAME=libother\nPKGSEC=libs\nPKGDES="x"\n' });
    await expect(readBundles([a, aosc])).rejects.toThrow(/mix flavours \(pkgbuild, autobuild\)/);
  });

  it('leaves version control, driver logs and makepkg leftovers out of a bundle', () => {
    expect(['PKGBUILD', 'keys/pgp/a.asc', 'src/x', '.git/HEAD', 'quarters-logs/build.log', 'x-1-1-any.pkg.tar.zst'].filter((p) => isBundleContent(p, 'pkgbuild'))).toEqual(['PKGBUILD', 'keys/pgp/a.asc']);
    // AOSC bundles keep their sources in autobuild/ and may have a src/ of their own.
    expect(isBundleContent('src/main.c', 'autobuild')).toBe(true);
  });
});
