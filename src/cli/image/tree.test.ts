import { afterEach, describe, expect, it } from 'vitest';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CommandError } from '../command.js';
import { replaceLinksByCopies, resolveInside, writeFileEntries } from './tree.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'quarters-image-tree-'));
  dirs.push(dir);
  return dir;
}
const where = (i: number) => `i.toml: image.partition.0.file.${i}`;

describe('partition trees', () => {
  it('writes text (with its mode), symlinks and artifacts, making the directories', async () => {
    const root = await tree();
    const repo = await tree();
    await writeFile(join(repo, 'a-1-1-any.pkg.tar.zst'), 'package bytes');
    await writeFileEntries(root, [
      { path: '/etc/motd', text: 'hi\n', mode: 0o600 },
      { path: '/etc/issue', symlink: 'motd' },
      { path: '/boot/a.pkg', artifact: 'a-1-1-any.pkg.tar.zst' },
      { path: '/run-later', shell: 'echo later' },
    ], (name) => join(repo, name), where);
    expect(await readFile(join(root, 'etc/motd'), 'utf8')).toBe('hi\n');
    expect((await stat(join(root, 'etc/motd'))).mode & 0o7777).toBe(0o600);
    expect((await stat(join(root, 'etc'))).mode & 0o7777).toBe(0o755);
    expect(await readlink(join(root, 'etc/issue'))).toBe('motd');
    expect(await readFile(join(root, 'boot/a.pkg'), 'utf8')).toBe('package bytes');
    // Shell entries run later, in the guest.
    expect(await lstat(join(root, 'run-later')).catch(() => null)).toBeNull();
  });

  it('never writes through a link the description made: a link to a host directory is not a directory of the tree', async () => {
    const root = await tree();
    const host = await tree();
    const error = await writeFileEntries(root, [{ path: '/etc', symlink: host }, { path: '/etc/passwd', text: 'x' }], () => null, where).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as Error).message).toBe('i.toml: image.partition.0.file.1: /etc is a symbolic link, not a directory');
    expect(await lstat(join(host, 'passwd')).catch(() => null)).toBeNull();
  });

  it('resolves links as if the tree were "/": absolute targets and ".." stay inside', async () => {
    const root = await tree();
    await mkdir(join(root, 'usr/lib'), { recursive: true });
    await writeFile(join(root, 'usr/lib/os-release'), 'ID=x\n');
    await mkdir(join(root, 'etc'));
    await symlink('/usr/lib/os-release', join(root, 'etc/abs'));
    await symlink('../../../../usr/lib/os-release', join(root, 'etc/up'));
    await symlink('abs', join(root, 'etc/chain'));
    await symlink('/etc/loop', join(root, 'etc/loop'));
    expect(await resolveInside(root, ['etc', 'abs'])).toEqual(['usr', 'lib', 'os-release']);
    expect(await resolveInside(root, ['etc', 'up'])).toEqual(['usr', 'lib', 'os-release']);
    expect(await resolveInside(root, ['etc', 'chain'])).toEqual(['usr', 'lib', 'os-release']);
    expect(await resolveInside(root, ['etc', 'loop'])).toBeNull();
  });

  it('turns links into copies for vfat, refusing one that leads outside the tree\'s files', async () => {
    const root = await tree();
    await mkdir(join(root, 'loader/entries'), { recursive: true });
    await writeFile(join(root, 'loader/entries/a.conf'), 'title a\n');
    await symlink('entries/a.conf', join(root, 'loader/default.conf'));
    await replaceLinksByCopies(root, 'partition ESP');
    expect((await lstat(join(root, 'loader/default.conf'))).isFile()).toBe(true);
    expect(await readFile(join(root, 'loader/default.conf'), 'utf8')).toBe('title a\n');

    // /etc/hostname of the tree, which has none: the host's is never copied.
    await symlink('/etc/hostname', join(root, 'leak'));
    await expect(replaceLinksByCopies(root, 'partition ESP')).rejects.toThrow('partition ESP: /leak is a symbolic link to "/etc/hostname", which is not a file in the partition: vfat has no links, so it needs a file to copy');
    await rm(join(root, 'leak'));
    // A fifo would have mcopy wait for a writer forever.
    await execa('mkfifo', [join(root, 'pipe')]);
    await expect(replaceLinksByCopies(root, 'partition ESP')).rejects.toThrow('partition ESP: /pipe is not a file, directory or link: vfat cannot hold it');
  });
});
