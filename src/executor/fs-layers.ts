/** Filesystem steps every layer store shares: directories with explicit modes, atomic writes and switches. */
import { chmodSync, lstatSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runProcess } from '../common/child-process.js';

/** Creates a directory (and parents) and sets the mode of each one it created explicitly, whatever the caller's umask. */
export async function makeDir(path: string, mode = 0o755): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first !== undefined) {
    // Parents made on the way get the same mode, so that a umask of 077 cannot lock the host user out of work_dir.
    for (let dir = path; dir.length >= first.length && dir !== dirname(dir); dir = dirname(dir)) await chmod(dir, mode);
  }
  await chmod(path, mode);
}

/** Writes a file through a temporary name and a rename, so readers never see half of it. */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  writeFileAtomicSync(path, content, mode);
}

/** writeFileAtomic without the thread pool (a small file: each command's workspace state). */
export function writeFileAtomicSync(path: string, content: string, mode = 0o644): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
}

/** Points the symlink `link` at `target` atomically (a new link renamed over the old one). */
export async function switchSymlink(link: string, target: string): Promise<void> {
  const temporary = join(dirname(link), `.${process.pid}-${Date.now()}.link`);
  await symlink(target, temporary);
  await rename(temporary, link);
}

/**
 * Removes a tree that may hold files the build made immutable or mounted over; unmounts leftovers
 * below it first (lazily), so `rm` never descends into somebody's mount.
 */
export async function removeTree(path: string): Promise<void> {
  // Nothing there has nothing mounted below it: a teardown's sweeps mostly find what they sweep gone already.
  if (!exists(path)) return;
  await unmountBelow(path);
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 2 });
  } catch {
    // chattr +i in a build leaves files rm cannot delete; clear the flag and try once more.
    await runProcess('chattr', ['-R', '-i', path]);
    await rm(path, { recursive: true, force: true });
  }
}

/** Mount points at or below any of `paths` in this mount namespace, deepest first. */
export async function mountsBelow(...paths: string[]): Promise<string[]> {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  const below = (point: string): boolean => paths.some((path) => point === path || point.startsWith(path.endsWith('/') ? path : `${path}/`));
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))))
    .filter(below)
    .sort((a, b) => b.length - a.length);
}

/** Lazily unmounts everything at or below any of `paths`, in one umount process (a mount per process costs each teardown a few ms). */
export async function unmountBelow(...paths: string[]): Promise<void> {
  const present = paths.filter(exists);
  if (present.length === 0) return;
  const points = await mountsBelow(...present);
  if (points.length > 0) await runProcess('umount', ['--lazy', ...points]);
}

/** Whether something (a link included) is at `path`. */
function exists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}
