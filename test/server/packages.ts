/** Real package files for tests: a pacman package made with tar --zstd, and its upload. */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './http-harness.js';

/** Builds `NAME-VERSION-ARCH.pkg.tar.zst` with a .PKGINFO; returns its path and file name. */
export async function pacmanPackage(options: { name: string; version: string; arch?: string; packager?: string; depends?: string[] }): Promise<{ path: string; filename: string }> {
  const root = tempDir('quarters-pkg-');
  const arch = options.arch ?? 'x86_64';
  const pkginfo = [
    `pkgname = ${options.name}`, `pkgbase = ${options.name}`, `pkgver = ${options.version}`, `pkgdesc = ${options.name} for tests`,
    'builddate = 1700000000', `packager = ${options.packager ?? 'Unknown Packager'}`, 'size = 6', `arch = ${arch}`,
    ...(options.depends ?? []).map((d) => `depend = ${d}`), '',
  ].join('\n');
  const content = join(root, 'content');
  mkdirSync(join(content, 'usr/share/doc', options.name), { recursive: true });
  writeFileSync(join(content, '.PKGINFO'), pkginfo);
  writeFileSync(join(content, 'usr/share/doc', options.name, 'README'), `${options.name}\n`);
  const filename = `${options.name}-${options.version}-${arch}.pkg.tar.zst`;
  const path = join(root, filename);
  await execa('tar', ['--zstd', '-cf', path, '-C', content, '.PKGINFO', 'usr']);
  return { path, filename };
}

export const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** PUTs a file as the executor does. */
export function upload(server: string, buildId: number, file: { path: string; filename: string }, tokens: { executor: string; job: string }, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server}/api/v1/builds/${buildId}/artifacts/${encodeURIComponent(file.filename)}`, {
    method: 'PUT',
    body: readFileSync(file.path),
    headers: { Authorization: `Bearer ${tokens.executor}`, 'X-Job-Token': tokens.job, 'X-Checksum-Sha256': sha256Of(file.path), 'Content-Type': 'application/octet-stream', ...headers },
  });
}

/** The entries (NAME-VERSION) of a pacman database file. */
export async function pacmanDbEntries(db: Buffer): Promise<string[]> {
  const dir = tempDir('quarters-db-');
  const path = join(dir, 'quarters.db.tar.gz');
  writeFileSync(path, db);
  const { stdout } = await execa('tar', ['-tzf', path]);
  return stdout.split('\n').filter((l) => /^[^/]+\/$/.test(l)).map((l) => l.slice(0, -1)).sort();
}

/** Builds `NAME_VERSION_ARCH.deb` with dpkg-deb; returns its path and file name. */
export async function debPackage(options: { name: string; version: string; arch: string; depends?: string[]; maintainer?: string }): Promise<{ path: string; filename: string }> {
  const root = tempDir('quarters-deb-');
  const content = join(root, 'content');
  mkdirSync(join(content, 'DEBIAN'), { recursive: true });
  mkdirSync(join(content, 'usr/share/doc', options.name), { recursive: true });
  writeFileSync(join(content, 'usr/share/doc', options.name, 'README'), `${options.name}\n`);
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
