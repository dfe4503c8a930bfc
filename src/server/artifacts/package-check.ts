/**
 * Whether a package file may go into a build's repository: what the file says of itself (.PKGINFO or
 * the .deb's control file) must agree with its name and be one of the build's products, made for the
 * build's packager where the flavour records one. The upload route and local builds both check here.
 */
import { execa } from 'execa';
import type { Flavour } from '../../core/recipe/model.js';
import type { ArtifactName } from '../../core/build-set/artifact-name.js';
import type { BuildRow } from '../store/build-store.js';
import { checkProduct, nameAgrees, type BuildProduct, type PackageIdentity } from '../../core/build-set/build-products.js';

/** Why a package file was refused; `code` is the API's error code. */
export class PackageRefused extends Error {
  constructor(
    readonly code: 'invalid_package' | 'package_name_mismatch' | 'not_a_product' | 'packager_mismatch',
    message: string,
  ) {
    super(message);
    this.name = 'PackageRefused';
  }
}

/** What a package file says of itself, and the field where it records its packager (null where the flavour does not record who caused the build). */
export interface PackageInfo {
  identity: PackageIdentity;
  packager: { field: string; value: string | null } | null;
}

/** A pacman package's .PKGINFO: pkgname, pkgver, arch and packager. */
async function pacmanInfo(file: string): Promise<PackageInfo> {
  // The first .PKGINFO, as repo-add and pacman read it; tar stops there instead of decompressing the whole package.
  const result = await execa('tar', ['--occurrence=1', '-xOf', file, '.PKGINFO'], { reject: false, encoding: 'utf8' });
  if (result.failed) throw new PackageRefused('invalid_package', `not a pacman package (no readable .PKGINFO): ${String(result.stderr).trim()}`);
  const fields = new Map<string, string>();
  for (const line of String(result.stdout).split('\n')) {
    const at = line.indexOf(' = ');
    if (at > 0 && !fields.has(line.slice(0, at))) fields.set(line.slice(0, at), line.slice(at + 3).trim());
  }
  const [name, version, arch] = ['pkgname', 'pkgver', 'arch'].map((k) => fields.get(k));
  if (!name || !version || !arch) throw new PackageRefused('invalid_package', 'the package\'s .PKGINFO lacks pkgname, pkgver or arch');
  return { identity: { name, version, arch }, packager: { field: 'packager', value: fields.get('packager') ?? null } };
}

/** A .deb's control file: Package, Version, Architecture and (autobuild writes its MTER, the packager, there) Maintainer. */
async function debInfo(file: string, flavour: Flavour): Promise<PackageInfo> {
  const fields = ['Package', 'Version', 'Architecture', 'Maintainer'];
  const result = await execa('dpkg-deb', ['--field', file, ...fields], { reject: false, encoding: 'utf8' });
  if (result.failed) throw new PackageRefused('invalid_package', `not a Debian package (no readable control file): ${String(result.stderr).trim()}`);
  const values = new Map<string, string>();
  for (const line of String(result.stdout).split('\n')) {
    const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (match) values.set(match[1]!, match[2]!.trim());
  }
  const [name, version, arch] = fields.slice(0, 3).map((k) => values.get(k));
  if (!name || !version || !arch) throw new PackageRefused('invalid_package', 'the package\'s control file lacks Package, Version or Architecture');
  // A Debian package's Maintainer is the package's maintainer from debian/control, not whoever caused the build.
  const packager = flavour === 'autobuild' ? { field: 'Maintainer', value: values.get('Maintainer') || null } : null;
  return { identity: { name, version, arch }, packager };
}

/** What a package file of the flavour says of itself (PackageRefused when it is no readable package). */
export function packageInfo(flavour: Flavour, file: string): Promise<PackageInfo> {
  return flavour === 'pkgbuild' ? pacmanInfo(file) : debInfo(file, flavour);
}

/** Checks a package file offered to a build; throws PackageRefused naming what disagrees. */
export async function checkPackageFile(flavour: Flavour, file: string, filename: string, named: ArtifactName, build: Pick<BuildRow, 'id' | 'pkgbase' | 'version' | 'packager'>, products: readonly BuildProduct[]): Promise<PackageInfo> {
  const info = await packageInfo(flavour, file);
  if (!nameAgrees(named, info.identity, flavour)) {
    const { name: n, version: v, arch: a } = info.identity;
    throw new PackageRefused('package_name_mismatch', `the file is named ${filename}, but the package says it is ${n} ${v} for ${a}`);
  }
  const product = checkProduct(products, flavour, info.identity);
  if (!product.ok) throw new PackageRefused('not_a_product', `build ${build.id} (${build.pkgbase} ${build.version}): ${product.reason}`);
  const recorded = build.packager ? info.packager : null;
  if (recorded && recorded.value !== build.packager) {
    throw new PackageRefused('packager_mismatch', `the package says ${recorded.field} "${recorded.value ?? '(none)'}", but the build was made for "${build.packager}"`);
  }
  return info;
}
