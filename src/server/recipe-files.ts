/** Which files of a recipe directory each flavour reads, and turning them into the one recipe model. */
import type { Flavour, ParseResult, SourcePackage, TextFile } from '../core/recipe/model.js';
import { parseSrcinfo } from '../core/recipe/srcinfo.js';

export interface RecipeFormat {
  /** Paths relative to the recipe directory; the first one marks a directory as a recipe. */
  files: readonly string[];
  /** Parses the files that exist (paths relative to the recipe directory). */
  parse(files: TextFile[]): ParseResult<SourcePackage>;
}

const formats = new Map<Flavour, RecipeFormat>([
  ['pkgbuild', { files: ['.SRCINFO'], parse: (files) => parseSrcinfo(files[0]!.text, files[0]!.path) }],
]);

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
  for (const file of format.files) {
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
