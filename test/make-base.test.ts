/** scripts/make-base: the cached Arch-on-Debian base OS that end-to-end build tests share. */
import { describe, expect, it } from 'vitest';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { archBaseSkipReason, archBaseTarball, archBaseTree } from './support/arch-base.js';
import { reportSkip } from './support/capabilities.js';
import { debianBaseSkipReason, debianBaseTarball, debianBaseTree } from './support/debian-base.js';

const MAKE_BASE = fileURLToPath(new URL('../scripts/make-base', import.meta.url));

describe('scripts/make-base arguments', () => {
  it('explains itself, and names an unknown argument', async () => {
    const help = await execa(MAKE_BASE, ['--help']);
    expect(help.stdout).toMatch(/scripts\/make-base \[--profile arch\|debian\|systemd-host\] \[--extract\] \[--cache-dir DIR\] \[--mirror URL\]/);
    const bad = await execa(MAKE_BASE, ['--frobnicate'], { reject: false });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toBe("make-base: unknown argument '--frobnicate' (try --help)");
  });
});

const skip = reportSkip(archBaseSkipReason(), 'scripts/make-base (the base OS itself)');

describe.skipIf(skip)('scripts/make-base', () => {
  it('makes the base once and hands concurrent callers the same cached tarball', async () => {
    const first = await archBaseTarball();
    const before = await stat(first);
    const again = await Promise.all([archBaseTarball(), archBaseTarball(), archBaseTree()]);
    expect(again.slice(0, 2)).toEqual([first, first]);
    expect(again[2]).toBe(first.replace(/\.tar\.zst$/, ''));
    expect((await stat(first)).mtimeMs).toBe(before.mtimeMs);
    expect(first).toMatch(/^\/.+\/base-bookworm-arch-[0-9a-f]{12}\.tar\.zst$/);
    expect(first.startsWith(fileURLToPath(new URL('..', import.meta.url)))).toBe(false);
  }, 900_000); // a cold cache means debootstrap: minutes

  it('holds what makepkg needs to make a .pkg.tar.zst, under a root that is 0755', async () => {
    const tree = await archBaseTree();
    for (const tool of ['usr/bin/makepkg', 'usr/bin/pacman', 'usr/bin/repo-add', 'usr/bin/fakeroot', 'usr/bin/bsdtar', 'usr/bin/zstd', 'usr/bin/gpg', 'usr/bin/strip', 'usr/bin/file', 'usr/sbin/ip', 'usr/sbin/useradd', 'usr/bin/unshare']) {
      expect((await stat(join(tree, tool))).isFile(), tool).toBe(true);
    }
    expect((await stat(tree)).mode & 0o777).toBe(0o755);
    const listing = await execa('sh', ['-c', `zstd -dc '${await archBaseTarball()}' | tar -t | grep -c -E '^\\./usr/bin/makepkg$|^\\./var/cache/apt/archives/.*\\.deb$'`], { reject: false });
    // makepkg is in the tarball; no downloaded .deb was left behind in it.
    expect(listing.stdout.trim()).toBe('1');
  });
});

const debianSkip = reportSkip(debianBaseSkipReason(), 'scripts/make-base --profile debian (the Debian build base)');

describe.skipIf(debianSkip)('scripts/make-base --profile debian', () => {
  it('holds what dpkg-buildpackage, debhelper and apt build-dep need, and no downloaded .deb', async () => {
    const tree = await debianBaseTree();
    expect(tree).toMatch(/\/base-bookworm-debian-[0-9a-f]{12}$/);
    for (const tool of ['usr/bin/dpkg-buildpackage', 'usr/bin/dpkg-checkbuilddeps', 'usr/bin/dh', 'usr/bin/fakeroot', 'usr/bin/gcc', 'usr/bin/make', 'usr/bin/apt-get', 'usr/sbin/ip', 'usr/sbin/useradd', 'usr/bin/unshare']) {
      expect((await stat(join(tree, tool))).isFile(), tool).toBe(true);
    }
    expect((await stat(tree)).mode & 0o777).toBe(0o755);
    const listing = await execa('sh', ['-c', `zstd -dc '${await debianBaseTarball()}' | tar -t | grep -c -E '^\\./usr/bin/dpkg-buildpackage$|^\\./var/cache/apt/archives/.*\\.deb$'`], { reject: false });
    expect(listing.stdout.trim()).toBe('1');
  }, 900_000);
});
