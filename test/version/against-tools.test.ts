/**
 * Our version orderings against the real tools on this machine: pacman's `vercmp` and
 * `dpkg --compare-versions`, on a few thousand seeded pairs of realistic versions. Each tool runs
 * in one shell loop over a file of pairs, so the suite stays a few seconds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInputText, readTree } from '../../src/cli/input.js';
import { comparePacmanVersions } from '../../src/core/version/pacman.js';
import { compareDebianVersions } from '../../src/core/version/dpkg.js';
import { compareVersions, InvalidVersionError, tryParseVersion } from '../../src/core/version/index.js';
import fc from 'fast-check';
import { versionPairs } from './version-pairs.js';

const SHARED = resolve(process.cwd(), '../shared/datasets');
const PAIRS = 2500;
// dpkg answers one relation per run, so a pair costs it up to two runs: fewer pairs keep the time alike.
const DPKG_PAIRS = 2000;

async function hasCommand(command: string): Promise<boolean> {
  const result = await execa('sh', ['-c', `command -v ${command}`], { reject: false });
  return result.exitCode === 0;
}
const haveVercmp = await hasCommand('vercmp');
const haveDpkg = await hasCommand('dpkg');
if (!haveVercmp) console.warn('skipping the vercmp comparison: vercmp (Debian package pacman-package-manager) is not installed');
if (!haveDpkg) console.warn('skipping the dpkg comparison: dpkg is not installed');

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'quarters-versions-'));
});
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/**
 * Runs `script` (a loop reading "a b" lines from $1) over the pairs, in two shards at once;
 * answers one output line per pair.
 */
async function runOverPairs(name: string, pairs: [string, string][], script: string): Promise<string[]> {
  const half = Math.ceil(pairs.length / 2);
  const shards = [pairs.slice(0, half), pairs.slice(half)].map(async (shard, n) => {
    const file = join(workDir, `${name}-${n}.pairs`);
    writeFileSync(file, shard.map(([a, b]) => `${a} ${b}\n`).join(''));
    const { stdout } = await execa('sh', ['-c', script, 'sh', file], { stripFinalNewline: true });
    return stdout.split('\n');
  });
  const lines = (await Promise.all(shards)).flat();
  expect(lines).toHaveLength(pairs.length);
  return lines;
}

function sign(n: number): string {
  return String(Math.sign(n));
}

/** How many pairs came out lower, equal and higher: the sample must exercise all three. */
function outcomes(results: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

describe.skipIf(!haveVercmp)('pacman ordering against vercmp', () => {
  it('agrees with vercmp on seeded pairs of Arch versions and their variations', async () => {
    const tree = await readTree(join(SHARED, 'archlinux-srcinfo/srcinfo.tar.xz'), (path) => path.endsWith('.SRCINFO'));
    const real = new Set<string>();
    for (const { text } of tree) {
      const field = (key: string): string | undefined => new RegExp(`^\\s*${key} = (.*)$`, 'm').exec(text)?.[1];
      const [epoch, pkgver, pkgrel] = [field('epoch'), field('pkgver'), field('pkgrel')];
      if (pkgver && pkgrel) real.add(`${epoch ? `${epoch}:` : ''}${pkgver}-${pkgrel}`);
      // Dependency versions too: they are what constraints compare against.
      for (const m of text.matchAll(/^\s*(?:depends|makedepends|provides)\S* = [^<>=\s]+(?:[<>]?=|[<>])(\S+)$/gm)) real.add(m[1] as string);
    }
    expect(real.size).toBeGreaterThan(2000);
    const pairs = versionPairs([...real].sort(), PAIRS, 20241121);
    const expected = await runOverPairs('vercmp', pairs, 'while read -r a b; do vercmp "$a" "$b"; done < "$1"');
    const ours = pairs.map(([a, b]) => sign(comparePacmanVersions(a, b)));
    const mismatches = pairs.flatMap(([a, b], i) => (ours[i] === expected[i] ? [] : [`${a} ${b}: vercmp ${expected[i]}, ours ${ours[i]}`]));
    expect(mismatches.slice(0, 20)).toEqual([]);
    const counts = outcomes(expected);
    expect(counts['-1']).toBeGreaterThan(PAIRS / 5);
    expect(counts['1']).toBeGreaterThan(PAIRS / 5);
    expect(counts['0']).toBeGreaterThan(PAIRS / 100);

    // The validating entry point answers the same for every pair of well-formed Arch versions, and refuses the others.
    let valid = 0;
    pairs.forEach(([a, b], i) => {
      if (!tryParseVersion('pkgbuild', a).ok || !tryParseVersion('pkgbuild', b).ok) {
        expect(() => compareVersions('pkgbuild', a, b), `${a} ${b}`).toThrow(InvalidVersionError);
        return;
      }
      valid++;
      expect(String(compareVersions('pkgbuild', a, b)), `${a} ${b}`).toBe(expected[i]);
    });
    expect(valid).toBeGreaterThan(PAIRS / 3);
    console.log(`vercmp: ${pairs.length} pairs agree (${JSON.stringify(counts)}), ${valid} of them well-formed Arch versions`);
  });
});

describe.skipIf(!haveVercmp)('pacman ordering against vercmp, on generated versions', () => {
  it('agrees with vercmp on 1,000 pairs fast-check makes from odd segments, separators and epochs', async () => {
    const segment = fc.stringMatching(/^[0-9a-zA-Z]{0,4}$/);
    const version = fc.tuple(fc.option(fc.nat({ max: 2 }), { nil: undefined }), fc.array(fc.tuple(segment, fc.constantFrom('.', '+', '_', '~', '..', '')), { minLength: 1, maxLength: 4 }), fc.option(fc.stringMatching(/^[0-9][0-9.]{0,2}$/), { nil: undefined }))
      .map(([epoch, parts, rel]) => `${epoch === undefined ? '' : `${epoch}:`}${parts.map(([p, sep]) => p + sep).join('') || '0'}${rel === undefined ? '' : `-${rel}`}`)
      .filter((v) => !/\s/.test(v));
    // Half the pairs share a prefix, so that the comparison reaches the odd parts.
    const pair = fc.oneof(fc.tuple(version, version), fc.tuple(version, fc.string({ maxLength: 3 })).map(([v, tail]) => [v, `${v}${tail.replace(/[\s-:]/g, '')}`] as [string, string]));
    const pairs = fc.sample(pair, { numRuns: 1000, seed: 20261203 });
    const expected = await runOverPairs('vercmp-generated', pairs, 'while read -r a b; do vercmp "$a" "$b"; done < "$1"');
    const mismatches = pairs.flatMap(([a, b], i) => (sign(comparePacmanVersions(a, b)) === expected[i] ? [] : [`${a} ${b}: vercmp ${expected[i]}, ours ${sign(comparePacmanVersions(a, b))}`]));
    expect(mismatches.slice(0, 20)).toEqual([]);
    console.log(`vercmp: ${pairs.length} generated pairs agree (${JSON.stringify(outcomes(expected))})`);
  });
});

describe.skipIf(!haveDpkg)('dpkg ordering against dpkg --compare-versions', () => {
  it('agrees with dpkg on seeded pairs of Debian versions and their variations, refusing what dpkg refuses', async () => {
    const sources = await readInputText(join(SHARED, 'debian-bookworm/Sources.xz'));
    const real = [...new Set([...sources.matchAll(/^Version: (\S+)$/gm)].map((m) => m[1] as string))].sort();
    expect(real.length).toBeGreaterThan(15000);
    const pairs = versionPairs(real, DPKG_PAIRS, 20241122);
    // dpkg exits 1 for a false relation and 2 or more for a version it cannot parse.
    const expected = await runOverPairs('dpkg', pairs, [
      'while read -r a b; do',
      '  dpkg --compare-versions "$a" lt "$b" 2>/dev/null; r=$?',
      '  if [ $r = 0 ]; then echo -1; elif [ $r != 1 ]; then echo E;',
      '  elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo 0; else echo 1; fi',
      'done < "$1"',
    ].join('\n'));
    const ours = pairs.map(([a, b]) => {
      try {
        return sign(compareDebianVersions(a, b));
      } catch {
        return 'E';
      }
    });
    const mismatches = pairs.flatMap(([a, b], i) => (ours[i] === expected[i] ? [] : [`${a} ${b}: dpkg ${expected[i]}, ours ${ours[i]}`]));
    expect(mismatches.slice(0, 20)).toEqual([]);
    const counts = outcomes(expected);
    expect(counts['-1']).toBeGreaterThan(DPKG_PAIRS / 5);
    expect(counts['1']).toBeGreaterThan(DPKG_PAIRS / 5);
    expect(counts['0']).toBeGreaterThan(DPKG_PAIRS / 100);
    expect(counts['E']).toBeGreaterThan(0);
    for (const flavour of ['debian', 'autobuild'] as const) {
      pairs.forEach(([a, b], i) => {
        if (expected[i] !== 'E') expect(String(compareVersions(flavour, a, b)), `${a} ${b}`).toBe(expected[i]);
        else expect(() => compareVersions(flavour, a, b)).toThrow(/invalid version/);
      });
    }
    console.log(`dpkg: ${pairs.length} pairs agree (${JSON.stringify(counts)})`);
  });
});
