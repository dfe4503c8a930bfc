/**
 * The built `quarters graph` command (dist/cli/main.js, built by `npm test`) on small hand-written
 * recipe trees and on the shared Arch dataset.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { BuildSetPlan } from '../../src/core/graph/plan.js';
import { checkPlan } from '../support/plan-checks.js';

const run = promisify(execFile);
const MAIN = resolve(process.cwd(), 'dist/cli/main.js');
const SHARED = resolve(process.cwd(), '../shared/datasets');
const ARCH_DATA = `${SHARED}/archlinux-srcinfo/srcinfo.tar.xz`;

/** Runs the CLI; resolves to its exit status and output, whatever the status. */
async function quarters(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { maxBuffer: 256 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'quarters-graph-cli-'));
function srcinfo(pkgbase: string, lines: string[], pkgnames: string[] = [pkgbase]): void {
  mkdirSync(join(dir, 'tree', pkgbase), { recursive: true });
  const text = [`pkgbase = ${pkgbase}`, '\tpkgver = 1.0', '\tpkgrel = 1', '\tarch = x86_64', ...lines.map((l) => `\t${l}`), '', ...pkgnames.flatMap((n) => [`pkgname = ${n}`, ''])];
  writeFileSync(join(dir, 'tree', pkgbase, '.SRCINFO'), text.join('\n'));
}
srcinfo('zlib', ['provides = libz.so=1-64']);
srcinfo('openssl', ['depends = zlib']);
srcinfo('curl', ['depends = libz.so=1-64', 'makedepends = openssl']);
srcinfo('cyc-a', ['makedepends = cyc-b', 'depends = zlib']);
srcinfo('cyc-b', ['makedepends = cyc-a']);
srcinfo('hello', []);
const TREE = `srcinfo:${join(dir, 'tree')}`;

describe('quarters graph (small trees)', () => {
  it('plans a build set and ends with the summary line', async () => {
    const { code, stdout } = await quarters('graph', 'plan', '--from', TREE, '--arch', 'x86_64', 'zlib');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toContain('wave 0 (1): zlib');
    expect(lines).toContain('wave 1 (3): cyc-a cyc-b openssl');
    expect(lines).toContain('wave 2 (1): curl');
    expect(lines).toContain('cycle 0 (2): build order cyc-a cyc-b');
    expect(lines).toContain('  closing edge: cyc-a -> cyc-b (build: cyc-b)');
    expect(lines.at(-1)).toBe('plan: packages=5 waves=3 cycles=1');
  });

  it('writes the plan as JSON', async () => {
    const { code, stdout } = await quarters('graph', 'plan', '--json', '--from', TREE, '--arch', 'x86_64', 'zlib');
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as BuildSetPlan;
    expect(plan.waves).toEqual([['zlib'], ['cyc-a', 'cyc-b', 'openssl'], ['curl']]);
    expect(checkPlan(plan)).toEqual([]);
  });

  it('lists the reverse closure of binaries', async () => {
    const { code, stdout } = await quarters('graph', 'rdeps', '--from', TREE, 'zlib');
    expect(code).toBe(0);
    expect(stdout).toBe('curl 1.0-1\ncyc-a 1.0-1\nopenssl 1.0-1\nzlib 1.0-1\nrdeps: 4\n');
    const json = JSON.parse((await quarters('graph', 'rdeps', '--json', '--from', TREE, 'zlib')).stdout) as { count: number; members: { name: string; via?: { name: string; dependency: string } }[] };
    expect(json.count).toBe(4);
    expect(json.members.find((m) => m.name === 'curl')!.via).toEqual({ name: 'zlib', dependency: 'libz.so (= 1-64)' });
  });

  it('answers bad input with one line and a non-zero status', async () => {
    const cases: [string[], number, RegExp][] = [
      [['graph', 'plan', '--from', TREE, '--arch', 'x86_64', 'nosuch'], 1, /^quarters: unknown source package: nosuch \(in .*tree\)\n$/],
      [['graph', 'rdeps', '--from', TREE, 'nosuch'], 1, /^quarters: unknown binary package: nosuch/],
      [['graph', 'plan', '--from', 'rpm:foo', '--arch', 'x86_64', 'zlib'], 2, /^quarters: bad --from "rpm:foo": expected debian:SOURCES/],
      [['graph', 'plan', '--from', TREE, 'zlib'], 2, /^quarters: graph plan: --arch ARCH is required\n$/],
      [['graph', 'plan', '--from', `srcinfo:${join(dir, 'missing')}`, '--arch', 'x86_64', 'zlib'], 1, /^quarters: .*missing: cannot open: ENOENT\n$/],
      [['graph', 'rdeps', '--from', TREE, '--bogus', 'zlib'], 2, /^quarters: graph rdeps: unknown option '--bogus'/],
      [['graph', 'frobnicate'], 2, /^quarters: graph: unknown command 'frobnicate'/],
    ];
    for (const [args, status, message] of cases) {
      const { code, stdout, stderr } = await quarters(...args);
      expect({ args, code }).toEqual({ args, code: status });
      expect(stderr).toMatch(message);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stdout).toBe('');
    }
  });

  it('names the file and line of a recipe problem, and uses the rest with --keep-going', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(join(bad, 'zlib'), { recursive: true });
    mkdirSync(join(bad, 'broken'), { recursive: true });
    writeFileSync(join(bad, 'zlib', '.SRCINFO'), 'pkgbase = zlib\n\tpkgver = 1\n\tpkgrel = 1\n\tarch = x86_64\n\npkgname = zlib\n');
    writeFileSync(join(bad, 'broken', '.SRCINFO'), 'pkgbase = broken\n\tpkgver = 1\n\tpkgrel = 1\n\tarch = x86_64\n\tdepends = zlib>=\n\npkgname = broken\n');
    const strict = await quarters('graph', 'plan', '--from', `srcinfo:${bad}`, '--arch', 'x86_64', 'zlib');
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^quarters: broken\/\.SRCINFO:5: .*--keep-going/);
    const lenient = await quarters('graph', 'plan', '--keep-going', '--from', `srcinfo:${bad}`, '--arch', 'x86_64', 'zlib');
    expect(lenient.code).toBe(0);
    expect(lenient.stderr).toMatch(/^quarters: warning: broken\/\.SRCINFO:5: /);
    expect(lenient.stdout.trimEnd().split('\n').at(-1)).toBe('plan: packages=2 waves=2 cycles=0');
  });
});

describe('quarters graph on Debian indices', () => {
  const packages = [
    'Package: zlib1g\nSource: zlib\nVersion: 1:1.3-1\nArchitecture: amd64\nMulti-Arch: same\n',
    'Package: zlib1g-dev\nSource: zlib\nVersion: 1:1.3-1\nArchitecture: amd64\nDepends: zlib1g (= 1:1.3-1)\n',
    'Package: libpng16-16\nSource: libpng1.6\nVersion: 1.6.39-2\nArchitecture: amd64\nDepends: zlib1g (>= 1:1.2.3)\n',
    'Package: old-user\nVersion: 1\nArchitecture: amd64\nDepends: zlib1g (>= 2:0)\n',
    'Package: png-tool\nVersion: 1\nArchitecture: all\nDepends: libpng16-16 | libpng-legacy\n',
  ].join('\n');
  const sources = [
    'Package: zlib\nBinary: zlib1g, zlib1g-dev\nVersion: 1:1.3-1\nArchitecture: any\nBuild-Depends: debhelper-compat (= 13)\n',
    'Package: libpng1.6\nBinary: libpng16-16\nVersion: 1.6.39-2\nArchitecture: any\nBuild-Depends: zlib1g-dev [!hurd-i386], libhurd-dev [hurd-any]\n',
    'Package: png-tool\nBinary: png-tool\nVersion: 1\nArchitecture: all\nBuild-Depends-Indep: libpng-dev <!nodoc>\n',
  ].join('\n');
  writeFileSync(join(dir, 'Packages'), packages);
  writeFileSync(join(dir, 'Sources'), sources);
  execFileSync('gzip', ['-k', join(dir, 'Packages')]);
  execFileSync('zstd', ['-q', join(dir, 'Sources')]);

  it('reads plain and compressed indices for rdeps and plan', async () => {
    const rdeps = await quarters('graph', 'rdeps', '--from', `debian:,${join(dir, 'Packages.gz')}`, 'zlib1g');
    expect(rdeps.stdout).toBe('libpng16-16 1.6.39-2\npng-tool 1\nzlib1g 1:1.3-1\nzlib1g-dev 1:1.3-1\nrdeps: 4\n');
    const plan = await quarters('graph', 'plan', '--json', '--from', `debian:${join(dir, 'Sources.zst')},${join(dir, 'Packages')}`, '--arch', 'amd64', 'zlib');
    expect(plan.code).toBe(0);
    const result = JSON.parse(plan.stdout) as BuildSetPlan;
    expect(result.waves).toEqual([['zlib'], ['libpng1.6'], ['png-tool']]);
    expect(result.unresolved).toEqual([
      { pkgbase: 'png-tool', kind: 'build-indep', clause: 'libpng-dev' },
      { pkgbase: 'zlib', kind: 'build', clause: 'debhelper-compat (= 13)' },
    ]);
    expect(checkPlan(result)).toEqual([]);
  });

  it('names the file and line of a bad stanza', async () => {
    writeFileSync(join(dir, 'Packages.bad'), `${packages}\nPackage: broken\nVersion: 1\nArchitecture: amd64\nDepends: zlib1g (>= )\n`);
    const { code, stderr } = await quarters('graph', 'rdeps', '--from', `debian:,${join(dir, 'Packages.bad')}`, 'zlib1g');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^quarters: .*Packages\.bad:32: Depends: missing version/);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('names the file and line of a bad stanza as a warning with --keep-going, and uses the rest', async () => {
    const { code, stdout, stderr } = await quarters('graph', 'rdeps', '--keep-going', '--from', `debian:,${join(dir, 'Packages.bad')}`, 'zlib1g');
    expect(code).toBe(0);
    expect(stderr).toMatch(/^quarters: warning: .*Packages\.bad:32: Depends: missing version/);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('rdeps: 4');
  });

  it('reads other than ASCII as UTF-8, in the fields it reads and in the problems it quotes', async () => {
    writeFileSync(join(dir, 'Packages.utf8'), 'Package: zlib1g\nVersion: 1.0é\nArchitecture: amd64\nMaintainer: Zoë\n\nPackage: user\nVersion: 1\nArchitecture: amd64\nDepends: zlib1g\n');
    expect((await quarters('graph', 'rdeps', '--from', `debian:,${join(dir, 'Packages.utf8')}`, 'zlib1g')).stdout).toBe('user 1\nzlib1g 1.0é\nrdeps: 2\n');
    writeFileSync(join(dir, 'Packages.quoted'), 'Package: zlib1g\nVersion: 1\nArchitecture: amd64\nDépendances sans deux-points\n');
    const { code, stderr } = await quarters('graph', 'rdeps', '--from', `debian:,${join(dir, 'Packages.quoted')}`, 'zlib1g');
    expect([code, stderr]).toEqual([1, `quarters: ${join(dir, 'Packages.quoted')}:4: expected "Field: value", found "Dépendances sans deux-points" (--keep-going uses what parses)\n`]);
  });

  it('follows provides with versions, :any by Multi-Arch, alternatives and Pre-Depends, on the architecture only', async () => {
    const stanza = (name: string, fields: string, arch = 'amd64') => `Package: ${name}\nVersion: 1\nArchitecture: ${arch}\n${fields}`;
    writeFileSync(
      join(dir, 'Packages.relations'),
      [
        'Package: libz1\nVersion: 1:1.3-1\nArchitecture: amd64\nMulti-Arch: same\nProvides: libz (= 1:1.3-1), zlib-virtual\n',
        stanza('uses-libz-versioned', 'Depends: libc6, libz (>= 1:1.0)\n'),
        stanza('uses-libz-too-new', 'Depends: libz (>= 2:0)\n'),
        stanza('uses-virtual-versioned', 'Depends: zlib-virtual (>= 1)\n'),
        stanza('uses-virtual', 'Depends: zlib-virtual\n'),
        stanza('any-same', 'Depends: libz1:any\n'),
        'Package: tool\nVersion: 2\nArchitecture: all\nMulti-Arch: foreign\nPre-Depends: libz1\n',
        stanza('uses-tool-any', 'Depends: tool:any (>= 2)\n'),
        stanza('alternative', 'Depends: missing-thing | uses-virtual\n'),
        stanza('i386-thing', 'Depends: libz1\n', 'i386'),
        stanza('restricted', 'Depends: libz1 [i386]\n'),
        stanza('arm64-qualified', 'Depends: libz1:arm64\n'),
      ].join('\n'),
    );
    const from = `debian:,${join(dir, 'Packages.relations')}`;
    const expected = 'alternative 1\nlibz1 1:1.3-1\ntool 2\nuses-libz-versioned 1\nuses-tool-any 1\nuses-virtual 1\nrdeps: 6\n';
    expect((await quarters('graph', 'rdeps', '--from', from, 'libz1')).stdout).toBe(expected);
    // A virtual name starts from its providers.
    expect((await quarters('graph', 'rdeps', '--from', from, 'zlib-virtual')).stdout).toBe(expected);
    const json = JSON.parse((await quarters('graph', 'rdeps', '--json', '--from', from, 'libz1')).stdout) as { arch: string; members: { name: string; via?: { name: string; dependency: string } }[] };
    expect(json.arch).toBe('amd64');
    const via = Object.fromEntries(json.members.map((m) => [m.name, m.via]));
    expect(via).toEqual({
      alternative: { name: 'uses-virtual', dependency: 'uses-virtual' },
      libz1: undefined,
      tool: { name: 'libz1', dependency: 'libz1' },
      'uses-libz-versioned': { name: 'libz1', dependency: 'libz (>= 1:1.0)' },
      'uses-tool-any': { name: 'tool', dependency: 'tool:any (>= 2)' },
      'uses-virtual': { name: 'libz1', dependency: 'zlib-virtual' },
    });
    // On i386 only tool (Architecture: all) and i386-thing are there, and libz1, which i386-thing needs, is not.
    expect((await quarters('graph', 'rdeps', '--arch', 'i386', '--from', from, 'tool')).stdout).toBe('tool 2\nrdeps: 1\n');
    const i386 = await quarters('graph', 'rdeps', '--arch', 'i386', '--from', from, 'libz1');
    expect([i386.code, i386.stderr]).toEqual([1, `quarters: unknown binary package: libz1 (in ${join(dir, 'Packages.relations')}, i386)\n`]);
  });

  it('finds the closure of zlib1g in bookworm that dose-ceve finds', async () => {
    const { code, stdout } = await quarters('graph', 'rdeps', '--from', `debian:,${SHARED}/debian-bookworm/Packages.xz`, 'zlib1g');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.pop()).toBe('rdeps: 39945');
    // The sha256 of dose-ceve's sorted "Package Version" lines (see test/graph/datasets.test.ts).
    const sorted = lines.map((line) => `${line}\n`).sort();
    expect(createHash('sha256').update(sorted.join('')).digest('hex')).toBe('c0459b4792bfa9c50cd814bdc40ef3d4c174b92b26a368a9db3c9c73626ee44e');
  });
});

describe('quarters graph on the Arch dataset', () => {
  it('plans libpng-apng (provides libpng): a sound plan, printed and counted', async () => {
    const { code, stdout } = await quarters('graph', 'plan', '--json', '--keep-going', '--from', `srcinfo:${ARCH_DATA}`, '--arch', 'x86_64', 'libpng-apng');
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as BuildSetPlan;
    console.log(`Arch plan libpng-apng: packages=${plan.packages.length} waves=${plan.waves.length} cycles=${plan.cycles.length} unresolved=${plan.unresolved.length}`);
    expect(checkPlan(plan)).toEqual([]);
    expect(plan.packages.length).toBeGreaterThan(100);
    expect(plan.cycles.length).toBeGreaterThan(0);
    // Every member reaches the origin through libpng or through a package that does.
    const libpngUsers = plan.packages.filter((p) => p.because?.to === 'libpng-apng');
    expect(libpngUsers.length).toBeGreaterThan(0);
    const text = await quarters('graph', 'plan', '--keep-going', '--from', `srcinfo:${ARCH_DATA}`, '--arch', 'x86_64', 'libpng-apng');
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe(`plan: packages=${plan.packages.length} waves=${plan.waves.length} cycles=${plan.cycles.length}`);
  });
});
