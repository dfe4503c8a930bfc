/** Real package files for tests: a pacman package made with tar --zstd, a .deb made with dpkg-deb. */
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A new temporary directory (tests leave them to the system's tmp cleaning, as the server tests do). */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

/**
 * Builds `NAME-VERSION-ARCH.pkg.tar.zst` with a .PKGINFO; returns its path and file name. `filler` adds
 * that many random (incompressible) bytes, for a body that takes a while to send.
 */
export async function pacmanPackage(options: { name: string; version: string; arch?: string; packager?: string; depends?: string[]; filler?: number; pkgbase?: string; pkginfoTail?: string[] }): Promise<{ path: string; filename: string }> {
  const root = tempDir('quarters-pkg-');
  const arch = options.arch ?? 'x86_64';
  const pkginfo = [
    `pkgname = ${options.name}`, `pkgbase = ${options.pkgbase ?? options.name}`, `pkgver = ${options.version}`, `pkgdesc = ${options.name} for tests`,
    'builddate = 1700000000', `packager = ${options.packager ?? 'Unknown Packager'}`, 'size = 6', `arch = ${arch}`,
    ...(options.depends ?? []).map((d) => `depend = ${d}`), ...(options.pkginfoTail ?? []), '',
  ].join('\n');
  const content = join(root, 'content');
  mkdirSync(join(content, 'usr/share/doc', options.name), { recursive: true });
  writeFileSync(join(content, '.PKGINFO'), pkginfo);
  writeFileSync(join(content, 'usr/share/doc', options.name, 'README'), `${options.name}\n`);
  if (options.filler) writeFileSync(join(content, 'usr/share/doc', options.name, 'filler'), randomBytes(options.filler));
  const filename = `${options.name}-${options.version}-${arch}.pkg.tar.zst`;
  const path = join(root, filename);
  await execa('tar', ['--zstd', '-cf', path, '-C', content, '.PKGINFO', 'usr']);
  return { path, filename };
}

export const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Builds `NAME_VERSION_ARCH.deb` with dpkg-deb; returns its path and file name. `filler` as for pacmanPackage. */
export async function debPackage(options: { name: string; version: string; arch: string; depends?: string[]; maintainer?: string; filler?: number }): Promise<{ path: string; filename: string }> {
  const root = tempDir('quarters-deb-');
  const content = join(root, 'content');
  mkdirSync(join(content, 'DEBIAN'), { recursive: true });
  mkdirSync(join(content, 'usr/share/doc', options.name), { recursive: true });
  writeFileSync(join(content, 'usr/share/doc', options.name, 'README'), `${options.name}\n`);
  if (options.filler) writeFileSync(join(content, 'usr/share/doc', options.name, 'filler'), randomBytes(options.filler));
  const control = [
    `Package: ${options.name}`, `Version: ${options.version}`, `Architecture: ${options.arch}`, `Maintainer: ${options.maintainer ?? 'Jane Packager <jane@example.org>'}`,
    ...(options.depends?.length ? [`Depends: ${options.depends.join(', ')}`] : []), `Description: ${options.name} for tests`, '',
  ].join('\n');
  writeFileSync(join(content, 'DEBIAN/control'), control);
  const filename = `${options.name}_${options.version}_${options.arch}.deb`;
  const path = join(root, filename);
  await execa('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', content, path]);
  return { path, filename };
}

/**
 * Builds a Debian source package with dpkg-source (unsigned, as `dpkg-buildpackage -us -uc` leaves it):
 * `3.0 (quilt)` from a made-up orig tarball, or `3.0 (native)`. Returns its directory and file names, the .dsc last.
 */
export async function debSourcePackage(options: { source: string; version: string; format: 'quilt' | 'native'; binaries: string[] }): Promise<{ dir: string; files: string[] }> {
  const dir = tempDir('quarters-dsc-');
  const plain = options.version.slice(options.version.indexOf(':') + 1);
  const upstream = options.format === 'quilt' ? plain.slice(0, plain.lastIndexOf('-')) : plain;
  const tree = join(dir, `${options.source}-${upstream}`);
  mkdirSync(join(tree, 'debian', 'source'), { recursive: true });
  writeFileSync(join(tree, 'hello.c'), 'int main(void) { return 0; }\n');
  if (options.format === 'quilt') await execa('tar', ['-cJf', join(dir, `${options.source}_${upstream}.orig.tar.xz`), '-C', dir, `${options.source}-${upstream}`]);
  writeFileSync(join(tree, 'debian', 'source', 'format'), `3.0 (${options.format})\n`);
  writeFileSync(join(tree, 'debian', 'control'), [
    `Source: ${options.source}`, 'Maintainer: Quarters Examples <examples@quarters.invalid>', 'Standards-Version: 4.6.2', '',
    ...options.binaries.flatMap((name) => [`Package: ${name}`, 'Architecture: any', `Description: ${name} for tests`, ' A test package.', '']),
  ].join('\n'));
  writeFileSync(join(tree, 'debian', 'changelog'), `${options.source} (${options.version}) unstable; urgency=medium\n\n  * Test.\n\n -- Quarters Examples <examples@quarters.invalid>  Thu, 03 Dec 2026 12:00:00 +0000\n`);
  await execa('dpkg-source', ['-b', tree], { cwd: dir, env: { SOURCE_DATE_EPOCH: '1796212800' } });
  const files = readdirSync(dir).filter((name) => name.startsWith(`${options.source}_`)).sort();
  return { dir, files: [...files.filter((f) => !f.endsWith('.dsc')), ...files.filter((f) => f.endsWith('.dsc'))] };
}
