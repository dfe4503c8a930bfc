/**
 * Build bundles on disk: a PKGBUILD directory (with its .SRCINFO), an AOSC package directory
 * (spec + autobuild/) or a Debian source package (debian/control with debian/changelog). Each is read with the project's recipe parsers and fingerprinted by its
 * content, so that an unchanged bundle can carry its earlier build over to a new iteration.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { parseAbbsPackage } from '../../core/recipe/abbs.js';
import { formatParseIssue, type Flavour, type SourcePackage } from '../../core/recipe/model.js';
import { parseSrcinfo } from '../../core/recipe/srcinfo.js';
import { changelogSource, recipeFormat } from '../../server/sources/recipe-files.js';
import { CommandError } from '../command.js';

export interface Bundle {
  /** The bundle directory, absolute. */
  dir: string;
  flavour: Flavour;
  recipe: SourcePackage;
  /** The bundle's files (relative paths) that are copied into the build and make up `digest`. */
  files: string[];
  /** What the parser noticed but could read past (one line each). */
  warnings: string[];
  /** sha256 over those files' paths, modes and contents. */
  digest: string;
}

/** The flavour of a bundle directory, by the files the build driver looks for; null when it is neither. */
export function bundleFlavour(dir: string): Flavour | null {
  const found: Flavour[] = [];
  if (existsSync(join(dir, 'PKGBUILD'))) found.push('pkgbuild');
  if (existsSync(join(dir, 'spec')) && existsSync(join(dir, 'autobuild'))) found.push('autobuild');
  if (existsSync(join(dir, 'debian/control')) && existsSync(join(dir, 'debian/changelog'))) found.push('debian');
  if (found.length > 1) throw new CommandError(`${dir}: has more than one of a PKGBUILD, spec + autobuild/ and debian/; a bundle is one of them`);
  return found[0] ?? null;
}

/** What a Debian build leaves in its tree: debhelper's state and staging directories, built packages beside the sources. */
const DEBIAN_BUILD_LEFTOVER = /^(debian\/(\.debhelper|tmp|files$|debhelper-build-stamp$|[^/]+\.substvars$|[^/]+\.debhelper\.log$))|^[^/]+\.(deb|ddeb|buildinfo|changes)$/;

/**
 * Whether a path of the bundle is part of it: version control, the driver's logs and what a local
 * makepkg leaves behind (src/, pkg/, built packages) are not.
 */
export function isBundleContent(path: string, flavour: Flavour): boolean {
  const top = path.split('/')[0]!;
  if (top === '.git' || top === 'quarters-logs') return false;
  if (flavour === 'pkgbuild' && (top === 'src' || top === 'pkg' || /\.pkg\.tar(\.\w+)?(\.sig)?$/.test(path))) return false;
  if (flavour === 'debian' && DEBIAN_BUILD_LEFTOVER.test(path)) return false;
  return true;
}

async function bundleFiles(dir: string, flavour: Flavour): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/');
    if (isBundleContent(path, flavour)) files.push(path);
  }
  return files.sort();
}

async function digestOf(dir: string, files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of files) {
    const info = await stat(join(dir, path));
    hash.update(`${path}\0${info.mode & 0o111 ? 'x' : '-'}\0${info.size}\0`);
    hash.update(await readFile(join(dir, path)));
  }
  return hash.digest('hex');
}

/** Reads one bundle; anything unusable is a CommandError naming the directory and the problem. */
export async function readBundle(path: string): Promise<Bundle> {
  const dir = resolve(path);
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new CommandError(`${path}: not a directory (a bundle is a PKGBUILD directory, an AOSC spec + autobuild/ directory or a Debian source package)`);
  const flavour = bundleFlavour(dir);
  if (!flavour) throw new CommandError(`${path}: no PKGBUILD, no spec + autobuild/ and no debian/control with debian/changelog found; not a build bundle`);
  const files = await bundleFiles(dir, flavour);
  let parsed;
  if (flavour === 'pkgbuild') {
    const srcinfo = join(dir, '.SRCINFO');
    if (!existsSync(srcinfo)) throw new CommandError(`${path}: no .SRCINFO next to the PKGBUILD (write it with: makepkg --printsrcinfo > .SRCINFO)`);
    parsed = parseSrcinfo(await readFile(srcinfo, 'utf8'), srcinfo);
  } else if (flavour === 'debian') {
    parsed = await readDebianRecipe(path, dir);
  } else {
    // The directory name is the pkgbase, as in an abbs tree.
    const name = basename(dir);
    const texts = await Promise.all(files.filter((f) => f === 'spec' || f.endsWith('/defines')).map(async (f) => ({ path: `${name}/${f}`, text: await readFile(join(dir, f), 'utf8') })));
    parsed = parseAbbsPackage(name, texts);
  }
  if (!parsed.value) throw new CommandError(`${path}: ${parsed.issues.map(formatParseIssue).join('; ') || 'the recipe cannot be read'}`);
  return { dir, flavour, recipe: parsed.value, files, warnings: parsed.issues.map(formatParseIssue), digest: await digestOf(dir, files) };
}

/** A Debian source package's recipe: debian/control at the version of debian/changelog's newest entry, which must name the same source. */
async function readDebianRecipe(path: string, dir: string) {
  const files = await Promise.all(['debian/control', 'debian/changelog'].map(async (f) => ({ path: f, text: await readFile(join(dir, f), 'utf8') })));
  const changelog = files[1]!.text;
  const parsed = recipeFormat('debian').parse('', files);
  const named = changelogSource(changelog);
  if (parsed.value && named !== parsed.value.pkgbase) {
    throw new CommandError(`${path}: debian/changelog's newest entry is for ${named ? `source ${named}` : 'no source (its first line is not "SOURCE (VERSION) DISTRIBUTION; urgency=…")'}, but debian/control says Source: ${parsed.value.pkgbase}`);
  }
  return parsed;
}

/** Reads every bundle; they must share one flavour and name distinct pkgbases. */
export async function readBundles(paths: readonly string[]): Promise<Bundle[]> {
  const bundles: Bundle[] = [];
  for (const path of paths) bundles.push(await readBundle(path));
  const flavours = new Set(bundles.map((b) => b.flavour));
  if (flavours.size > 1) throw new CommandError(`the bundles mix flavours (${[...flavours].join(', ')}); build one flavour at a time`);
  const seen = new Map<string, string>();
  for (const b of bundles) {
    const other = seen.get(b.recipe.pkgbase);
    if (other) throw new CommandError(`${other} and ${b.dir} both build pkgbase ${b.recipe.pkgbase}`);
    seen.set(b.recipe.pkgbase, b.dir);
  }
  return bundles;
}
