import { describe, expect, it } from 'vitest';
import { comparePacmanVersions, rpmvercmp, splitPacmanVersion } from './pacman.js';

// The cases of pacman's test/util/vercmptest.sh; each is also checked mirrored.
const VERCMPTEST: [string, string, number][] = [
  ['1.5.0', '1.5.0', 0], ['1.5.1', '1.5.0', 1], ['1.5.1', '1.5', 1],
  ['1.5.0-1', '1.5.0-1', 0], ['1.5.0-1', '1.5.0-2', -1], ['1.5.0-1', '1.5.1-1', -1], ['1.5.0-2', '1.5.1-1', -1],
  ['1.5-1', '1.5.1-1', -1], ['1.5-2', '1.5.1-1', -1], ['1.5-2', '1.5.1-2', -1],
  ['1.5', '1.5-1', 0], ['1.5-1', '1.5', 0], ['1.1-1', '1.1', 0], ['1.0-1', '1.1', -1], ['1.1-1', '1.0', 1],
  ['1.5b-1', '1.5-1', -1], ['1.5b', '1.5', -1], ['1.5b-1', '1.5', -1], ['1.5b', '1.5.1', -1],
  ['1.0a', '1.0alpha', -1], ['1.0alpha', '1.0b', -1], ['1.0b', '1.0beta', -1], ['1.0beta', '1.0rc', -1], ['1.0rc', '1.0', -1],
  ['1.5.a', '1.5', 1], ['1.5.b', '1.5.a', 1], ['1.5.1', '1.5.b', 1],
  ['1.5.b-1', '1.5.b', 0], ['1.5-1', '1.5.b', -1],
];

describe('comparePacmanVersions', () => {
  it.each(VERCMPTEST)('vercmp %s %s = %i (and mirrored)', (a, b, expected) => {
    expect(Math.sign(comparePacmanVersions(a, b))).toBe(expected);
    expect(Math.sign(comparePacmanVersions(b, a))).toBe(-expected || 0);
  });

  it('compares the epoch first, numerically, and defaults it to 0', () => {
    expect(comparePacmanVersions('1:1.0-1', '2.0-1')).toBe(1);
    expect(comparePacmanVersions('0:2.0', '2.0')).toBe(0);
    expect(comparePacmanVersions(':2.0', '2.0')).toBe(0);
    expect(comparePacmanVersions('10:1', '9:2')).toBe(1);
  });

  it('compares numbers numerically whatever their length and leading zeros', () => {
    expect(comparePacmanVersions('1.010', '1.9')).toBe(1);
    expect(comparePacmanVersions('1.01', '1.1')).toBe(0);
    expect(comparePacmanVersions('99999999999999999999', '99999999999999999998')).toBe(1);
  });

  it('has no tilde rule: a tilde is a separator like any other', () => {
    expect(comparePacmanVersions('1.0~rc1', '1.0')).toBe(1);
    expect(comparePacmanVersions('1.0~1', '1.0.1')).toBe(0);
  });

  it('lets separators of different lengths decide', () => {
    expect(comparePacmanVersions('1.0', '1..0')).toBe(-1);
    expect(comparePacmanVersions('1_0', '1.0')).toBe(0);
  });

  it('compares the pkgrel with the same rules', () => {
    expect(comparePacmanVersions('1.0-1.1', '1.0-1')).toBe(1);
    expect(comparePacmanVersions('1.0-10', '1.0-9')).toBe(1);
  });
});

describe('splitPacmanVersion', () => {
  it('splits epoch, pkgver and the release after the last hyphen', () => {
    expect(splitPacmanVersion('2:1.0-3')).toEqual({ epoch: '2', version: '1.0', release: '3' });
    expect(splitPacmanVersion('1.0')).toEqual({ epoch: '0', version: '1.0', release: null });
    expect(splitPacmanVersion('a-b-c')).toEqual({ epoch: '0', version: 'a-b', release: 'c' });
  });
});

describe('rpmvercmp', () => {
  it('ranks a trailing alpha part below the end and anything else above it', () => {
    expect(rpmvercmp('1.0', '1.0a')).toBe(1);
    expect(rpmvercmp('1.0', '1.0.')).toBe(-1);
    expect(rpmvercmp('1.0.', '1.0.')).toBe(0);
  });
});
