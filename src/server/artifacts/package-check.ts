/**
 * Whether a package file may go into a build's repository: what the file says of itself (.PKGINFO or
 * the .deb's control file) must agree with its name and be one of the build's products, made for the
 * build's packager where the flavour records one. A Debian build's records (.buildinfo, .changes),
 * kept with the build, must be of the build's source at its version, naming only its products; the
 * files of its source package (a full build), of its source at its version, the .dsc listing exactly
 * the source files the build uploaded before it (src/core/build-set/debian-source.ts).
 * The upload route and local builds both check here.
 */
import { parsePkginfo, pkginfoValue } from '../../core/pacman-db-entry.js';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { readDeb822 } from '../../core/recipe/deb822.js';
import { compareVersions } from '../../core/version/index.js';
import type { Flavour } from '../../core/recipe/model.js';
import type { ArtifactName } from '../../core/build-set/artifact-name.js';
import { dscProblem, listedFileProblem, parseDsc, sourceFileName, sourceFileNameProblem, type Dsc, type SourceFile } from '../../core/build-set/debian-source.js';
import type { BuildRow } from '../store/build-store.js';
import { checkProduct, nameAgrees, type BuildProduct, type PackageIdentity } from '../../core/build-set/build-products.js';

/** Why a package file was refused; `code` is the API's error code. */
export class PackageRefused extends Error {
  constructor(
    readonly code: 'invalid_package' | 'package_name_mismatch' | 'not_a_product' | 'packager_mismatch' | 'source_mismatch',
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

/** A pacman package's .PKGINFO: pkgname, pkgver, arch and packager, read as the index reads them (a repeated key: the last counts). */
async function pacmanInfo(file: string): Promise<PackageInfo> {
  // The first .PKGINFO, as repo-add and pacman read it; tar stops there instead of decompressing the whole package.
  const result = await execa('tar', ['--occurrence=1', '-xOf', file, '.PKGINFO'], { reject: false, encoding: 'utf8' });
  if (result.failed) throw new PackageRefused('invalid_package', `not a pacman package (no readable .PKGINFO): ${String(result.stderr).trim()}`);
  const fields = parsePkginfo(String(result.stdout));
  const [name, version, arch] = ['pkgname', 'pkgver', 'arch'].map((k) => pkginfoValue(fields, k));
  if (!name || !version || !arch) throw new PackageRefused('invalid_package', 'the package\'s .PKGINFO lacks pkgname, pkgver or arch');
  return { identity: { name, version, arch }, packager: { field: 'packager', value: fields.has('packager') ? pkginfoValue(fields, 'packager') : null } };
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

/** The largest build record read: a .changes or .buildinfo is a few kilobytes. */
const MAX_RECORD_BYTES = 1024 * 1024;

const sameDebianVersion = (a: string, b: string): boolean => {
  try {
    return compareVersions('debian', a, b) === 0;
  } catch {
    return false;
  }
};

/** Checks a Debian build record: unsigned deb822 whose Source, Version, Architecture and (.changes) Binary are the build's. */
async function checkBuildRecord(file: string, filename: string, named: ArtifactName, build: Pick<BuildRow, 'id' | 'pkgbase' | 'version' | 'packager'>, products: readonly BuildProduct[]): Promise<PackageInfo> {
  const bytes = await readFile(file);
  if (bytes.length > MAX_RECORD_BYTES) throw new PackageRefused('invalid_package', `${filename} is ${bytes.length} bytes; a build record has at most ${MAX_RECORD_BYTES}`);
  const text = bytes.toString('utf8');
  if (text.startsWith('-----BEGIN PGP')) throw new PackageRefused('invalid_package', `${filename} is signed; the build driver writes unsigned records (dpkg-buildpackage -us -uc)`);
  const { paragraphs, issues } = readDeb822(text, { file: filename });
  if (issues.length || paragraphs.length !== 1) throw new PackageRefused('invalid_package', `${filename} is not one deb822 paragraph${issues[0] ? ` (line ${issues[0].line}: ${issues[0].message})` : ''}`);
  const value = (name: string) => paragraphs[0]!.fields.get(name.toLowerCase())?.value.trim();
  const [source, version, architectures] = [value('Source'), value('Version'), value('Architecture')];
  if (!source || !version || !architectures) throw new PackageRefused('invalid_package', `${filename} lacks Source, Version or Architecture`);
  if (source !== named.name || version.slice(version.indexOf(':') + 1) !== named.version) {
    throw new PackageRefused('package_name_mismatch', `the file is named ${filename}, but it says it is of ${source} ${version}`);
  }
  if (source !== build.pkgbase || !sameDebianVersion(version, build.version)) {
    throw new PackageRefused('not_a_product', `build ${build.id} (${build.pkgbase} ${build.version}): ${filename} records a build of ${source} ${version}`);
  }
  // A full build's records name its source package as made too.
  const made = new Set([...products.flatMap((p) => p.architectures), 'source']);
  const foreign = architectures.split(/\s+/).filter((a) => !made.has(a));
  if (foreign.length) throw new PackageRefused('not_a_product', `build ${build.id} (${build.pkgbase} ${build.version}): ${filename} records packages for ${foreign.join(', ')}, which this build does not make`);
  if (named.record === 'changes') {
    const strangers = (value('Binary') ?? '').split(/\s+/).filter((n) => n && !products.some((p) => n === p.name || n === `${p.name}-dbgsym`));
    if (strangers.length) throw new PackageRefused('not_a_product', `build ${build.id} (${build.pkgbase} ${build.version}): ${filename} lists ${strangers.join(', ')}, which this build's recipe does not produce`);
  }
  // Who caused the build is, by Debian's convention, who changed it: the .changes' Changed-By.
  const packager = named.record === 'changes' ? { field: 'Changed-By', value: value('Changed-By') || null } : null;
  return { identity: { name: source, version, arch: named.arch }, packager };
}

const DSC_REFUSALS = { misnamed: 'package_name_mismatch', foreign: 'not_a_product', mismatch: 'source_mismatch' } as const;

/** A build's files as one more is checked against them: its own checksum and size, and the files the build stored before it. */
export interface BuildFiles {
  sha256: string;
  size: number;
  /** The build's files stored so far (a file of this one's name aside), and where each is. */
  stored: readonly (SourceFile & { path: string })[];
}

/** Reads a .dsc of at most MAX_RECORD_BYTES; PackageRefused when it is no readable unsigned .dsc. */
async function readDsc(file: string, filename: string): Promise<Dsc> {
  const bytes = await readFile(file);
  if (bytes.length > MAX_RECORD_BYTES) throw new PackageRefused('invalid_package', `${filename} is ${bytes.length} bytes; a .dsc has at most ${MAX_RECORD_BYTES}`);
  const parsed = parseDsc(bytes.toString('utf8'), filename);
  if (!parsed.ok) throw new PackageRefused('invalid_package', parsed.reason);
  return parsed.value;
}

/**
 * Checks a file of a Debian source package: named for the build's source at its version; a .dsc must
 * list exactly the source files stored before it, as they were stored; a source file after the .dsc
 * must be the one it lists. The packager is recorded in the .changes, not here.
 */
async function checkSourceFile(file: string, filename: string, named: ArtifactName, build: Pick<BuildRow, 'id' | 'pkgbase' | 'version'>, files: BuildFiles | undefined): Promise<PackageInfo> {
  if (!files) throw new Error(`checking ${filename}, a file of a source package, needs the build's stored files`);
  const label = `build ${build.id} (${build.pkgbase} ${build.version})`;
  const name = { source: named.name, version: named.version, part: named.sourcePart! };
  const misnamed = sourceFileNameProblem(name, build);
  if (misnamed) throw new PackageRefused('not_a_product', `${label}: ${filename}: ${misnamed}`);
  if (name.part === 'dsc') {
    const dsc = await readDsc(file, filename);
    const problem = dscProblem(dsc, name, build, sameDebianVersion, files.stored);
    if (problem) throw new PackageRefused(DSC_REFUSALS[problem.kind], `${label}: ${filename}: ${problem.reason}`);
    return { identity: { name: dsc.source, version: dsc.version, arch: 'source' }, packager: null };
  }
  const storedDsc = files.stored.find((f) => sourceFileName(f.filename)?.part === 'dsc');
  if (storedDsc) {
    const problem = listedFileProblem(await readDsc(storedDsc.path, storedDsc.filename), filename, files);
    if (problem) throw new PackageRefused('source_mismatch', `${label}: ${problem} (a source package's files come before its .dsc)`);
  }
  return { identity: { name: named.name, version: named.version, arch: 'source' }, packager: null };
}

/** Checks a package file (or a Debian build record or source package file) offered to a build; throws PackageRefused naming what disagrees. */
export async function checkPackageFile(flavour: Flavour, file: string, filename: string, named: ArtifactName, build: Pick<BuildRow, 'id' | 'pkgbase' | 'version' | 'packager'>, products: readonly BuildProduct[], files?: BuildFiles): Promise<PackageInfo> {
  if (named.record) return checkPackagerOf(await checkBuildRecord(file, filename, named, build, products), build);
  if (named.sourcePart) return checkSourceFile(file, filename, named, build, files);
  const info = await packageInfo(flavour, file);
  if (!nameAgrees(named, info.identity, flavour)) {
    const { name: n, version: v, arch: a } = info.identity;
    throw new PackageRefused('package_name_mismatch', `the file is named ${filename}, but the package says it is ${n} ${v} for ${a}`);
  }
  const product = checkProduct(products, flavour, info.identity);
  if (!product.ok) throw new PackageRefused('not_a_product', `build ${build.id} (${build.pkgbase} ${build.version}): ${product.reason}`);
  return checkPackagerOf(info, build);
}

/** The file's info, when it records the build's packager (or the flavour records none); else PackageRefused. */
function checkPackagerOf(info: PackageInfo, build: Pick<BuildRow, 'packager'>): PackageInfo {
  const recorded = build.packager ? info.packager : null;
  if (recorded && recorded.value !== build.packager) {
    throw new PackageRefused('packager_mismatch', `the package says ${recorded.field} "${recorded.value ?? '(none)'}", but the build was made for "${build.packager}"`);
  }
  return info;
}
