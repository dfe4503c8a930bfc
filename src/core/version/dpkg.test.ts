import { describe, expect, it } from 'vitest';
import { compareDebianVersions, splitDebianVersion, verrevcmp } from './dpkg.js';
import { InvalidVersionError } from './errors.js';

describe('compareDebianVersions', () => {
  // Debian Policy 5.6.12: "~~, ~~a, ~, the empty part, a" in increasing order.
  it('sorts tilde before everything, even the end, and letters before other characters', () => {
    const policyOrder = ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a'];
    for (let i = 0; i + 1 < policyOrder.length; i++) {
      expect(compareDebianVersions(policyOrder[i] as string, policyOrder[i + 1] as string)).toBe(-1);
      expect(compareDebianVersions(policyOrder[i + 1] as string, policyOrder[i] as string)).toBe(1);
    }
    expect(compareDebianVersions('1.0a', '1.0+')).toBe(-1);
    expect(compareDebianVersions('1.0+', '1.0.')).toBe(-1);
    expect(compareDebianVersions('2.30~rc1-1', '2.30-1')).toBe(-1);
  });

  it('compares the epoch numerically before anything else', () => {
    expect(compareDebianVersions('1:1.0', '2.0')).toBe(1);
    expect(compareDebianVersions('0:1.0', '1.0')).toBe(0);
    expect(compareDebianVersions('10:1', '9:2')).toBe(1);
  });

  it('compares digit runs numerically, ignoring leading zeros', () => {
    expect(compareDebianVersions('1.10', '1.9')).toBe(1);
    expect(compareDebianVersions('1.001', '1.1')).toBe(0);
    expect(compareDebianVersions('1.99999999999999999999', '1.99999999999999999998')).toBe(1);
  });

  it('splits the revision at the last hyphen and treats a missing revision like 0', () => {
    expect(compareDebianVersions('1.0-1', '1.0-2')).toBe(-1);
    expect(compareDebianVersions('1.0-beta-1', '1.0-beta-2')).toBe(-1);
    expect(compareDebianVersions('1.0', '1.0-0')).toBe(0);
    expect(compareDebianVersions('1.0', '1.0-1')).toBe(-1);
    expect(compareDebianVersions('1.0-1+b1', '1.0-1')).toBe(1);
    expect(compareDebianVersions('1.0-1~bpo12+1', '1.0-1')).toBe(-1);
  });

  it.each([
    ['', 'version string is empty'],
    ['1.0 1', 'embedded spaces'],
    ['1.0\n', 'control character'],
    [':1.0', 'epoch in version is empty'],
    ['a:1.0', 'epoch in version is empty'],
    ['1a:1.0', 'epoch in version is not number'],
    ['-1:1.0', 'epoch in version is negative'],
    ['9999999999:1.0', 'epoch in version is too big'],
    ['1:', 'nothing after colon'],
    ['1.0-', 'revision number is empty'],
    ['-1', 'version number is empty'],
  ])('refuses %j as dpkg does (%s)', (text, reason) => {
    expect(() => compareDebianVersions(text, '1.0')).toThrow(InvalidVersionError);
    expect(() => compareDebianVersions('1.0', text)).toThrow(reason);
  });

  it('accepts what dpkg only warns about', () => {
    expect(compareDebianVersions('abc', '1.0')).toBe(1);
    expect(compareDebianVersions('1.0_1', '1.0_2')).toBe(-1);
  });
});

describe('splitDebianVersion', () => {
  it('splits epoch, upstream and revision', () => {
    expect(splitDebianVersion('2:1.0-3-4')).toEqual({ epoch: 2, upstream: '1.0-3', revision: '4', hasRevision: true });
    expect(splitDebianVersion(' \t1.0 ')).toEqual({ epoch: 0, upstream: '1.0', revision: '', hasRevision: false });
  });
});

describe('verrevcmp', () => {
  it('orders by dpkg weights', () => {
    expect(Math.sign(verrevcmp('a', 'B'))).toBe(1);
    expect(Math.sign(verrevcmp('~', ''))).toBe(-1);
    expect(verrevcmp('', '')).toBe(0);
  });
});
