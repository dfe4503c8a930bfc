import { describe, expect, it } from 'vitest';
import { checkNoDowngrade, diffRelease, releasedPkgbases, ReleaseRefused, type ReleaseCandidate, type RepositoryPackage } from './release-plan.js';

const pkg = (name: string, version: string, base: string | null = name): RepositoryPackage => ({ name, version, arch: 'x86_64', filename: `${name}-${version}-x86_64.pkg.tar.zst`, base });
const candidate = (name: string, version: string, pkgbase = name): ReleaseCandidate => ({ name, version, arch: 'x86_64', filename: `${name}-${version}-x86_64.pkg.tar.zst`, pkgbase, buildId: 1, sha256: 'a'.repeat(64) });
const refusal = (fn: () => unknown): ReleaseRefused => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ReleaseRefused) return error;
    throw error;
  }
  throw new Error('not refused');
};

describe('releasedPkgbases', () => {
  const builds = [
    { pkgbase: 'zlib', arch: 'x86_64', state: 'built' as const, reason: null },
    { pkgbase: 'libpng', arch: 'x86_64', state: 'failed' as const, reason: 'pipeline 7 failed' },
    { pkgbase: 'cairo', arch: 'x86_64', state: 'dependency-failed' as const, reason: 'dependency libpng/x86_64 failed' },
  ];

  it('refuses a set with unbuilt builds, naming them and the --partial that would leave them out', () => {
    const error = refusal(() => releasedPkgbases(builds));
    expect(error.code).toBe('not_releasable');
    expect(error.message).toBe('not every build is built: libpng/x86_64 is failed (pipeline 7 failed); cairo/x86_64 is dependency-failed (dependency libpng/x86_64 failed). Release the rest with --partial libpng cairo');
  });

  it('releases the rest when --partial leaves the unbuilt ones out; refuses names the set does not build, and leaving out everything', () => {
    expect([...releasedPkgbases(builds, ['libpng', 'cairo'])]).toEqual(['zlib']);
    expect(refusal(() => releasedPkgbases(builds, ['libpng', 'cairo', 'glibc'])).message).toContain('"glibc", which the build set does not build');
    expect(refusal(() => releasedPkgbases(builds, ['libpng'])).message).toContain('cairo/x86_64 is dependency-failed');
    expect(refusal(() => releasedPkgbases(builds, ['zlib', 'libpng', 'cairo'])).code).toBe('nothing_to_release');
  });
});

describe('diffRelease', () => {
  it('sorts packages into added, upgraded, downgraded, unchanged, and removed (split packages a released pkgbase no longer makes)', () => {
    const current = [pkg('zlib', '1.2-1'), pkg('libpng', '1.6-2'), pkg('glib2', '2.80-1'), pkg('glib2-docs', '2.80-1', 'glib2'), pkg('bash', '5.2-1'), pkg('mystery', '1-1', null)];
    const offered = [candidate('zlib', '1.3-1'), candidate('libpng', '1.6-1'), candidate('glib2', '2.80-1'), candidate('cairo', '1.18-1')];
    const diff = diffRelease('pkgbuild', 'x86_64', current, offered, new Set(['zlib', 'libpng', 'glib2', 'cairo', 'mystery']));
    expect(diff.added.map((c) => c.name)).toEqual(['cairo']);
    expect(diff.upgraded).toEqual([{ name: 'zlib', from: '1.2-1', to: '1.3-1', filename: 'zlib-1.3-1-x86_64.pkg.tar.zst' }]);
    expect(diff.downgraded.map((c) => `${c.name} ${c.from} ${c.to}`)).toEqual(['libpng 1.6-2 1.6-1']);
    expect(diff.unchanged.map((c) => c.name)).toEqual(['glib2']);
    // bash is no released pkgbase's; "mystery" has no known base, so it is never removed.
    expect(diff.removed).toEqual([{ name: 'glib2-docs', from: '2.80-1', to: null, filename: null }]);
  });

  it('compares versions the flavour\'s way: pacman epochs and pkgrel, dpkg tildes', () => {
    expect(diffRelease('pkgbuild', 'x86_64', [pkg('a', '1:1.0-1')], [candidate('a', '2.0-1')], new Set(['a'])).downgraded).toHaveLength(1);
    expect(diffRelease('pkgbuild', 'x86_64', [pkg('a', '1.0-1')], [candidate('a', '1.0-1.1')], new Set(['a'])).upgraded).toHaveLength(1);
    expect(diffRelease('autobuild', 'amd64', [pkg('a', '1.0')], [candidate('a', '1.0~rc1')], new Set(['a'])).downgraded).toHaveLength(1);
  });

  it('refuses a downgrade unless forced', () => {
    const diff = diffRelease('pkgbuild', 'x86_64', [pkg('libpng', '1.6-2')], [candidate('libpng', '1.6-1')], new Set(['libpng']));
    expect(refusal(() => checkNoDowngrade([diff], false)).message).toBe('the release would take versions backwards: libpng/x86_64 1.6-2 → 1.6-1; give --force to release anyway');
    expect(() => checkNoDowngrade([diff], true)).not.toThrow();
  });
});
