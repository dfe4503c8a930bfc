/**
 * What root does in directories the host user (and so a job) can write: every path component is
 * opened without following a symbolic link, each through the directory opened before it (openat(2)
 * by way of /proc/self/fd), and owners are changed on the open file, never by name. A link or a
 * file planted there is refused; it never makes root write, chown or bind something else.
 */
import { closeSync, constants, fchmodSync, fchownSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemFailure } from './failure.js';

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = constants;

export interface Owner {
  uid: number;
  gid: number;
}

/** `name` inside the open directory `dir`, as the kernel resolves it: through that directory, whatever its path has become. */
export function pathInside(dir: FileHandle, name: string): string {
  if (!name || name === '.' || name === '..' || name.includes('/')) throw new SystemFailure(`"${name}" is not a single path component`);
  return `/proc/self/fd/${dir.fd}/${name}`;
}

function refusal(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENXIO') return new SystemFailure(`${path} is not the directory or file the executor made (a symbolic link or another kind of file was put there): refused`);
  return error as Error;
}

/**
 * Opens the directory `top/parts...`: `top` is trusted (its parents are root's); below it, no level
 * may be a symbolic link and each must be owned by `owner.uid`. With `create`, missing levels are
 * made with that mode and owner.
 */
export async function openDirBelow(top: string, parts: readonly string[], owner: Owner, create?: { mode: number }): Promise<FileHandle> {
  let dir = await open(top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  let path = top;
  try {
    for (const part of parts) {
      path = join(path, part);
      const made = create ? await mkdir(pathInside(dir, part), create.mode).then(() => true, (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return false;
        throw error;
      }) : false;
      const next = await open(pathInside(dir, part), O_RDONLY | O_DIRECTORY | O_NOFOLLOW).catch((error: unknown) => {
        throw refusal(path, error);
      });
      await dir.close();
      dir = next;
      if (made) {
        await dir.chown(owner.uid, owner.gid);
        await dir.chmod(create!.mode);
      } else {
        const { uid } = await dir.stat();
        if (uid !== owner.uid) throw new SystemFailure(`${path} is owned by uid ${uid}, not by the host user (${owner.uid}): refused`);
      }
    }
    return dir;
  } catch (error) {
    await dir.close();
    throw error;
  }
}

/** Opens the regular file `name` of `dir` for reading and writing, or null when there is none; a link, another kind of file, a file of another owner or with other names is refused. */
export async function openOwnedFile(dir: FileHandle, name: string, owner: Owner, shownAs: string): Promise<FileHandle | null> {
  let file: FileHandle;
  try {
    file = await open(pathInside(dir, name), O_RDWR | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw refusal(shownAs, error);
  }
  const info = await file.stat();
  if (!info.isFile() || info.uid !== owner.uid || info.nlink !== 1) {
    await file.close();
    throw new SystemFailure(`${shownAs} is not a regular file of the host user's own: refused`);
  }
  return file;
}

/**
 * Writes `path` afresh, in a directory only root writes: whatever is there is removed (a link
 * itself, not its target), the file created exclusively and never through a link, then given its
 * mode and owner on the open file.
 */
export async function writeNewFile(path: string, content: string | Buffer, mode: number, owner?: Owner): Promise<void> {
  writeNewFileSync(path, content, mode, owner);
}

/** writeNewFile without the thread pool: for a host stage's start, which does nothing else meanwhile. */
export function writeNewFileSync(path: string, content: string | Buffer, mode: number, owner?: Owner): void {
  rmSync(path, { force: true });
  const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    writeFileSync(fd, content);
    fchmodSync(fd, mode);
    if (owner) fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}
