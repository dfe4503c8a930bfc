/** Which files of a recipe directory each flavour reads, and turning them into the one recipe model. */
import type { Flavour, ParseResult, SourcePackage, TextFile } from '../../core/recipe/model.js';
import { parseAbbsPackage } from '../../core/recipe/abbs.js';
import { parseSrcinfo } from '../../core/recipe/srcinfo.js';
import { parseDebianControl } from '../../core/recipe/debian.js';

export interface RecipeFormat {
  /** The file (relative to the recipe directory) whose presence makes a directory a recipe. */
  marker: string;
  /** Paths (relative to the recipe directory) that, when changed, name their recipe directory by suffix. */
  indicators: readonly string[];
  /** Whether the directory must be listed to know which files to read (else the marker and `extraFiles`). */
  listDirectory: boolean;
  /** Further files read when present (relative to the recipe directory). */
  extraFiles?: readonly string[];
  /** Whether a path relative to the recipe directory is one the parser reads. */
  reads(path: string): boolean;
  /** Parses the recipe of `dir` from its files (paths relative to `dir`). */
  parse(dir: string, files: TextFile[]): ParseResult<SourcePackage>;
}

const formats = new Map<Flavour, RecipeFormat>([
  [
    'pkgbuild',
    {
      marker: '.SRCINFO',
      indicators: ['.SRCINFO'],
      listDirectory: false,
      reads: (path) => path === '.SRCINFO',
      parse: (dir, files) => parseSrcinfo(files[0]!.text, inDir(dir, files[0]!.path)),
    },
  ],
  [
    'autobuild',
    {
      marker: 'spec',
      indicators: ['spec', 'autobuild/defines'],
      listDirectory: true,
      // spec, and autobuild/defines or the NN-name/defines of a package group.
      reads: (path) => path === 'spec' || /^[^/]+\/defines$/.test(path),
      parse: (dir, files) => parseAbbsPackage(dir, files.map((f) => ({ path: inDir(dir, f.path), text: f.text }))),
    },
  ],
  [
    'debian',
    {
      marker: 'debian/control',
      indicators: ['debian/control', 'debian/changelog'],
      listDirectory: false,
      extraFiles: ['debian/changelog'],
      reads: (path) => path === 'debian/control' || path === 'debian/changelog',
      parse: (dir, files) => {
        const control = files.find((f) => f.path === 'debian/control')!;
        const version = changelogVersion(files.find((f) => f.path === 'debian/changelog')?.text ?? '');
        return parseDebianControl(control.text, inDir(dir, control.path), version ? { version } : {});
      },
    },
  ],
]);

/** The version of the newest debian/changelog entry: `source (VERSION) distribution; urgency=…`. */
export function changelogVersion(changelog: string): string | null {
  return /^\S+ \(([^)\s]+)\)/.exec(changelog)?.[1] ?? null;
}

/** The source named by the newest debian/changelog entry, or null when its first line is not one. */
export function changelogSource(changelog: string): string | null {
  return /^(\S+) \([^)\s]+\)/.exec(changelog)?.[1] ?? null;
}

/** The reader of a flavour; an Error naming the flavour when quarters cannot read it yet. */
export function recipeFormat(flavour: Flavour): RecipeFormat {
  const format = formats.get(flavour);
  if (!format) throw new Error(`no recipe parser for flavour "${flavour}" in this build of quarters`);
  return format;
}

/** Joins a recipe directory ('' for a project root) and a path inside it. */
export function inDir(dir: string, path: string): string {
  return dir ? `${dir}/${path}` : path;
}

/**
 * The recipe directory a changed path belongs to in a tree repository: the directory of a recipe
 * file it is (`app-admin/foo/spec` → `app-admin/foo`), or the known recipe directory it lies in.
 */
export function recipeDirOf(path: string, format: RecipeFormat, knownDirs: ReadonlySet<string>): string | null {
  for (const file of format.indicators) {
    if (path === file) return '';
    if (path.endsWith(`/${file}`)) return path.slice(0, -file.length - 1);
  }
  const parts = path.split('/');
  for (let n = parts.length - 1; n > 0; n--) {
    const dir = parts.slice(0, n).join('/');
    if (knownDirs.has(dir)) return dir;
  }
  return null;
}
