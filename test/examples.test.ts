/**
 * The example recipes under examples/: they parse cleanly with the project's parsers, their
 * .SRCINFO files are what makepkg writes for their PKGBUILDs today, planning from the library
 * yields the packages in dependency order, and they really build: the Arch ones with makepkg into
 * .pkg.tar.zst files, each next build compiled and linked against the previous one's package
 * contents; the AOSC ones' sources with make against the library's installed files.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { planBuildSet } from '../src/core/graph/index.js';
import { parseAbbsTree } from '../src/core/recipe/abbs.js';
import type { SourcePackage } from '../src/core/recipe/model.js';
import { isSrcinfoPath, parseSrcinfoTree } from '../src/core/recipe/srcinfo.js';
import { readTree } from '../src/cli/input.js';
import { readBundle } from '../src/cli/local-build/bundles.js';
import { copyForMakepkg, giveToMakepkgUser, makepkgSkipReason, makepkgWorkdir, printSrcinfo, runMakepkg } from './support/makepkg.js';
import { checkPlan } from './support/plan-checks.js';

const EXAMPLES = resolve(import.meta.dirname, '../examples');
const ARCH = join(EXAMPLES, 'arch');
const AOSC = join(EXAMPLES, 'aosc');
const CLI = resolve(import.meta.dirname, '../dist/cli/main.js');
const ARCH_DIRS = readdirSync(ARCH, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** The .PKGINFO of a built package as key → values. */
async function pkginfo(file: string): Promise<Map<string, string[]>> {
  const { stdout } = await execa('bsdtar', ['-xOf', file, '.PKGINFO']);
  const fields = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const match = /^(\w+) = (.*)$/.exec(line);
    if (!match) continue;
    fields.set(match[1]!, [...(fields.get(match[1]!) ?? []), match[2]!]);
  }
  return fields;
}

async function archExamples(): Promise<SourcePackage[]> {
  const { packages, issues } = parseSrcinfoTree(await readTree(ARCH, isSrcinfoPath));
  expect(issues).toEqual([]);
  return packages;
}

async function aoscExamples(): Promise<SourcePackage[]> {
  const { packages, issues } = parseAbbsTree(await readTree(AOSC, () => true));
  expect(issues).toEqual([]);
  return packages;
}

describe('Arch examples', () => {
  it('parse without issues: one source per directory, libquartz split into the library and its manual', async () => {
    const packages = await archExamples();
    expect(packages.map((p) => p.pkgbase).sort()).toEqual(ARCH_DIRS);
    expect(ARCH_DIRS.length).toBeGreaterThanOrEqual(3);
    const libquartz = packages.find((p) => p.pkgbase === 'libquartz');
    expect(libquartz?.binaries.map((b) => [b.name, b.architectures])).toEqual([
      ['libquartz', ['x86_64', 'aarch64']],
      ['libquartz-docs', ['any']],
    ]);
  });

  it('plan from libquartz: every example, in dependency order, nothing unresolved', async () => {
    const plan = planBuildSet({ flavour: 'pkgbuild', sources: await archExamples() }, { arch: 'x86_64', origins: ['libquartz'] });
    expect(checkPlan(plan)).toEqual([]);
    expect(plan.waves).toEqual([['libquartz'], ['quartz-tool'], ['quartz-meta']]);
    expect(plan.cycles).toEqual([]);
    // quartz-tool's run dependency is libquartz.so, the soname libquartz provides, not a package name.
    expect(plan.unresolved).toEqual([]);
  });

  const cliSkip = existsSync(CLI) ? null : 'dist/ is not built (npm test builds it; or npm run build)';
  if (cliSkip) process.stderr.write(`SKIPPED quarters graph on the Arch examples: ${cliSkip}\n`);
  it.skipIf(cliSkip !== null)('quarters graph plan --from srcinfo:examples/arch, as examples/README.md shows it, prints the same waves', async () => {
    const { stdout } = await execa(process.execPath, [CLI, 'graph', 'plan', '--from', `srcinfo:${ARCH}`, '--arch', 'x86_64', '--json', 'libquartz']);
    const plan = planBuildSet({ flavour: 'pkgbuild', sources: await archExamples() }, { arch: 'x86_64', origins: ['libquartz'] });
    expect((JSON.parse(stdout) as { waves: string[][] }).waves).toEqual(plan.waves);
  });

  const skip = makepkgSkipReason();
  if (skip) process.stderr.write(`SKIPPED Arch examples with makepkg: ${skip}\n`);

  describe.skipIf(skip !== null)('with makepkg', () => {
    it.each(ARCH_DIRS)('%s/.SRCINFO is what makepkg --printsrcinfo prints for its PKGBUILD', async (dir) => {
      const committed = readFileSync(join(ARCH, dir, '.SRCINFO'), 'utf8');
      expect(await printSrcinfo(join(ARCH, dir)), `regenerate: see examples/README.md`).toBe(committed);
    });

    it('build in plan order, each against the packages built before it, into packages whose .PKGINFO has the expected relations', { timeout: 300_000 }, async () => {
      const plan = planBuildSet({ flavour: 'pkgbuild', sources: await archExamples() }, { arch: 'x86_64', origins: ['libquartz'] });
      const work = makepkgWorkdir('quarters-examples-');
      scratch.push(work);
      // The packages built so far, unpacked: the next build compiles and links against them (and runs its check() with them).
      const sysroot = join(work, 'sysroot');
      const pkgdest = join(work, 'packages');
      for (const sub of ['sysroot', 'packages', 'build']) mkdirSync(join(work, sub));
      const conf = join(work, 'makepkg.conf');
      writeFileSync(conf, [
        'source /etc/makepkg.conf',
        // Debian's makepkg.conf writes .pkg.tar.gz; quarters' build environments write .pkg.tar.zst as Arch does.
        "PKGEXT='.pkg.tar.zst'",
        `BUILDDIR='${join(work, 'build')}'`,
        `PKGDEST='${pkgdest}'`,
        `SRCDEST='${join(work, 'build')}'`,
        `CPPFLAGS='-I${sysroot}/usr/include'`,
        `LDFLAGS='-L${sysroot}/usr/lib'`,
        '',
      ].join('\n'));
      giveToMakepkgUser(work);

      const logs = new Map<string, string>();
      for (const pkgbase of plan.waves.flat()) {
        const before = new Set(readdirSync(pkgdest));
        const copy = copyForMakepkg(join(ARCH, pkgbase), work, `recipe-${pkgbase}`);
        const { all } = await runMakepkg(copy, ['--config', conf, '--nodeps', '--noconfirm'], { home: work, extra: { LD_LIBRARY_PATH: `${sysroot}/usr/lib`, PACKAGER: 'Quarters Examples <examples@example.invalid>' } });
        logs.set(pkgbase, all);
        for (const file of readdirSync(pkgdest).filter((f) => !before.has(f))) {
          await execa('bsdtar', ['-xf', join(pkgdest, file), '-C', sysroot, '--exclude', '.PKGINFO', '--exclude', '.MTREE', '--exclude', '.BUILDINFO']);
        }
      }

      // quartz-tool's check() ran its freshly built program against libquartz from the sysroot.
      expect(logs.get('quartz-tool')).toMatch(/Starting check\(\)/);
      const built = readdirSync(pkgdest).sort();
      expect(built).toEqual([
        'libquartz-1.2.0-1-x86_64.pkg.tar.zst',
        'libquartz-docs-1.2.0-1-any.pkg.tar.zst',
        'quartz-meta-1-1-any.pkg.tar.zst',
        'quartz-tool-0.3.1-2-x86_64.pkg.tar.zst',
      ]);
      const info = Object.fromEntries(await Promise.all(built.map(async (f) => [f.replace(/-[^-]+-[^-]+-[^-]+\.pkg\.tar\.zst$/, ''), await pkginfo(join(pkgdest, f))] as const)));
      // makepkg turned the unversioned soname entries into versioned ones from the ELF files it packaged.
      expect(info['libquartz']?.get('provides')).toEqual(['libquartz.so=1-64']);
      expect(info['quartz-tool']?.get('depend')).toEqual(['libquartz.so=1-64']);
      expect(info['quartz-tool']?.get('makedepend')).toEqual(['libquartz>=1.2']);
      expect(info['quartz-meta']?.get('depend')).toEqual(['quartz-tool>=0.3', 'libquartz-docs']);
      expect(info['quartz-meta']?.get('arch')).toEqual(['any']);
      expect(info['libquartz-docs']?.get('depend')).toBeUndefined();
      expect(info['quartz-tool']?.get('packager')).toEqual(['Quarters Examples <examples@example.invalid>']);

      const { stdout } = await execa(join(sysroot, 'usr/bin/quartz'), ['quarters'], { env: { LD_LIBRARY_PATH: `${sysroot}/usr/lib` } });
      expect(stdout).toBe(`${fnv1a('quarters')}  quarters`);
    });
  });
});

/** FNV-1a of a string, the way libquartz computes it, as 8 hex digits. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

describe('AOSC examples', () => {
  it('parse without issues: libmica, and mica-count that builds and runs with it', async () => {
    const packages = await aoscExamples();
    expect(packages.map((p) => [p.pkgbase, p.version.text]).sort()).toEqual([
      ['libmica', '0.2.0'],
      ['mica-count', '1.0-1'],
    ]);
    const count = packages.find((p) => p.pkgbase === 'mica-count');
    expect(count?.buildDepends).toEqual([[{ name: 'libmica' }]]);
    expect(count?.binaries[0]?.depends).toEqual([[{ name: 'libmica', constraint: { op: '>=', version: '0.2' } }]]);
  });

  it('plan from libmica: libmica, then mica-count', async () => {
    const plan = planBuildSet({ flavour: 'autobuild', sources: await aoscExamples() }, { arch: 'amd64', origins: ['libmica'] });
    expect(checkPlan(plan)).toEqual([]);
    expect(plan.waves).toEqual([['libmica'], ['mica-count']]);
    expect(plan.unresolved).toEqual([]);
  });

  const skip = ['make', 'cc'].find((tool) => execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode !== 0);
  if (skip) process.stderr.write(`SKIPPED AOSC example sources with make: ${skip} is not installed\n`);

  // autobuild itself runs only on an AOSC OS base. This runs each package's autobuild/build as
  // autobuild's `self` template does (in SRCDIR, a copy of the package directory, installing into
  // PKGDIR, with the compiler flags exported), with autobuild's one function it calls, abinfo, as a
  // plain echo. PKGDIR is shared, so mica-count builds against the installed libmica, as it would
  // with the libmica package installed.
  it.skipIf(skip !== undefined)('autobuild/build scripts build in plan order, mica-count linked against the installed libmica', async () => {
    const plan = planBuildSet({ flavour: 'autobuild', sources: await aoscExamples() }, { arch: 'amd64', origins: ['libmica'] });
    const work = mkdtempSync(join(tmpdir(), 'quarters-aosc-examples-'));
    scratch.push(work);
    const destdir = join(work, 'root');
    const sections = new Map(readdirSync(AOSC).flatMap((section) => readdirSync(join(AOSC, section)).map((pkg) => [pkg, section] as const)));
    for (const pkg of plan.waves.flat()) {
      const srcdir = join(work, pkg);
      cpSync(join(AOSC, sections.get(pkg)!, pkg), srcdir, { recursive: true });
      const env = { SRCDIR: srcdir, PKGDIR: destdir, CPPFLAGS: `-I${destdir}/usr/include`, LDFLAGS: `-L${destdir}/usr/lib` };
      const result = await execa('bash', ['-euo', 'pipefail', '-c', 'abinfo() { printf "[INFO]: %s\\n" "$*"; }; source autobuild/build'], { cwd: srcdir, env, reject: false, all: true });
      expect(result.exitCode, result.all).toBe(0);
      expect(result.all).toContain(`[INFO]: Installing ${pkg} ...`);
    }
    const input = 'one two\n  three\n\n\tfour five';
    const { stdout } = await execa(join(destdir, 'usr/bin/mica-count'), { input, env: { LD_LIBRARY_PATH: `${destdir}/usr/lib` } });
    const wc = await execa('wc', ['-l', '-w', '-c'], { input });
    expect(stdout).toBe(wc.stdout.trim().split(/\s+/).join(' '));
  });
});

const DEBIAN = join(EXAMPLES, 'debian');

async function debianExamples(): Promise<SourcePackage[]> {
  const dirs = readdirSync(DEBIAN).sort();
  const bundles = await Promise.all(dirs.map((dir) => readBundle(join(DEBIAN, dir))));
  for (const b of bundles) expect(b.warnings, b.dir).toEqual([]);
  return bundles.map((b) => b.recipe);
}

describe('Debian examples', () => {
  it('parse without issues: the library (two binaries), the tool in 3.0 (quilt) with its orig tarball, the metapackage', async () => {
    const packages = await debianExamples();
    expect(packages.map((p) => [p.pkgbase, p.version.text, p.binaries.map((b) => b.name)])).toEqual([
      ['garnet-meta', '1.0', ['garnet-meta']],
      ['garnet-tool', '1.0-1', ['garnet-tool']],
      ['libgarnet', '1.2.0', ['libgarnet1', 'libgarnet-dev']],
    ]);
    expect(readFileSync(join(DEBIAN, 'garnet-tool/debian/source/format'), 'utf8')).toBe('3.0 (quilt)\n');
    expect(existsSync(join(DEBIAN, 'garnet-tool/garnet-tool_1.0.orig.tar.gz'))).toBe(true);
  });

  it('plan from libgarnet on amd64: three waves; restrictions and alternatives as apt reads them', async () => {
    const plan = planBuildSet({ flavour: 'debian', sources: await debianExamples() }, { arch: 'amd64', origins: ['libgarnet'] });
    expect(checkPlan(plan)).toEqual([]);
    expect(plan.waves).toEqual([['libgarnet'], ['garnet-tool'], ['garnet-meta']]);
    // debhelper-compat comes from the base OS; garnet-bootstrap-helper <stage1> and garnet-test-corpus [hurd-any] are not needed here.
    expect(plan.unresolved.map((u) => [u.pkgbase, u.clause])).toEqual([['garnet-meta', 'debhelper-compat (= 13)'], ['garnet-tool', 'debhelper-compat (= 13)'], ['libgarnet', 'debhelper-compat (= 13)']]);
    const staged = planBuildSet({ flavour: 'debian', sources: await debianExamples() }, { arch: 'amd64', origins: ['libgarnet'], profiles: ['stage1'] });
    expect(staged.unresolved.map((u) => [u.pkgbase, u.clause])).toContainEqual(['garnet-tool', 'garnet-bootstrap-helper']);
    // On the Hurd the [linux-any] alternative does not apply: garnet-tool needs nothing of libgarnet there.
    const hurd = planBuildSet({ flavour: 'debian', sources: await debianExamples() }, { arch: 'hurd-i386', origins: ['libgarnet'] });
    expect(hurd.waves).toEqual([['libgarnet']]);
  });
});
