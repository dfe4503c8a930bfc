/** Tiny Arch recipes for tests: a PKGBUILD and the .SRCINFO `makepkg --printsrcinfo` writes for it, from one description. */

export interface ArchRecipe {
  pkgbase: string;
  /** pkgver-pkgrel; 1.0-1 unless given. */
  version?: string;
  pkgdesc?: string;
  /** One architecture; `any` unless given. */
  arch?: string;
  depends?: string[];
  makedepends?: string[];
  /** The body of build(), shell lines; no build() when absent. */
  build?: string[];
  /** The body of package(), shell lines ($pkgdir is the package root). */
  package: string[];
}

/** The bundle's files: `PKGBUILD` and its `.SRCINFO`, consistent with each other. */
export function archBundleFiles(recipe: ArchRecipe): { PKGBUILD: string; '.SRCINFO': string } {
  const { pkgbase } = recipe;
  const [pkgver, pkgrel = '1'] = (recipe.version ?? '1.0-1').split('-');
  const pkgdesc = recipe.pkgdesc ?? `${pkgbase} for tests`;
  const arch = recipe.arch ?? 'any';
  const depends = recipe.depends ?? [];
  const makedepends = recipe.makedepends ?? [];
  const list = (items: string[]) => items.map((item) => `'${item}'`).join(' ');
  const fn = (name: string, body: string[]) => [`${name}() {`, ...body.map((line) => `  ${line}`), '}'];
  const pkgbuild = [
    `pkgname=${pkgbase}`, `pkgver=${pkgver}`, `pkgrel=${pkgrel}`, `pkgdesc='${pkgdesc}'`, `arch=('${arch}')`,
    ...(makedepends.length ? [`makedepends=(${list(makedepends)})`] : []),
    ...(depends.length ? [`depends=(${list(depends)})`] : []),
    ...(recipe.build ? fn('build', recipe.build) : []),
    ...fn('package', recipe.package),
    '',
  ];
  // makepkg's field order: pkgdesc, pkgver, pkgrel, arch, makedepends, depends; a package that overrides nothing has an empty section.
  const srcinfo = [
    `pkgbase = ${pkgbase}`, `\tpkgdesc = ${pkgdesc}`, `\tpkgver = ${pkgver}`, `\tpkgrel = ${pkgrel}`, `\tarch = ${arch}`,
    ...makedepends.map((d) => `\tmakedepends = ${d}`),
    ...depends.map((d) => `\tdepends = ${d}`),
    '', `pkgname = ${pkgbase}`, '',
  ];
  return { PKGBUILD: pkgbuild.join('\n'), '.SRCINFO': srcinfo.join('\n') };
}
