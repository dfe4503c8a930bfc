/**
 * A partition's tree on the host: the file entries written into it (text, symlink, artifact), and, for
 * vfat, its symbolic links turned into copies of what they point to. Every path is resolved inside the
 * tree, never through a link to the host: what a description or a package script put there can make
 * this neither write nor read outside the tree.
 */
import { chmod, copyFile, lstat, mkdir, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileKind, type ImageFile } from '../../core/image/description.js';
import { CommandError } from '../command.js';

/** Makes the directories `parts` below `root` (mode 0755), refusing a symbolic link or a file on the way. */
async function directoryBelow(root: string, parts: readonly string[], shownAs: string): Promise<string> {
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    const found = await lstat(dir).catch(() => null);
    if (found && !found.isDirectory()) throw new CommandError(`${shownAs}: ${dir.slice(root.length)} is ${found.isSymbolicLink() ? 'a symbolic link' : 'a file'}, not a directory`);
    if (!found) {
      await mkdir(dir);
      await chmod(dir, 0o755);
    }
  }
  return dir;
}

/** Writes the host-side file entries (text, symlink, artifact) of a partition into its tree; `artifactPath` locates an artifact's file. */
export async function writeFileEntries(root: string, files: readonly ImageFile[], artifactPath: (name: string) => string | null, shownAs: (i: number) => string): Promise<void> {
  for (const [i, file] of files.entries()) {
    const kind = fileKind(file);
    if (kind === 'shell') continue;
    const parts = file.path.split('/').slice(1);
    const dir = await directoryBelow(root, parts.slice(0, -1), shownAs(i));
    const target = join(dir, parts.at(-1)!);
    if (await lstat(target).catch(() => null)) throw new CommandError(`${shownAs(i)}: ${file.path} exists already (made as the directory of another entry)`);
    if (kind === 'symlink') {
      await symlink(file.symlink!, target);
      continue;
    }
    if (kind === 'text') {
      await writeFile(target, file.text!, { flag: 'wx' });
    } else {
      const source = artifactPath(file.artifact!);
      if (!source) throw new CommandError(`${shownAs(i)}: the build set's repository has no file ${file.artifact}`);
      await copyFile(source, target);
    }
    await chmod(target, file.mode ?? 0o644);
  }
}

/** The path (below `root`) a link at `link` (below `root`) leads to, resolving every link as if `root` were "/"; null when it leads nowhere. */
export async function resolveInside(root: string, link: readonly string[]): Promise<string[] | null> {
  let resolved = link.slice(0, -1);
  const pending = (await readlink(join(root, ...link))).split('/');
  if (pending[0] === '') resolved = [];
  for (let hops = 0; pending.length;) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const path = join(root, ...resolved, part);
    const found = await lstat(path).catch(() => null);
    if (!found) return null;
    if (!found.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++hops > 40) return null;
    const target = (await readlink(path)).split('/');
    if (target[0] === '') resolved = [];
    pending.unshift(...target);
  }
  return resolved;
}

/** vfat has no symbolic links: each becomes a copy of the file it leads to inside the tree; anything but files, directories and links is refused. */
export async function replaceLinksByCopies(root: string, shownAs: string, below: readonly string[] = []): Promise<void> {
  for (const entry of await readdir(join(root, ...below), { withFileTypes: true })) {
    const path = [...below, entry.name];
    if (entry.isDirectory()) {
      await replaceLinksByCopies(root, shownAs, path);
      continue;
    }
    if (entry.isFile()) continue;
    // mcopy would open a fifo, socket or device node and read from it: vfat holds none of them.
    if (!entry.isSymbolicLink()) throw new CommandError(`${shownAs}: /${path.join('/')} is not a file, directory or link: vfat cannot hold it`);
    const target = await resolveInside(root, path);
    const found = target && (await lstat(join(root, ...target)).catch(() => null));
    if (!found || !found.isFile()) throw new CommandError(`${shownAs}: /${path.join('/')} is a symbolic link to "${await readlink(join(root, ...path))}", which is not a file in the partition: vfat has no links, so it needs a file to copy`);
    await rm(join(root, ...path));
    await copyFile(join(root, ...target), join(root, ...path));
  }
}
