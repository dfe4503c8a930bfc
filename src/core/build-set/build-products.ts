/**
 * What a build may publish: the binary packages its recipe produces, at the recipe's version, for
 * the build's architecture. Recorded with the build when it is planned (the recipe as it was at the
 * build's commit), and checked against what an uploaded package says of itself (.PKGINFO, control
 * file), not only against its file name.
 */
import { archMatches, hasArchDependent, hasArchIndependent } from '../recipe/arch-view.js';
import type { Flavour, SourcePackage } from '../recipe/model.js';
import { compareVersions } from '../version/index.js';

/** One binary package a build produces: its name, version and the package architectures it may carry. */
export interface BuildProduct {
  name: string;
  version: string;
  architectures: string[];
}

/** What a package file says about itself: pacman `.PKGINFO` pkgname/pkgver/arch, a .deb's Package/Version/Architecture. */
export interface PackageIdentity {
  name: string;
  version: string;
  arch: string;
}

// Debian names x86_64 amd64; quarters' architectures may use either.
const DEB_NAMES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64' };

/** The package architectures a binary with these `architectures` has when built on `buildArch`. */
function packageArchitectures(flavour: Flavour, architectures: readonly string[], buildArch: string): string[] {
  if (flavour === 'pkgbuild') {
    // Arch's `any` is architecture-independent output: the package says `arch = any`.
    return [...(architectures.includes('any') ? ['any'] : []), ...(architectures.includes(buildArch) ? [buildArch] : [])];
  }
  const dependent = hasArchDependent(architectures, buildArch) || architectures.some((a) => archMatches(a, DEB_NAMES[buildArch] ?? buildArch));
  return [...(hasArchIndependent(architectures) ? ['all'] : []), ...(dependent ? [...new Set([buildArch, DEB_NAMES[buildArch] ?? buildArch])] : [])];
}

/** The packages a build of `recipe` on `buildArch` produces (binaries not built there left out). */
export function buildProducts(recipe: SourcePackage, buildArch: string): BuildProduct[] {
  return recipe.binaries
    .map((b) => ({ name: b.name, version: b.version?.text ?? recipe.version.text, architectures: packageArchitectures(recipe.flavour, b.architectures.length ? b.architectures : recipe.architectures, buildArch) }))
    .filter((p) => p.architectures.length > 0);
}

function sameVersion(flavour: Flavour, a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return compareVersions(flavour, a, b) === 0;
  } catch {
    return false;
  }
}

/**
 * The product a Debian package belongs to: itself, or for `NAME-dbgsym` (the debug symbols debhelper
 * splits off every architecture-dependent binary on its own, unasked) the architecture-dependent NAME.
 */
function productOf(products: readonly BuildProduct[], flavour: Flavour, pkg: PackageIdentity): BuildProduct | undefined {
  const product = products.find((p) => p.name === pkg.name);
  if (product || flavour !== 'debian' || !pkg.name.endsWith('-dbgsym') || pkg.arch === 'all') return product;
  const stripped = products.find((p) => p.name === pkg.name.slice(0, -'-dbgsym'.length));
  return stripped && { ...stripped, name: pkg.name, architectures: stripped.architectures.filter((a) => a !== 'all') };
}

/** Whether a package is one of the build's products: its name, version and architecture; otherwise why not, naming what is expected. */
export function checkProduct(products: readonly BuildProduct[], flavour: Flavour, pkg: PackageIdentity): { ok: true; product: BuildProduct } | { ok: false; reason: string } {
  const expected = products.map((p) => `${p.name} ${p.version} (${p.architectures.join('/')})`).join(', ') || 'nothing';
  const product = productOf(products, flavour, pkg);
  if (!product) return { ok: false, reason: `the package is ${pkg.name}, which this build's recipe does not produce; it produces ${expected}` };
  if (!sameVersion(flavour, product.version, pkg.version)) {
    return { ok: false, reason: `the package is ${pkg.name} ${pkg.version}, but this build's recipe is at version ${product.version}` };
  }
  if (!product.architectures.includes(pkg.arch)) {
    return { ok: false, reason: `the package ${pkg.name} is for ${pkg.arch}, but this build makes it for ${product.architectures.join(' or ') || 'no architecture'}` };
  }
  return { ok: true, product };
}

/** Whether the file name's parts agree with what the package says of itself (a .deb's file name drops the epoch). */
export function nameAgrees(fromName: { name: string; version: string; arch: string }, pkg: PackageIdentity, flavour: Flavour): boolean {
  const version = flavour === 'pkgbuild' ? pkg.version : pkg.version.slice(pkg.version.indexOf(':') + 1);
  return fromName.name === pkg.name && fromName.version === version && fromName.arch === pkg.arch;
}
