import { describe, expect, it } from 'vitest';
import { ownCopy } from './own-copy.js';

describe('ownCopy', () => {
  it('returns an equal string, short or long, ASCII or not', () => {
    const chunk = 'Package: libboost-filesystem1.74.0\nMaintainer: Jörg Frings-Fürst\n';
    for (const [from, to] of [[9, 14], [9, 34], [47, chunk.length - 1], [0, 0]] as const) {
      expect(ownCopy(chunk.slice(from, to))).toBe(chunk.slice(from, to));
    }
  });
});
