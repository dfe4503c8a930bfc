import { describe, expect, it } from 'vitest';
import { completeArchitectures, matchesNamePattern } from './server-images.js';

describe('server images', () => {
  it('matches build set names against patterns with *', () => {
    expect(matchesNamePattern('*', 'anything')).toBe(true);
    expect(matchesNamePattern('quartz', 'quartz')).toBe(true);
    expect(matchesNamePattern('quartz', 'quartz2')).toBe(false);
    expect(matchesNamePattern('mr-*', 'mr-12')).toBe(true);
    expect(matchesNamePattern('mr-*', 'main')).toBe(false);
    // Dots are literal, not any character.
    expect(matchesNamePattern('a.b', 'axb')).toBe(false);
  });

  it('finds the architectures whose builds are all built', () => {
    expect(completeArchitectures([
      { arch: 'x86_64', state: 'built' }, { arch: 'x86_64', state: 'built' },
      { arch: 'aarch64', state: 'built' }, { arch: 'aarch64', state: 'failed' },
      { arch: 'riscv64', state: 'building' },
    ])).toEqual(['x86_64']);
    expect(completeArchitectures([])).toEqual([]);
  });
});
