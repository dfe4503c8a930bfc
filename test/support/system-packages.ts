/** Packages the whole-system tests build, and reading what the build set's repository serves. */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { expect } from 'vitest';
import type { ArchRecipe } from './arch-recipe.js';
import { PACKAGER, type BuildView, type SystemRig } from './system-rig.js';

/** A package shipping one file that names its version. */
export function shipping(pkgbase: string, version: string, extra: Partial<ArchRecipe> = {}): ArchRecipe {
  return {
    pkgbase,
    version,
    package: [`mkdir -p "$pkgdir/usr/share/${pkgbase}"`, `echo "${pkgbase} ${version}" > "$pkgdir/usr/share/${pkgbase}/version"`],
    ...extra,
  };
}

/** qa ← qb ← qc: qb's build() fails unless qa 2.0-1 is installed, and qb records what it saw; qc's fails unless it has that qb. */
export function chainRecipes(qaVersion: string): ArchRecipe[] {
  return [
    shipping('qa', qaVersion),
    shipping('qb', '1.0-1', {
      depends: ['qa'],
      build: ['grep -qx "qa 2.0-1" /usr/share/qa/version || { echo "qb: qa 2.0-1 is not installed ($(cat /usr/share/qa/version 2>&1))" >&2; exit 1; }'],
      package: ['mkdir -p "$pkgdir/usr/share/qb"', 'echo "qb 1.0-1" > "$pkgdir/usr/share/qb/version"', 'cp /usr/share/qa/version "$pkgdir/usr/share/qb/saw-qa"'],
    }),
    shipping('qc', '1.0-1', {
      depends: ['qb'],
      build: ['grep -qx "qa 2.0-1" /usr/share/qb/saw-qa || { echo "qc: the qb built on qa 2.0-1 is not installed" >&2; exit 1; }'],
    }),
  ];
}

/**
 * ca ⇄ cb: each needs the other to build (makedepends) and records what it saw of it. Build-time
 * needs only, so that each package installs on its own: a run-time cycle could not be installed
 * from the build set's repository alone, without the distribution's older packages.
 */
export function cycleRecipes(caVersion: string): ArchRecipe[] {
  const member = (pkgbase: string, other: string, version: string) => shipping(pkgbase, version, {
    makedepends: [other],
    package: [
      `mkdir -p "$pkgdir/usr/share/${pkgbase}"`, `echo "${pkgbase} ${version}" > "$pkgdir/usr/share/${pkgbase}/version"`,
      `cat /usr/share/${other}/version > "$pkgdir/usr/share/${pkgbase}/saw" 2>/dev/null || echo nothing > "$pkgdir/usr/share/${pkgbase}/saw"`,
    ],
  });
  return [member('ca', 'cb', caVersion), member('cb', 'ca', '1.0-1')];
}

/** Waits until `check` holds. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** One file of a build's package, as served by the build set's repository. */
export async function packageFile(rig: SystemRig, namespace: string, build: BuildView, path: string): Promise<string> {
  const pkg = await repoFile(rig, namespace, build.artifacts[0]!.filename);
  return (await execa('tar', ['--zstd', '-xOf', '-', path], { input: pkg })).stdout;
}

/** A file of a build set's repository, from the server, as bytes. */
export async function repoFile(rig: SystemRig, namespace: string, file: string): Promise<Buffer> {
  const response = await fetch(`${rig.url}/repos/${namespace}/latest/x86_64/${file}`);
  expect(response.status, `GET /repos/${namespace}/latest/x86_64/${file}`).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** The `desc` entry of a package in a pacman database (a tar archive, gzipped as repo-add writes it, or not). */
export async function dbEntry(compressed: Buffer, entry: string): Promise<string> {
  // tar detects compression only in files it can seek, not on a pipe.
  const db = compressed[0] === 0x1f && compressed[1] === 0x8b ? gunzipSync(compressed) : compressed;
  const listed = await execa('tar', ['-tf', '-'], { input: db });
  expect(listed.stdout.split('\n'), 'the entries of quarters.db').toContain(`${entry}/desc`);
  return (await execa('tar', ['-xOf', '-', `${entry}/desc`], { input: db })).stdout;
}

/** A field of a pacman desc file (`%NAME%` followed by its value lines). */
export function descField(desc: string, name: string): string | undefined {
  const match = new RegExp(`^%${name}%\\n([^\\n]*)`, 'm').exec(desc);
  return match?.[1];
}

/** Checks that the repository lists the build's package and serves it with the sha256 the API shows. */
export async function expectPublished(rig: SystemRig, namespace: string, build: BuildView, version: string): Promise<void> {
  expect(build.artifacts.map((a) => a.filename)).toEqual([`${build.pkgbase}-${version}-any.pkg.tar.zst`]);
  const [artifact] = build.artifacts;
  const desc = await dbEntry(await repoFile(rig, namespace, 'quarters.db'), `${build.pkgbase}-${version}`);
  expect(descField(desc, 'FILENAME')).toBe(artifact!.filename);
  expect(descField(desc, 'SHA256SUM')).toBe(artifact!.sha256);
  const pkg = await repoFile(rig, namespace, artifact!.filename);
  expect(createHash('sha256').update(pkg).digest('hex')).toBe(artifact!.sha256);
  expect(pkg.length).toBe(artifact!.size);
  const pkginfo = (await execa('tar', ['--zstd', '-xOf', '-', '.PKGINFO'], { input: pkg })).stdout;
  expect(pkginfo).toMatch(new RegExp(`^pkgver = ${version.replace(/\./g, '\\.')}$`, 'm'));
  expect(pkginfo).toContain(`packager = ${PACKAGER.name} <${PACKAGER.email}>`);
  const shipped = (await execa('tar', ['--zstd', '-xOf', '-', `usr/share/${build.pkgbase}/version`], { input: pkg })).stdout;
  expect(shipped).toBe(`${build.pkgbase} ${version}`);
}

