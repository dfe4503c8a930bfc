import { describe, expect, it } from 'vitest';
import { binary, clauses, dep, indexed, provide, source } from '../../../test/support/universe-builder.js';
import { archView } from '../recipe/arch-view.js';
import { formatClause } from '../recipe/dependency-text.js';
import type { SourcePackage } from '../recipe/model.js';
import { DependencyGraph } from './dependency-graph.js';
import { KeptGraphs } from './kept-graphs.js';
import { planBuildSet } from './plan.js';
import type { Universe } from './universe.js';

const arch = (pkgbase: string, version: string, parts: Parameters<typeof source>[3] = {}): SourcePackage => source('pkgbuild', pkgbase, version, parts);

const sources: SourcePackage[] = [
  arch('glibc', '2.40-1'),
  arch('zlib', '1.3-1', { binaries: [binary('zlib', { depends: clauses('glibc'), provides: [provide('libz.so', '1-64')] })] }),
  arch('openssl', '3.4-1', { binaries: [binary('openssl', { depends: clauses('zlib') })] }),
  arch('curl', '8.11-1', { binaries: [binary('curl', { depends: clauses(dep('libz.so', '=', '1-64')) })] }),
  arch('python', '3.12-1', { buildDepends: clauses('openssl', [dep('libressl'), dep('bzip2')]) }),
  arch('bzip2', '1.0-1'),
  arch('hello', '2.12-1', { binaries: [binary('hello', { depends: clauses('glibc') })] }),
];
const universe: Universe = { flavour: 'pkgbuild', sources };
const view = archView('x86_64', []);

/** A graph's edges as text, and its unresolved clauses: what two equal graphs share. */
function facts(graph: DependencyGraph): string[] {
  const edges = graph.pkgbases.flatMap((pkgbase, s) => {
    const lines: string[] = [];
    for (let e = graph.edgeStart[s]!; e < graph.edgeStart[s + 1]!; e++) {
      lines.push(`${pkgbase} -> ${graph.pkgbases[graph.edgeTarget[e]!]} via ${graph.index.entries[graph.edgeBinary[e]!]!.name} (${formatClause(graph.edgeClause[e]!)})`);
    }
    return lines;
  });
  const unresolved = [...graph.unresolved].map(([s, problems]) => `${graph.pkgbases[s]} lacks ${problems.map((p) => formatClause(p.clause)).join(', ')}`);
  return [...edges, ...unresolved, `not built: ${[...graph.notBuilt].join(' ')}`];
}

/** The universe with some recipes replaced (the others the same objects). */
function replaced(from: Universe, changes: Record<string, SourcePackage | null>): Universe {
  const kept = from.sources.filter((s) => !(s.pkgbase in changes));
  return { flavour: from.flavour, sources: [...kept, ...Object.values(changes).filter((s): s is SourcePackage => s !== null)] };
}

describe('KeptGraphs', () => {
  it('gives the same graph for the same universe, on every call', () => {
    const kept = new KeptGraphs();
    expect(kept.graphFor(universe, 'x86_64')).toBe(kept.graphFor(universe, 'x86_64'));
  });

  it('updates the kept graph for a push, resolving again only what the changed recipes touch', () => {
    const kept = new KeptGraphs();
    kept.graphFor(universe, 'x86_64');
    // zlib stops providing libz.so: curl loses its edge to zlib and gets an unresolved clause.
    const next = replaced(universe, { zlib: arch('zlib', '1.3.1-1', { binaries: [binary('zlib', { depends: clauses('glibc') })] }) });
    const graph = kept.graphFor(next, 'x86_64');
    expect(facts(graph)).toEqual(facts(DependencyGraph.of(next, view)));
    expect(facts(graph)).toContain('curl lacks libz.so (= 1-64)');
    // zlib itself, and openssl and curl which ask for names zlib's binary answered to; not glibc, python, bzip2, hello.
    expect(graph.resolvedSources).toBe(3);
  });

  it('follows recipes added and removed, and plans as a graph built afresh', () => {
    const kept = new KeptGraphs();
    kept.graphFor(universe, 'x86_64');
    const next = replaced(universe, { bzip2: null, libressl: arch('libressl', '4.0-1', { binaries: [binary('libressl', { depends: clauses('zlib') })] }) });
    const graph = kept.graphFor(next, 'x86_64');
    const fresh = DependencyGraph.of(next, view);
    expect(facts(graph)).toEqual(facts(fresh));
    expect(planBuildSet(graph, { arch: 'x86_64', origins: ['zlib'] })).toEqual(planBuildSet(fresh, { arch: 'x86_64', origins: ['zlib'] }));
    expect(planBuildSet(graph, { arch: 'x86_64', origins: ['zlib'] }).packages.map((p) => p.pkgbase)).toContain('python');
  });

  it('keeps one graph for each architecture', () => {
    const kept = new KeptGraphs();
    const both = replaced(universe, { armonly: arch('armonly', '1-1', { architectures: ['aarch64'], buildDepends: clauses('zlib') }) });
    const x86 = kept.graphFor(both, 'x86_64');
    const arm = kept.graphFor(both, 'aarch64');
    expect(x86.notBuilt.has('armonly')).toBe(true);
    expect(arm.sourceIds.has('armonly')).toBe(true);
    expect(kept.graphFor(both, 'x86_64')).toBe(x86);
  });

  it('builds afresh for a universe with its own binary index', () => {
    const debian: Universe = {
      flavour: 'debian',
      sources: [source('debian', 'zlib', '1.3-1'), source('debian', 'curl', '8.11-1', { buildDepends: clauses('zlib1g-dev') })],
      binaries: [indexed('debian', 'zlib1g-dev', '1.3-1', { source: 'zlib' })],
    };
    const kept = new KeptGraphs();
    kept.graphFor(debian, 'amd64');
    const next: Universe = { ...debian, binaries: [indexed('debian', 'zlib1g-dev', '1.3-2', { source: 'zlib' })] };
    const graph = kept.graphFor(next, 'amd64');
    expect(graph.resolvedSources).toBe(graph.sources.length);
    expect(facts(graph)).toEqual(facts(DependencyGraph.of(next, archView('amd64', []))));
  });
});

describe('DependencyGraph.updated', () => {
  it('resolves everything again when a recipe changed that it was not told of', () => {
    const graph = DependencyGraph.of(universe, view);
    const next = replaced(universe, { zlib: arch('zlib', '1.3-1', { binaries: [binary('zlib', { provides: [provide('libz.so', '1-64')] })] }) });
    const updated = DependencyGraph.updated(graph, next, new Set(['hello']));
    expect(updated.resolvedSources).toBe(updated.sources.length);
    expect(facts(updated)).toEqual(facts(DependencyGraph.of(next, view)));
  });
});
