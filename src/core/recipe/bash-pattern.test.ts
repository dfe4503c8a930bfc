import { describe, expect, it } from 'vitest';
import { compileBashPattern, removePrefix, removeSuffix, substitute, UnsupportedPatternError } from './bash-pattern.js';

describe('compileBashPattern', () => {
  it.each([
    ['*.tar.*', 'zlib-1.3.tar.xz', true],
    ['?.?', '1.2', true],
    ['?.?', '1.23', false],
    ['[0-9]*', '7zip', true],
    ['[!0-9]*', '7zip', false],
    ['[[:alpha:]]x', 'ax', true],
    ['a\\*', 'a*', true],
    ['a\\*', 'ab', false],
    ['!(amd64|arm64)', 'riscv64', true],
    ['!(amd64|arm64)', 'arm64', false],
    ['@(loongson3|mips64r6el)', 'loongson3', true],
    ['+(ab)', 'ababab', true],
    ['x?(-)y', 'xy', true],
    ['x*(ab)y', 'xababy', true],
    // Not extglob: bash matches these literally, so they match no architecture name.
    ['(mips64r6el)', 'mips64r6el', false],
    ['loongarch64|riscv64', 'riscv64', false],
  ])('%s on %s is %s', (pattern, text, expected) => {
    expect(compileBashPattern(pattern).matches(text)).toBe(expected);
  });

  it('matches quoted pieces literally', () => {
    expect(compileBashPattern([{ text: '*', quoted: true }]).matches('x')).toBe(false);
    expect(compileBashPattern([{ text: 'a', quoted: false }, { text: '*', quoted: true }]).matches('a*')).toBe(true);
  });

  it('refuses a negated group inside a larger pattern, and an unclosed group', () => {
    expect(() => compileBashPattern('a!(b)')).toThrow(UnsupportedPatternError);
    expect(() => compileBashPattern('@(a|b')).toThrow(/unclosed "@\(" group/);
  });
});

describe('prefix, suffix and substitution', () => {
  const star = compileBashPattern('*.');
  it('removes the shortest or longest prefix and suffix', () => {
    expect(removePrefix('1.2.3', star, false)).toBe('2.3');
    expect(removePrefix('1.2.3', star, true)).toBe('3');
    expect(removeSuffix('1.2.3', compileBashPattern('.*'), false)).toBe('1.2');
    expect(removeSuffix('1.2.3', compileBashPattern('.*'), true)).toBe('1');
    expect(removeSuffix('1.2.3', compileBashPattern('x'), true)).toBe('1.2.3');
  });

  it('substitutes the longest match, once or everywhere, anchored or not', () => {
    const dot = compileBashPattern('.');
    expect(substitute('1.2.3', dot, '_', false, 'anywhere')).toBe('1_2.3');
    expect(substitute('1.2.3', dot, '_', true, 'anywhere')).toBe('1_2_3');
    expect(substitute('a-b-c', compileBashPattern('-*'), '!', false, 'anywhere')).toBe('a!');
    expect(substitute('abc', compileBashPattern('a'), 'X', false, 'start')).toBe('Xbc');
    expect(substitute('abc', compileBashPattern('a'), 'X', false, 'end')).toBe('abc');
    expect(substitute('abc', compileBashPattern('c'), 'X', false, 'end')).toBe('abX');
  });
});
