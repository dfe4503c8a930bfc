import { describe, expect, it } from 'vitest';
import { binary, clauses, dep, indexed, provide, source } from '../../../test/support/universe-builder.js';
import { checkPlan } from '../../../test/support/plan-checks.js';
import type { SourcePackage } from '../recipe/model.js';
import { dependencyGraphFor, GraphMismatchError, planBuildSet, UnknownSourceError, whyChain } from './plan.js';
import type { Universe } from './universe.js';

const arch = (pkgbase: string, version: string, parts: Parameters<typeof source>[3] = {}): SourcePackage => source('pkgbuild', pkgbase, version, parts);

/** A small Arch-style universe: run dependencies of binaries are installed to build. */
const archSources: SourcePackage[] = [
  arch('glibc', '2.40-1'),
  arch('zlib', '1:1.3.1-2', { binaries: [binary('zlib', { depends: clauses('glibc'), provides: [provide('libz.so', '1-64')] })] }),
  arch('openssl', '3.4.0-1', { binaries: [binary('openssl', { depends: clauses('zlib') })] }),
  arch('curl', '8.11.0-1', { binaries: [binary('curl', { depends: clauses(dep('libz.so', '=', '1-64')) }), binary('libcurl-compat')] }),
  arch('python', '3.12.7-1', { buildDepends: clauses('openssl') }),
  arch('alt', '1-1', { buildDepends: clauses([dep('libressl'), dep('openssl')]) }),
  arch('prefers-glibc', '1-1', { buildDepends: clauses([dep('glibc'), dep('openssl')]) }),
  arch('cyc-a', '1-1', { buildDepends: clauses('zlib', 'cyc-b') }),
  arch('cyc-b', '1-1', { checkDepends: clauses('cyc-a') }),
  arch('ghc', '9.4-1', { buildDepends: clauses('ghc', 'zlib') }),
  arch('hello', '2.12-1', { binaries: [binary('hello', { depends: clauses('glibc') })] }),
  arch('old', '1-1', { buildDepends: clauses(dep('zlib', '<', '1:1.0'), 'no-such-thing') }),
  arch('x86-only', '1-1', { buildDepends: clauses(dep('zlib', undefined, undefined, { arches: { negated: false, arches: ['aarch64'] } })) }),
  arch('arm-only', '1-1', { architectures: ['aarch64'], buildDepends: clauses('zlib') }),
];
const archUniverse: Universe = { flavour: 'pkgbuild', sources: archSources };

describe('planBuildSet (pkgbuild)', () => {
  const plan = planBuildSet(archUniverse, { arch: 'x86_64', origins: ['zlib'] });

  it('takes every source that needs a binary of the set, through provides, alternatives and run dependencies', () => {
    expect(plan.packages.map((p) => p.pkgbase).sort()).toEqual(['alt', 'curl', 'cyc-a', 'cyc-b', 'ghc', 'openssl', 'python', 'zlib']);
  });

  it('orders the set in waves, a cycle sharing one wave', () => {
    expect(plan.waves).toEqual([['zlib'], ['curl', 'cyc-a', 'cyc-b', 'ghc', 'openssl'], ['alt', 'python']]);
  });

  it('reports cycles with their members, build order and closing edges', () => {
    expect(plan.cycles).toEqual([
      {
        members: ['cyc-a', 'cyc-b'],
        buildOrder: ['cyc-a', 'cyc-b'],
        closingEdges: [{ from: 'cyc-a', to: 'cyc-b', kind: 'build', binary: 'cyc-b', clause: 'cyc-b' }],
      },
      { members: ['ghc'], buildOrder: ['ghc'], closingEdges: [{ from: 'ghc', to: 'ghc', kind: 'build', binary: 'ghc', clause: 'ghc' }] },
    ]);
    const byName = new Map(plan.packages.map((p) => [p.pkgbase, p]));
    expect(byName.get('cyc-a')!.cycle).toBe(0);
    expect(byName.get('ghc')!.cycle).toBe(1);
    expect(byName.get('python')!.cycle).toBeNull();
  });

  it('gives the critical path as the longest chain of units', () => {
    expect(plan.criticalPath).toHaveLength(3);
    expect(plan.criticalPath[0]).toBe('zlib');
    expect(plan.criticalPath[1]).toBe('openssl');
    expect(['alt', 'python']).toContain(plan.criticalPath[2]);
  });

  it('explains each package by a chain of needs ending at an origin', () => {
    const byName = new Map(plan.packages.map((p) => [p.pkgbase, p]));
    expect(whyChain(plan, 'zlib')).toEqual([]);
    expect(whyChain(plan, 'curl')).toEqual([{ from: 'curl', to: 'zlib', kind: 'run', binary: 'zlib', clause: 'libz.so (= 1-64)', via: 'curl' }]);
    expect(byName.get('python')!.because).toMatchObject({ to: 'openssl' });
    expect(whyChain(plan, 'python')).toEqual([
      { from: 'python', to: 'openssl', kind: 'build', binary: 'openssl', clause: 'openssl' },
      { from: 'openssl', to: 'zlib', kind: 'run', binary: 'zlib', clause: 'zlib', via: 'openssl' },
    ]);
    expect(byName.get('alt')!.because).toMatchObject({ to: 'openssl', clause: 'libressl | openssl' });
  });

  it('passes the structural checks every plan must pass', () => {
    expect(checkPlan(plan)).toEqual([]);
  });

  it('reports unresolvable dependencies of members, not of packages outside the set', () => {
    expect(plan.unresolved).toEqual([]);
    const all = planBuildSet(archUniverse, { arch: 'x86_64', origins: ['old', 'zlib'] });
    expect(all.unresolved).toEqual([
      { pkgbase: 'old', kind: 'build', clause: 'zlib (< 1:1.0)' },
      { pkgbase: 'old', kind: 'build', clause: 'no-such-thing' },
    ]);
  });

  it('counts the first alternative something satisfies, or all of them when asked', () => {
    expect(plan.packages.map((p) => p.pkgbase)).not.toContain('prefers-glibc');
    const all = planBuildSet(archUniverse, { arch: 'x86_64', origins: ['zlib'], alternatives: 'all' });
    expect(all.alternatives).toBe('all');
    expect(all.packages.find((p) => p.pkgbase === 'prefers-glibc')?.because).toMatchObject({ to: 'openssl', clause: 'glibc | openssl' });
    expect(checkPlan(all)).toEqual([]);
  });

  it('is the same plan whatever order the universe comes in', () => {
    const reversed: Universe = { flavour: 'pkgbuild', sources: [...archSources].reverse() };
    expect(planBuildSet(reversed, { arch: 'x86_64', origins: ['zlib'] })).toEqual(plan);
  });

  it('applies architecture restrictions and source architectures', () => {
    const arm = planBuildSet(archUniverse, { arch: 'aarch64', origins: ['zlib'] });
    expect(arm.packages.map((p) => p.pkgbase)).toContain('x86-only');
    expect(arm.packages.map((p) => p.pkgbase)).toContain('arm-only');
    expect(plan.packages.map((p) => p.pkgbase)).not.toContain('x86-only');
  });

  it('leaves check dependencies out with the nocheck profile, which breaks the cycle', () => {
    const nocheck = planBuildSet(archUniverse, { arch: 'x86_64', origins: ['zlib'], profiles: ['nocheck'] });
    expect(nocheck.packages.map((p) => p.pkgbase)).not.toContain('cyc-b');
    expect(nocheck.cycles.map((c) => c.members)).toEqual([['ghc']]);
  });

  it('refuses a prebuilt graph with options it was not built for', () => {
    const graph = dependencyGraphFor(archUniverse, 'x86_64');
    expect(planBuildSet(graph, { arch: 'x86_64', origins: ['zlib'] })).toEqual(plan);
    expect(() => planBuildSet(graph, { arch: 'aarch64', origins: ['zlib'] })).toThrow(GraphMismatchError);
    expect(() => planBuildSet(graph, { arch: 'x86_64', origins: ['zlib'], profiles: ['nocheck'] })).toThrow(GraphMismatchError);
    expect(() => planBuildSet(graph, { arch: 'x86_64', origins: ['zlib'], alternatives: 'all' })).toThrow(GraphMismatchError);
  });

  it('rejects origins it does not know or that are not built on the architecture', () => {
    expect(() => planBuildSet(archUniverse, { arch: 'x86_64', origins: ['zlib', 'nope', 'arm-only'] })).toThrow(
      new UnknownSourceError(['nope'], ['arm-only'], 'x86_64'),
    );
  });
});

describe('planBuildSet (debian: binaries from the archive index)', () => {
  const deb = (pkgbase: string, parts: Parameters<typeof source>[3] = {}): SourcePackage => source('debian', pkgbase, '1.0-1', parts);
  const universe: Universe = {
    flavour: 'debian',
    sources: [
      deb('zlib', { architectures: ['any'] }),
      deb('docs', { architectures: ['all'], buildDependsIndep: clauses('zlib1g-dev'), buildDependsArch: clauses('never-installed') }),
      deb('tool', { architectures: ['any'], buildDependsArch: clauses('zlib1g-dev'), buildDependsIndep: clauses('never-installed') }),
      deb('py', { buildDepends: clauses(dep('python3', undefined, undefined, { archQualifier: 'any' })) }),
      deb('python3-defaults'),
      deb('uses-lib', { buildDepends: clauses(dep('libfoo-dev', undefined, undefined, { profiles: [['!nocheck']] })) }),
      deb('foo'),
      deb('bootstrap', { buildDepends: clauses(dep('zlib1g-dev', undefined, undefined, { profiles: [['stage1']] })) }),
    ],
    binaries: [
      indexed('debian', 'zlib1g', '1:1.2.13-1', { source: 'zlib' }),
      indexed('debian', 'zlib1g-dev', '1:1.2.13-1', { source: 'zlib', depends: clauses('zlib1g') }),
      indexed('debian', 'python3', '3.11.2-1', { source: 'python3-defaults', multiArch: 'allowed', depends: clauses('zlib1g') }),
      indexed('debian', 'libfoo-dev', '1.0-1', { source: 'foo', depends: clauses('zlib1g-dev') }),
    ],
  };

  it('applies Build-Depends-Arch and -Indep as the source architectures ask, and profiles', () => {
    const plan = planBuildSet(universe, { arch: 'amd64', origins: ['zlib'] });
    expect(plan.packages.map((p) => p.pkgbase).sort()).toEqual(['docs', 'foo', 'py', 'python3-defaults', 'tool', 'uses-lib', 'zlib']);
    expect(plan.waves).toEqual([['zlib'], ['docs', 'foo', 'python3-defaults', 'tool'], ['py', 'uses-lib']]);
    expect(checkPlan(plan)).toEqual([]);
    const staged = planBuildSet(universe, { arch: 'amd64', origins: ['zlib'], profiles: ['stage1', 'nocheck'] });
    expect(staged.packages.map((p) => p.pkgbase)).toContain('bootstrap');
    expect(staged.packages.map((p) => p.pkgbase)).not.toContain('uses-lib');
  });
});

describe('planBuildSet on a long chain', () => {
  it('handles depth without recursion', () => {
    const sources = Array.from({ length: 20000 }, (_, i) =>
      source('autobuild', `p${String(i).padStart(5, '0')}`, '1.0', {
        binaries: [binary(`p${String(i).padStart(5, '0')}`, { depends: i > 0 ? clauses(`p${String(i - 1).padStart(5, '0')}`) : [] })],
        // Close one long cycle from the far end back to the start.
        buildDepends: i === 0 ? clauses('p19999') : [],
      }),
    );
    const plan = planBuildSet({ flavour: 'autobuild', sources }, { arch: 'amd64', origins: ['p10000'] });
    expect(plan.packages).toHaveLength(20000);
    expect(plan.cycles).toHaveLength(1);
    expect(plan.cycles[0]!.members).toHaveLength(20000);
    expect(plan.cycles[0]!.closingEdges).toHaveLength(1);
    expect(plan.waves).toHaveLength(1);
    expect(checkPlan(plan)).toEqual([]);
  });
});

describe('indexed binaries', () => {
  it('maps an archive binary to its source even when the names differ', () => {
    const plan = planBuildSet(
      {
        flavour: 'debian',
        sources: [source('debian', 'zlib', '1.0-1'), source('debian', 'app', '1.0-1', { buildDepends: clauses('zlib1g-dev') })],
        binaries: [indexed('debian', 'zlib1g-dev', '1.0-1', { source: 'zlib' })],
      },
      { arch: 'amd64', origins: ['zlib'] },
    );
    expect(plan.packages.find((p) => p.pkgbase === 'app')!.because).toEqual({ from: 'app', to: 'zlib', kind: 'build', binary: 'zlib1g-dev', clause: 'zlib1g-dev' });
  });
});
