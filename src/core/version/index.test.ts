import { describe, expect, it } from 'vitest';
import { compareVersions, formatVersion, InvalidVersionError, parseVersion, satisfiesConstraint, tryParseVersion } from './index.js';

describe('parseVersion', () => {
  it('splits Arch epoch:pkgver-pkgrel', () => {
    expect(parseVersion('pkgbuild', '2:1.0.3-4')).toEqual({ epoch: 2, upstream: '1.0.3', release: '4', text: '2:1.0.3-4' });
    expect(parseVersion('pkgbuild', '1.0+r12.gabc_x')).toEqual({ epoch: 0, upstream: '1.0+r12.gabc_x', release: null, text: '1.0+r12.gabc_x' });
    expect(parseVersion('pkgbuild', '1.0-2.1').release).toBe('2.1');
  });

  it('splits Debian and AOSC versions with the revision after the last hyphen', () => {
    for (const flavour of ['debian', 'autobuild'] as const) {
      expect(parseVersion(flavour, '1:2.3-rc-4')).toEqual({ epoch: 1, upstream: '2.3-rc', release: '4', text: '1:2.3-rc-4' });
      expect(parseVersion(flavour, '2.3~rc1')).toEqual({ epoch: 0, upstream: '2.3~rc1', release: null, text: '2.3~rc1' });
    }
  });

  it.each([
    ['', 'version is empty'],
    ['x:1.0', 'epoch must be a non-negative integer'],
    ['1:', 'pkgver is empty'],
    ['1.0 beta', 'printable ASCII'],
    ['1.0/2', 'colons, slashes or hyphens'],
    ['1:2:3', 'colons, slashes or hyphens'],
    ['1.0-1-1', 'colons, slashes or hyphens'],
    ['1.0-a', "pkgrel must be of the form 'integer[.integer]'"],
    ['1.0-', "pkgrel must be of the form"],
  ])('refuses the Arch version %j (%s)', (text, reason) => {
    expect(() => parseVersion('pkgbuild', text)).toThrow(reason);
    const result = tryParseVersion('pkgbuild', text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(InvalidVersionError);
      expect(result.error.message).toContain(`'${text}'`);
    }
  });

  it('names the faulty part of the version', () => {
    const partOf = (flavour: 'pkgbuild' | 'debian', text: string) => {
      const result = tryParseVersion(flavour, text);
      return result.ok ? 'valid' : result.error.part;
    };
    expect(partOf('pkgbuild', 'x:1-1')).toBe('epoch');
    expect(partOf('pkgbuild', '1.0 b-1')).toBe('upstream');
    expect(partOf('pkgbuild', '1.0-b')).toBe('release');
    expect(partOf('debian', '1a:1.0')).toBe('epoch');
    expect(partOf('debian', '1.0-')).toBe('release');
    expect(partOf('debian', '1.0 1')).toBeNull();
  });

  it('refuses Debian versions dpkg refuses', () => {
    expect(tryParseVersion('debian', '1.0-').ok).toBe(false);
    expect(() => parseVersion('autobuild', 'a:1')).toThrow(/invalid version 'a:1': epoch in version is empty/);
  });

  it('round-trips through formatVersion', () => {
    for (const text of ['1:2.3-4', '2.3', '2.3-1.1']) expect(formatVersion(parseVersion('pkgbuild', text))).toBe(text);
    expect(formatVersion(parseVersion('debian', '0:1.0-1'))).toBe('1.0-1');
  });
});

describe('compareVersions', () => {
  it('uses each flavour\'s ordering', () => {
    expect(compareVersions('pkgbuild', '1.0~rc1', '1.0')).toBe(1);
    expect(compareVersions('debian', '1.0~rc1', '1.0')).toBe(-1);
    expect(compareVersions('autobuild', '1.0~rc1', '1.0')).toBe(-1);
    expect(compareVersions('pkgbuild', '1.0', '1.0-3')).toBe(0);
    expect(compareVersions('debian', '1.0', '1.0-3')).toBe(-1);
  });

  it('refuses exactly the Arch versions parseVersion refuses', () => {
    const texts = ['1', '1.0-1', '1:1.0-1.1', '0:a', '1.0-1.2.3', '1.0-', '-1', ':1', '1::2', '1:2:3', 'a:1', '1.0/2', '1 0', '1.0-1a', '~', '.', '1_0+x@y', '1.0\t', 'é', '1:', '1-1-1'];
    for (const text of texts) {
      const parses = tryParseVersion('pkgbuild', text).ok;
      if (parses) expect(compareVersions('pkgbuild', text, '1'), text).toBeTypeOf('number');
      else expect(() => compareVersions('pkgbuild', text, '1'), text).toThrow(InvalidVersionError);
    }
  });

  it('throws InvalidVersionError for text the flavour cannot read', () => {
    expect(() => compareVersions('pkgbuild', '1.0', '1 0')).toThrow(InvalidVersionError);
    expect(() => compareVersions('debian', '1.0-', '1.0')).toThrow(InvalidVersionError);
  });
});

describe('satisfiesConstraint', () => {
  it('ignores the candidate pkgrel when the Arch constraint has none', () => {
    expect(satisfiesConstraint('pkgbuild', '1.5-3', { op: '=', version: '1.5' })).toBe(true);
    expect(satisfiesConstraint('pkgbuild', '1.5-3', { op: '=', version: '1.5-2' })).toBe(false);
    expect(satisfiesConstraint('pkgbuild', '1.5-3', { op: '>', version: '1.5' })).toBe(false);
    expect(satisfiesConstraint('pkgbuild', '1.5-3', { op: '>', version: '1.5-2' })).toBe(true);
    expect(satisfiesConstraint('pkgbuild', '1:1.0-1', { op: '>=', version: '2.0' })).toBe(true);
  });

  it('compares Debian versions plainly', () => {
    expect(satisfiesConstraint('debian', '1.5-3', { op: '=', version: '1.5' })).toBe(false);
    expect(satisfiesConstraint('debian', '1.5-3', { op: '>', version: '1.5' })).toBe(true);
    expect(satisfiesConstraint('debian', '1.5~rc1-1', { op: '<', version: '1.5' })).toBe(true);
    expect(satisfiesConstraint('autobuild', '1.5', { op: '<=', version: '1.5-0' })).toBe(true);
    expect(satisfiesConstraint('autobuild', '1.5', { op: '>=', version: '1.5.0' })).toBe(false);
  });

  it('throws InvalidVersionError for an unreadable version on either side', () => {
    expect(() => satisfiesConstraint('debian', '1.0', { op: '>=', version: 'x:1' })).toThrow(InvalidVersionError);
  });
});
