import { describe, expect, it } from 'vitest';
import { iterationChanges, type ComparedBuild } from './iteration-changes.js';

const b = (pkgbase: string, sha: string, state: ComparedBuild['state'], reused_from: number | null = null): ComparedBuild => ({ pkgbase, arch: 'x86_64', pass: 1, sha, version: '1-1', state, reused_from });

describe('iterationChanges', () => {
  it('names the recipes that moved, what came and went, and counts carried, superseded and cancelled builds', () => {
    const previous = [b('zlib', 'a', 'built'), b('libpng', 'b', 'superseded'), b('cairo', 'c', 'cancelled'), b('old', 'd', 'superseded')];
    const current = [b('zlib', 'a', 'built', 1), b('libpng', 'b2', 'blocked'), b('cairo', 'c', 'blocked'), b('pango', 'e', 'blocked')];
    expect(iterationChanges(previous, current)).toEqual({
      moved: [{ pkgbase: 'libpng', arch: 'x86_64', from: 'b', to: 'b2', version: '1-1' }],
      added: ['pango/x86_64'], dropped: ['old/x86_64'], carried: 1, fresh: 3, superseded: 2, cancelled: 1,
    });
  });
});
