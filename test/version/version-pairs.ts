/**
 * Deterministic (seeded) pairs of realistic version strings for comparing our orderings with the
 * real tools: real versions from the shared datasets, each paired with another real one or with a
 * mutation of itself (a bumped number, a tilde or alpha suffix, an epoch, a changed separator…),
 * plus versions assembled from typical pieces.
 */

import { seededRandom } from '../support/seeded-random.js';

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const SUFFIXES = ['~rc1', '~', '~~', '~beta2', 'a', 'b', '.1', '.0', '+b1', '+dfsg', '+git20240101.abc123', '-1', '-0', '.a', '_1', 'rc2', 'p1', 'Z', '..1', '+', '.', '-2.1', '00', '-', ':1'];
const DIGITS = ['0', '1', '2', '9', '10', '01', '007', '123', '20240131', '99999999999999999999'];
const LETTERS = ['a', 'b', 'z', 'rc', 'alpha', 'beta', 'pre', 'A', 'Z', 'git', 'svn', 'r'];
const SEPARATORS = ['.', '.', '.', '..', '_', '+', '~', '-', '+~', '%'];

function mutate(random: Random, version: string): string {
  switch (Math.floor(random() * 7)) {
    case 0: {
      // Bump, lower or zero-pad one number.
      const runs = [...version.matchAll(/[0-9]+/g)];
      if (runs.length === 0) return version + pick(random, SUFFIXES);
      const run = pick(random, runs);
      const value = BigInt(run[0]);
      const changed = pick(random, [String(value + 1n), String(value > 0n ? value - 1n : 0n), `0${run[0]}`]);
      return version.slice(0, run.index) + changed + version.slice(run.index + run[0].length);
    }
    case 1:
      return version + pick(random, SUFFIXES);
    case 2:
      return `${pick(random, ['0', '1', '2', '10'])}:${version.replace(/^[0-9]+:/, '')}`;
    case 3:
      return version.includes('-') ? version.slice(0, version.lastIndexOf('-')) : `${version}-${pick(random, ['1', '0', '2', '1.1'])}`;
    case 4:
      return version.replace('.', pick(random, SEPARATORS));
    case 5:
      return version.replace(/[a-z]/, (c) => c.toUpperCase());
    default:
      return mutate(random, mutate(random, version));
  }
}

/** A version made of typical pieces: numbers, letters and separators. */
function assemble(random: Random): string {
  const parts: string[] = [];
  if (random() < 0.15) parts.push(`${pick(random, ['0', '1', '2', '10'])}:`);
  const segments = 1 + Math.floor(random() * 5);
  for (let i = 0; i < segments; i++) {
    if (i > 0 && random() < 0.7) parts.push(pick(random, SEPARATORS));
    parts.push(random() < 0.7 ? pick(random, DIGITS) : pick(random, LETTERS));
  }
  if (random() < 0.4) parts.push(`-${pick(random, DIGITS)}`);
  return parts.join('');
}

/** `count` pairs drawn from `real` versions (each with a real partner, a mutation of itself, or an assembled version). */
export function versionPairs(real: readonly string[], count: number, seed: number): [string, string][] {
  const random = seededRandom(seed);
  const pairs: [string, string][] = [];
  while (pairs.length < count) {
    const base = real.length > 0 && random() < 0.8 ? pick(random, real) : assemble(random);
    const roll = random();
    const other = roll < 0.2 && real.length > 0 ? pick(random, real) : roll < 0.9 ? mutate(random, base) : assemble(random);
    // The tools read whitespace-separated words: keep both sides non-empty and blank-free.
    if (base === '' || other === '' || /\s/.test(base + other)) continue;
    pairs.push(random() < 0.5 ? [base, other] : [other, base]);
  }
  return pairs;
}
