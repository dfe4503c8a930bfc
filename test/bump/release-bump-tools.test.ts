/**
 * Each flavour's bump checked with the distribution's own tools: makepkg --printsrcinfo of the bumped
 * PKGBUILD is the .SRCINFO we wrote; dpkg-parsechangelog reads the new changelog entry and
 * dpkg --compare-versions puts it above the old one; our abbs parser reads every bumped spec of AOSC
 * OS's tree (../shared/datasets/aosc-abbs) with the next release.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { bumpRecipe } from '../../src/core/bump/release-bump.js';
import { readTree } from '../../src/cli/input.js';
import { isAbbsRecipePath, parseAbbsPackage } from '../../src/core/recipe/abbs.js';
import { compareDebianVersions } from '../../src/core/version/dpkg.js';
import { makepkgSkipReason, printSrcinfo } from '../support/makepkg.js';
import { reportSkip } from '../support/capabilities.js';

const EXAMPLES = resolve(import.meta.dirname, '../../examples');
const AOSC_TREE = resolve(process.cwd(), '../shared/datasets/aosc-abbs/abbs-metadata.tar.xz');
const at = new Date(Date.UTC(2024, 4, 1, 12, 0, 0));
const entry = { reason: 'rebuild against libquartz 2', maintainer: 'Jane Packager <jane@example.org>', at };
const work = mkdtempSync(join(tmpdir(), 'quarters-bump-tools-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const have = async (tool: string) => (await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode === 0;
const makepkgSkip = makepkgSkipReason();
const dpkgSkip = (await have('dpkg-parsechangelog')) && (await have('dpkg')) ? null : 'dpkg-dev is not installed (dpkg-parsechangelog)';

describe.skipIf(reportSkip(makepkgSkip, 'bump against makepkg --printsrcinfo'))('Arch: pkgrel and .SRCINFO', () => {
  for (const name of readdirSync(join(EXAMPLES, 'arch'))) {
    it(`${name}: our .SRCINFO is makepkg's for the bumped PKGBUILD`, async () => {
      const source = join(EXAMPLES, 'arch', name);
      const before = await printSrcinfo(source);
      const bumped = bumpRecipe('pkgbuild', new Map([['PKGBUILD', readFileSync(join(source, 'PKGBUILD'), 'utf8')], ['.SRCINFO', before]]), entry);
      const copy = join(work, `arch-${name}`);
      cpSync(source, copy, { recursive: true });
      writeFileSync(join(copy, 'PKGBUILD'), bumped.files.find((f) => f.path === 'PKGBUILD')!.content);
      expect(bumped.files.find((f) => f.path === '.SRCINFO')!.content).toBe(await printSrcinfo(copy));
      expect(Number(bumped.to)).toBe(Number(bumped.from) + 1);
    }, 60_000);
  }
});

describe.skipIf(reportSkip(dpkgSkip, 'bump against dpkg-parsechangelog'))('Debian: the changelog entry', () => {
  for (const name of readdirSync(join(EXAMPLES, 'debian')).filter((n) => !n.endsWith('.md'))) {
    it(`${name}: dpkg-parsechangelog reads the new entry, dpkg orders it above the old one`, async () => {
      const old = readFileSync(join(EXAMPLES, 'debian', name, 'debian/changelog'), 'utf8');
      const bumped = bumpRecipe('debian', new Map([['debian/changelog', old]]), entry);
      const file = join(work, `${name}.changelog`);
      writeFileSync(file, bumped.files[0]!.content);
      const parsed = await execa('dpkg-parsechangelog', ['-l', file]);
      expect(parsed.stderr).toBe('');
      const fields = Object.fromEntries(parsed.stdout.split('\n').filter((l) => /^[A-Z][A-Za-z-]*: /.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      const first = old.split('\n')[0]!;
      expect(fields).toMatchObject({
        Source: first.split(' ')[0], Version: bumped.to, Distribution: /\) ([^;]+);/.exec(first)![1], Urgency: 'medium',
        Maintainer: entry.maintainer, Date: 'Wed, 01 May 2024 12:00:00 +0000',
      });
      expect(parsed.stdout).toContain(`  * No-change rebuild: ${entry.reason}`);
      // The whole file still parses (the old entries after the new one).
      expect((await execa('dpkg-parsechangelog', ['-l', file, '--all'])).stderr).toBe('');
      expect((await execa('dpkg', ['--compare-versions', bumped.to, 'gt', bumped.from], { reject: false })).exitCode).toBe(0);
    });
  }
});

describe('AOSC: REL in spec', () => {
  it('every package of the abbs tree: the parser reads the bumped spec with the next release, and dpkg orders it higher', async () => {
    const files = await readTree(AOSC_TREE, isAbbsRecipePath);
    const dirs = new Map<string, { path: string; text: string }[]>();
    for (const f of files) {
      const dir = f.path.endsWith('/spec') ? f.path.slice(0, -'/spec'.length) : f.path.replace(/\/[^/]+\/defines$/, '');
      dirs.set(dir, [...(dirs.get(dir) ?? []), f]);
    }
    const pairs: [string, string][] = [];
    let refused = 0;
    for (const [dir, group] of dirs) {
      const spec = group.find((f) => f.path === `${dir}/spec`);
      if (!spec || group.length < 2) continue;
      const before = parseAbbsPackage(dir, group).value;
      if (!before) continue;
      let bumped;
      try {
        bumped = bumpRecipe('autobuild', new Map([['spec', spec.text]]), entry);
      } catch {
        refused += 1;
        continue;
      }
      const after = parseAbbsPackage(dir, group.map((f) => (f === spec ? { path: f.path, text: bumped.files[0]!.content } : f))).value!;
      expect(after.version.text, dir).not.toBe(before.version.text);
      expect(compareDebianVersions(after.version.text, before.version.text), dir).toBeGreaterThan(0);
      expect(after.version.text.endsWith(`-${bumped.to}`), dir).toBe(true);
      pairs.push([before.version.text, after.version.text]);
    }
    console.log(`abbs tree: ${pairs.length} specs bumped, ${refused} refused (REL not a plain assignment)`);
    expect(pairs.length).toBeGreaterThan(5000);
    if (dpkgSkip) return;
    // dpkg itself on every 25th pair (one shell, not thousands of test processes).
    const sample = pairs.filter((_, i) => i % 25 === 0);
    const script = sample.map(([a, b]) => `dpkg --compare-versions '${a}' lt '${b}' || echo "not lower: ${a} ${b}"`).join('\n');
    const result = await execa('sh', ['-c', script]);
    expect(result.stdout).toBe('');
  }, 120_000);
});
