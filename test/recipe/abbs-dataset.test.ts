/**
 * The abbs parser on AOSC OS's real tree (../shared/datasets/aosc-abbs: every `spec` and
 * `autobuild/defines` of aosc-os-abbs at commit 2539609), and the shell reader checked against
 * bash itself on the same files.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readTree } from '../../src/cli/input.js';
import { definesScope, isAbbsRecipePath, parseAbbsTree } from '../../src/core/recipe/abbs.js';
import { readShellVariables } from '../../src/core/recipe/abbs-shell.js';
import { formatParseIssue, type ParseIssue, type SourcePackage, type TextFile } from '../../src/core/recipe/model.js';

const TILDE = '/tilde-expanded';
const ARCHIVE = resolve(process.cwd(), '../shared/datasets/aosc-abbs/abbs-metadata.tar.xz');

let files: TextFile[];
let packages: SourcePackage[];
let issues: ParseIssue[];

beforeAll(async () => {
  files = await readTree(ARCHIVE, isAbbsRecipePath);
  ({ packages, issues } = parseAbbsTree(files));
});

function pkg(dir: string): SourcePackage {
  const found = packages.find((p) => p.location.file === `${dir}/spec`);
  if (!found) throw new Error(`${dir} was not parsed`);
  return found;
}

function textOf(path: string): string {
  return files.find((f) => f.path === path)!.text;
}

describe('the AOSC abbs tree', () => {
  it('parses every package directory that has its defines', () => {
    // 10,888 files: 5,464 named spec, 5,424 autobuild/defines. Two of the specs are data files inside
    // packages (app-admin/dpkg/02-dpkg/overrides/etc/dpkg/spec, core-devel/gcc/02-compiler/overrides/.../spec),
    // so there are 5,462 package directories, 5,424 of them with autobuild/defines.
    expect(files).toHaveLength(10_888);
    expect(packages).toHaveLength(5_424);
    console.log(`abbs tree: ${packages.length} packages, ${issues.length} issues`);
  });

  it('reports each remaining issue, and each is a real property of the tree', () => {
    const kinds = new Map<string, ParseIssue[]>();
    const classify = (issue: ParseIssue): string => {
      const m = issue.message;
      if (m.startsWith('missing: the package has neither')) return 'group-defines-not-in-dataset';
      if (/^FAIL_ARCH "[^"]*" matches no architecture/.test(m)) return 'fail-arch-matches-nothing';
      if (/^[A-Z0-9_]+: refers to \$[A-Za-z0-9_]+, which is not set/.test(m)) return 'unset-reference';
      if (m.startsWith('BUILDDEP: the "if" block here is not evaluated')) return 'conditional';
      if (m.startsWith('the command "alias" is not run')) return 'command';
      if (/^SRCS lists \d+ sources? but CHKSUMS/.test(m)) return 'checksums';
      return 'unexpected';
    };
    for (const issue of issues) {
      const kind = classify(issue);
      kinds.set(kind, [...(kinds.get(kind) ?? []), issue]);
    }
    expect(kinds.get('unexpected')?.map(formatParseIssue) ?? []).toEqual([]);

    // 38 packages are package groups (e.g. app-admin/dpkg, core-devel/gcc): their defines live in
    // NN-name/defines, which the dataset did not keep (it has only spec and autobuild/defines).
    const groups = kinds.get('group-defines-not-in-dataset')!;
    expect(groups).toHaveLength(38);
    expect(groups.map((i) => i.file)).toContain('app-admin/dpkg/autobuild/defines');
    expect(groups.map((i) => i.file)).toContain('core-devel/gcc/autobuild/defines');
    for (const i of groups) expect(files.some((f) => f.path === i.file)).toBe(false);

    // FAIL_ARCH is matched as a bash pattern ([[ $ABHOST != $FAIL_ARCH ]]); "(a|b)" and "a|b" are not
    // extglob, so they match no architecture and autobuild builds everywhere: a real mistake in the tree.
    const failArch = kinds.get('fail-arch-matches-nothing')!;
    expect(failArch).toHaveLength(20);
    for (const i of failArch) {
      const value = /"([^"]*)"/.exec(i.message)![1]!;
      expect(value).not.toMatch(/^[!@?*+]\(/);
      expect(textOf(i.file).split('\n')[i.line - 1]).toBe(`FAIL_ARCH="${value}"`);
    }

    // Typos in variable names, e.g. BUILDDEP__LOONGSON3="${BUIDDEP__NOJAVA}" in app-scientific/r:
    // the referenced variable is never set, so bash (and this parser) reads an empty list.
    const unset = kinds.get('unset-reference')!;
    expect(unset.map((i) => /\$([A-Za-z0-9_]+)/.exec(i.message)![1]).sort()).toEqual([
      ...Array(3).fill('BUIDDEP__NOJAVA'),
      ...Array(4).fill('BUIDLDEP__RETRO'),
      ...Array(8).fill('BUILDDEP_RETRO'),
      'PKGRECOM_POWERPC',
    ]);
    for (const i of unset) {
      const name = /\$([A-Za-z0-9_]+)/.exec(i.message)![1]!;
      expect(textOf(i.file)).not.toMatch(new RegExp(`^\\s*${name}\\+?=`, 'm'));
    }

    // app-utils/pinentry adds qt-5 to BUILDDEP inside `if [[ "${CROSS:-$ARCH}" != "riscv64" ]]`.
    expect(kinds.get('conditional')!.map(formatParseIssue)).toEqual([
      'app-utils/pinentry/autobuild/defines:15: BUILDDEP: the "if" block here is not evaluated (quarters reads assignments, not shell logic)',
    ]);
    // app-database/ldb: `alias BUILD_FINAL='doxygen Doxyfile'` is a command, not an assignment.
    expect(kinds.get('command')!.map(formatParseIssue)).toEqual([
      'app-database/ldb/autobuild/defines:18: the command "alias" is not run (quarters reads assignments only): skipped',
    ]);
    // app-utils/cpuburn-arm has a git source and CHKSUMS="" (it needs SKIP).
    expect(kinds.get('checksums')!.map(formatParseIssue)).toEqual([
      'app-utils/cpuburn-arm/spec:2: SRCS lists 1 source but CHKSUMS has 0 checksums: ACBS refuses to fetch them (use SKIP for version-control sources)',
    ]);
    expect(issues).toHaveLength(38 + 20 + 16 + 1 + 1 + 1);
  });

  it('reads core-libs/zlib as its files say', () => {
    // spec: VER=1.3.1 REL=3; defines: PKGNAME=zlib PKGDEP=glibc PKGSEC=libs, PKGPROV="zlib1g_spiral zlib1g-dev_spiral", PKGEPOCH_SPIRAL=1
    const zlib = pkg('core-libs/zlib');
    expect(zlib.pkgbase).toBe('zlib');
    expect(zlib.version).toEqual({ epoch: 0, upstream: '1.3.1', release: '3', text: '1.3.1-3' });
    expect(zlib.architectures).toEqual(['any']);
    expect(zlib.extra).toMatchObject({ section: 'libs', srcs: 'http://zlib.net/zlib-1.3.1.tar.xz', description: 'A Massively Spiffy Yet Delicately Unobtrusive Compression Library' });
    expect(zlib.binaries).toHaveLength(1);
    const [bin] = zlib.binaries;
    expect(bin!.name).toBe('zlib');
    expect(bin!.depends).toEqual([[{ name: 'glibc' }]]);
    expect(bin!.provides).toEqual([
      { name: 'zlib1g', version: '1:1.3.1-3' },
      { name: 'zlib1g-dev', version: '1:1.3.1-3' },
    ]);
    expect(zlib.buildDepends).toEqual([]);
  });

  it('reads architecture overrides, groups, epochs, operators and noarch from real packages', () => {
    // runtime-common/glib: PKGDEP, PKGDEP__RETRO="pcre libffi" and PKGDEP__<ARCH>="${PKGDEP__RETRO}" for
    // seven of the eleven retro architectures; the other four (alpha, armv5te, ia64, m68k) take the group's.
    const glib = pkg('runtime-common/glib');
    const retro = ['alpha', 'armv4', 'armv5te', 'armv6hf', 'armv7hf', 'i486', 'ia64', 'loongson2f', 'm68k', 'powerpc', 'ppc64'];
    const depends = glib.binaries[0]!.depends.flat();
    expect(depends.filter((d) => d.name === 'cryptsetup')).toEqual([{ name: 'cryptsetup', arches: { negated: true, arches: retro } }]);
    expect(depends.filter((d) => d.name === 'libffi').map((d) => d.arches)).toEqual([
      { negated: true, arches: retro },
      { negated: false, arches: ['alpha', 'armv5te', 'ia64', 'm68k'] },
      ...['armv4', 'armv6hf', 'armv7hf', 'i486', 'loongson2f', 'powerpc', 'ppc64'].map((a) => ({ negated: false, arches: [a] })),
    ]);
    // BUILDDEP__ARMV4="${BUILDDEP_RETRO}" (a typo, so empty): no python-3 on armv4, armv6hf, powerpc, ppc64.
    expect(glib.buildDepends.flat().filter((d) => d.name === 'python-3').map((d) => d.arches)).toEqual([
      { negated: true, arches: retro },
      { negated: false, arches: ['alpha', 'armv5te', 'ia64', 'm68k'] },
      ...['armv7hf', 'i486', 'loongson2f'].map((a) => ({ negated: false, arches: [a] })),
    ]);

    // app-admin/stk (runtime-multimedia/stk): PKGBREAK="lmms<=2:1.2.2+git20220308-1"
    const stk = pkg('runtime-multimedia/stk');
    expect(stk.binaries[0]!.breaks).toEqual([[{ name: 'lmms', constraint: { op: '<=', version: '2:1.2.2+git20220308-1' } }]]);

    // runtime-multimedia/ladish: PKGPROV="lash==0.7"
    expect(pkg('runtime-multimedia/ladish').binaries[0]!.provides).toEqual([{ name: 'lash', version: '0.7' }]);

    // A noarch package builds one architecture-independent binary.
    const noarch = packages.find((p) => p.extra?.abhost === 'noarch')!;
    expect(noarch.architectures).toEqual(['all']);

    // runtime-scientific/intel-compute-runtime: FAIL_ARCH="!(amd64)"
    expect(pkg('runtime-scientific/intel-compute-runtime').architectures).toEqual(['amd64']);

    // app-database/ldb: spec VER=2.6.1 REL=2, defines PKGEPOCH=2.
    expect(pkg('app-database/ldb').version).toEqual({ epoch: 2, upstream: '2.6.1', release: '2', text: '2:2.6.1-2' });

    // runtime-display/mesa-amber builds the binary "mesa" from the directory mesa-amber.
    const amber = pkg('runtime-display/mesa-amber');
    expect(amber.pkgbase).toBe('mesa-amber');
    expect(amber.binaries.map((b) => b.name)).toEqual(['mesa']);

    // runtime-kernel/linux-kernel: spec VER=6.10.14, __VER="${VER}", REL=1 (after commented-out REL=0.${RC});
    // defines PKGNAME=linux-kernel-${__VER}, PKGEPOCH=1.
    const kernel = pkg('runtime-kernel/linux-kernel');
    expect(kernel.version.text).toBe('1:6.10.14-1');
    expect(kernel.binaries[0]!.name).toBe('linux-kernel-6.10.14');
  });
});

describe('damaged recipes', () => {
  it('never throw: every problem is an issue inside the file it names', () => {
    // A seeded generator, so that a failure can be replayed.
    let seed = 20241024;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const SHELL = `"'$(){}[]\\\`#;|&<>!*?=+:~/-_ \n\t`;
    const damage = (text: string): string => {
      const at = random(text.length + 1);
      switch (random(4)) {
        case 0:
          return text.slice(0, at);
        case 1:
          return text.slice(0, at) + SHELL[random(SHELL.length)] + text.slice(at);
        case 2:
          return text.slice(0, at) + text.slice(at + 1 + random(8));
        default:
          return text.slice(0, at) + '${' + text.slice(at);
      }
    };
    const dirs = packages.map((p) => p.location.file.slice(0, -'/spec'.length));
    let runs = 0;
    for (let i = 0; i < 400; i++) {
      const dir = dirs[random(dirs.length)]!;
      const own = files.filter((f) => f.path.startsWith(`${dir}/`)).map((f) => ({ ...f }));
      for (let round = 0; round < 3; round++) {
        const victim = own[random(own.length)]!;
        victim.text = damage(victim.text);
      }
      const { issues: found } = parseAbbsTree(own);
      for (const issue of found) {
        const file = own.find((f) => f.path === issue.file);
        const lines = file ? file.text.split('\n').length : 0;
        expect(issue.line, formatParseIssue(issue)).toBeGreaterThanOrEqual(0);
        expect(issue.line, formatParseIssue(issue)).toBeLessThanOrEqual(lines);
      }
      runs += 1;
    }
    expect(runs).toBe(400);
  });
});

describe('the shell reader against bash on the AOSC tree', () => {
  it('computes every variable it has no problem with exactly as bash does', () => {
    const specs = new Map(files.filter((f) => f.path.endsWith('/spec')).map((f) => [f.path.slice(0, -'/spec'.length), f]));
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const expected = new Map<string, Map<string, string>>();
    let script = '__p() { local -n __r=$1; printf "%s\\0%s\\0" "$1" "${__r[*]}"; }\n';
    for (const defines of files.filter((f) => f.path.endsWith('/autobuild/defines'))) {
      const dir = defines.path.slice(0, -'/autobuild/defines'.length);
      const spec = specs.get(dir)!;
      const specVars = readShellVariables(spec.text, spec.path).variables;
      const vars = readShellVariables(defines.text, defines.path, definesScope(specVars, spec.path)).variables;
      const comparable = new Map<string, string>();
      for (const [name, v] of vars) if (v.problems.length === 0 && !name.startsWith('__')) comparable.set(name, v.value);
      expected.set(dir, comparable);
      // As ACBS feeds autobuild: spec, then PKGVER/PKGREL, then defines, in a clean environment.
      script += `(printf '@@%s\\0' ${quote(dir)}; eval ${quote(spec.text)}; PKGVER="$VER"; PKGREL="\${REL:-0}"; eval ${quote(defines.text)}`;
      script += `; for __n in ${[...comparable.keys()].join(' ')}; do __p "$__n"; done)\n`;
    }
    const cwd = mkdtempSync(join(tmpdir(), 'quarters-abbs-bash-'));
    // Some defines run commands that fail without PATH (their variables are excluded above): the exit status does not matter.
    const run = spawnSync('bash', ['-r'], { input: script, cwd, env: { HOME: TILDE }, maxBuffer: 256 << 20, stdio: ['pipe', 'pipe', 'ignore'] });
    expect(run.error).toBeUndefined();
    const out = run.stdout.toString('utf8');
    const fields = out.split('\0');
    const mismatches: string[] = [];
    const tildes: string[] = [];
    let compared = 0;
    let dir = '';
    for (let i = 0; i < fields.length - 1; ) {
      if (fields[i]!.startsWith('@@')) {
        dir = fields[i]!.slice(2);
        i += 1;
        continue;
      }
      const name = fields[i]!;
      const value = fields[i + 1]!;
      i += 2;
      const mine = expected.get(dir)!.get(name);
      compared += 1;
      // bash tilde-expands the replacement of ${V/p/~}; ACBS, which sets the version autobuild uses, does not: VER=${UPSTREAM_VER/-/~} is 1.5.3~rc1.
      if (mine !== undefined && mine.includes('~') && value === mine.replaceAll('~', TILDE)) {
        tildes.push(`${dir}: ${name}`);
        continue;
      }
      if (mine !== value) mismatches.push(`${dir}: ${name}: bash ${JSON.stringify(value)}, reader ${JSON.stringify(mine)}`);
    }
    console.log(`shell reader vs bash: ${compared} variables compared, ${mismatches.length} differ`);
    expect(compared).toBeGreaterThan(50_000);
    expect(tildes).toEqual(['app-emulation/latx: VER', 'app-emulation/latx: PKGVER', 'desktop-fonts/wqy-microhei: VER', 'desktop-fonts/wqy-microhei: PKGVER']);
    expect(mismatches.slice(0, 20)).toEqual([]);
  }, 300_000);
});
