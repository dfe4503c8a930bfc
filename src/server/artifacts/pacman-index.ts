/**
 * Adding packages to a pacman repository's index (`quarters.db` and `quarters.files`, gzip'd tars of
 * one `NAME-VERSION/` directory per package), step for step as repo-add does it: the databases unpacked
 * with bsdtar, the package's earlier entry replaced, both packed again with `bsdtar -cf - | gzip -c -f -n`
 * and renamed into place, `quarters.db` and `quarters.files` symlinks to them. The entries themselves
 * (src/core/pacman-db-entry.ts) come from what the upload learnt while the body streamed past (its size,
 * sha256 and archive listing); repo-add would read a 1 GiB package three more times for them. A
 * package added without them (a carried-over build, a local build) is read here once per fact, as
 * repo-add would. Runs in a repository generation no one serves yet (repository.ts), so a failure
 * leaves nothing to undo but that generation.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { descText, entryName, filesText, isEntryOf, parsePkginfo } from '../../core/pacman-db-entry.js';
import { fsyncPath } from '../../common/fsync.js';
import { RepositoryError, runIndexTool as run } from './repository-error.js';

/** What is known of a package file without reading it again: its size, sha256 and archive listing. */
export interface KnownPackageFacts {
  size: number;
  sha256: string;
  /** `bsdtar --exclude='^.*' -tf` of the package, one path an element (package-listing.ts). */
  listing: readonly string[];
}

/** A package file in the repository directory, to be added to its index. */
export interface PacmanIndexInput {
  filename: string;
  known?: KnownPackageFacts | undefined;
}

/** Tools run in the C locale, as the server ran repo-add. */
const ENV = { LC_ALL: 'C' };

/** bsdtar lists file names as they are in a UTF-8 locale; in C it would escape every byte past ASCII. */
export const LISTING_ENV = { LC_ALL: 'C.UTF-8' };

/** The archive listing of a package file, as repo-add takes it: what bsdtar lists, whatever it said of names it could not convert. */
export async function listPackage(path: string): Promise<string[]> {
  const result = await execa('bsdtar', ['--exclude=^.*', '-tf', path], { reject: false, env: LISTING_ENV, encoding: 'utf8' });
  if (result.exitCode === undefined) throw new RepositoryError(`bsdtar could not list ${path}: ${result.shortMessage}`);
  return String(result.stdout).split('\n').filter((p) => p !== '');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function factsOf(path: string, known: KnownPackageFacts | undefined): Promise<KnownPackageFacts> {
  if (known) return known;
  const [{ size }, sha256, listing] = await Promise.all([stat(path), sha256File(path), listPackage(path)]);
  return { size, sha256, listing };
}

/** Packs the entries of `from` into `<dir>/<name>` (fsynced, then renamed over the old one) and points the `.db`-style symlink at it. */
async function pack(from: string, dir: string, repo: string, name: string): Promise<void> {
  const entries = (await readdir(from)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const archive = `${name}.${repo}.tar.gz`;
  const temp = join(dir, `.tmp.${archive}`);
  const members = entries.length ? entries : ['-T', '/dev/null'];
  try {
    await execa('bsdtar', ['-cf', '-', ...members], { cwd: from, env: ENV }).pipe('gzip', ['-c', '-f', '-n'], { stdout: { file: temp }, env: ENV });
  } catch (error) {
    const { stderr, shortMessage } = error as { stderr?: string; shortMessage?: string };
    throw new RepositoryError(`packing ${archive} failed: ${String(stderr || shortMessage || error).trim()}`);
  }
  await fsyncPath(temp);
  await rename(temp, join(dir, archive));
  const link = join(dir, `${name}.${repo}`);
  await rm(link, { force: true });
  await symlink(archive, link);
}

/**
 * Adds packages (files already in `dir`) to the pacman repository `name` in `dir`, replacing each
 * one's earlier entry (any version of the same pkgname), as `repo-add NAME.db.tar.gz FILES` does.
 */
export async function addToPacmanIndex(dir: string, name: string, packages: readonly PacmanIndexInput[]): Promise<void> {
  const work = join(dir, `.index-work`);
  await rm(work, { recursive: true, force: true });
  try {
    for (const repo of ['db', 'files']) {
      await mkdir(join(work, repo), { recursive: true });
      const archive = join(dir, `${name}.${repo}.tar.gz`);
      if (await stat(archive).catch(() => null)) await run('bsdtar', ['-xf', archive, '-C', join(work, repo)], dir);
    }
    for (const { filename, known } of packages) {
      const path = join(dir, filename);
      let pkginfo;
      let entry;
      try {
        pkginfo = parsePkginfo(await run('bsdtar', ['-xOqf', path, '.PKGINFO'], dir));
        entry = entryName(pkginfo);
      } catch (error) {
        throw new RepositoryError(`${filename} is not a readable pacman package: ${(error as Error).message}`);
      }
      const facts = await factsOf(path, known);
      const pkgname = pkginfo.get('pkgname')!.at(-1)!;
      const desc = descText(pkginfo, { filename, size: facts.size, sha256: facts.sha256 });
      for (const repo of ['db', 'files']) {
        for (const old of await readdir(join(work, repo))) if (isEntryOf(old, pkgname)) await rm(join(work, repo, old), { recursive: true, force: true });
        await mkdir(join(work, repo, entry));
        await writeFile(join(work, repo, entry, 'desc'), desc);
      }
      await writeFile(join(work, 'files', entry, 'files'), filesText(facts.listing));
    }
    for (const repo of ['db', 'files']) await pack(join(work, repo), dir, repo, name);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
