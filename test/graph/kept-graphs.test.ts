/**
 * Kept dependency graphs on the shared datasets: a graph kept from one universe and updated for
 * another that differs in some recipes (added, removed, replaced by changed ones) must be the graph
 * built afresh from that universe, field for field. The changes are random (fast-check) over real
 * recipes: new versions (higher and lower), provides taken from other packages, build dependencies
 * added and dropped, binaries renamed and dropped, architectures the recipe no longer builds on,
 * and copies that change nothing but the object.
 */
import { resolve } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadUniverse, type UniverseSpec } from '../../src/cli/universe-load.js';
import { DependencyGraph } from '../../src/core/graph/dependency-graph.js';
import { KeptGraphs } from '../../src/core/graph/kept-graphs.js';
import { planBuildSet } from '../../src/core/graph/plan.js';
import type { Universe } from '../../src/core/graph/universe.js';
import { archView } from '../../src/core/recipe/arch-view.js';
import { formatClause } from '../../src/core/recipe/dependency-text.js';
import type { SourcePackage } from '../../src/core/recipe/model.js';

const SHARED = resolve(process.cwd(), '../shared/datasets');

/** Everything a graph answers with, as text (names instead of ids where ids are the graph's own): compared as strings, quickly. */
function graphFacts(graph: DependencyGraph): Record<string, string> {
  const list = (values: ArrayLike<number>): string => Array.prototype.join.call(values, ',');
  return {
    binaries: graph.index.entries.map((e) => `${e.name} ${e.version} ${e.source}`).join('\n'),
    pkgbases: graph.pkgbases.join('\n'),
    notBuilt: [...graph.notBuilt].sort().join('\n'),
    edgeStart: list(graph.edgeStart),
    edgeTarget: list(graph.edgeTarget),
    edgeBinary: list(graph.edgeBinary),
    edgeKind: list(graph.edgeKind),
    edgeVia: list(graph.edgeVia),
    edgeClause: graph.edgeClause.map(formatClause).join('\n'),
    selfNeeds: [...graph.selfNeeds].join(' '),
    unresolved: [...graph.unresolved].map(([s, problems]) => `${s}: ${problems.map((p) => `${p.kind} ${formatClause(p.clause)} ${p.binary ?? ''}`).join('; ')}`).join('\n'),
  };
}

const MUTATIONS = ['copy', 'newer', 'older', 'provide', 'add-dependency', 'drop-dependencies', 'rename-binary', 'drop-binary', 'not-built', 'remove'] as const;
type Mutation = (typeof MUTATIONS)[number];

/** A changed copy of a recipe (the original is never modified); null for a removed one. */
function mutate(source: SourcePackage, mutation: Mutation, otherName: string): SourcePackage | null {
  const binaries = source.binaries.map((b) => ({ ...b }));
  const copy: SourcePackage = { ...source, binaries };
  const v = source.version;
  switch (mutation) {
    case 'copy':
      return copy;
    case 'newer':
      return { ...copy, version: { ...v, upstream: `${v.upstream}.1`, text: v.text.replace(v.upstream, `${v.upstream}.1`) } };
    case 'older':
      return { ...copy, version: { epoch: 0, upstream: '0.0.1', release: null, text: '0.0.1' } };
    case 'provide':
      if (binaries[0]) binaries[0].provides = [...binaries[0].provides, { name: otherName }];
      return copy;
    case 'add-dependency':
      return { ...copy, buildDepends: [...source.buildDepends, [{ name: otherName }]] };
    case 'drop-dependencies':
      for (const b of binaries) b.depends = [];
      return { ...copy, buildDepends: [], buildDependsArch: [], checkDepends: [] };
    case 'rename-binary':
      if (binaries[0]) binaries[0].name = `${binaries[0].name}-renamed`;
      return copy;
    case 'drop-binary':
      return { ...copy, binaries: binaries.slice(1) };
    case 'not-built':
      return { ...copy, architectures: ['no-such-arch'] };
    case 'remove':
      return null;
  }
}

/** A change of `count` recipes, as picks into the dataset. */
const change = (size: number) =>
  fc.array(fc.record({ at: fc.nat(size - 1), mutation: fc.constantFrom(...MUTATIONS), other: fc.nat(size - 1) }), { minLength: 1, maxLength: 12 });

function applyChange(universe: Universe, all: readonly SourcePackage[], picks: { at: number; mutation: Mutation; other: number }[]): Universe {
  const sources = [...universe.sources];
  for (const { at, mutation, other } of picks) {
    const original = all[at]!;
    const otherName = all[other]!.binaries[0]?.name ?? all[other]!.pkgbase;
    const position = sources.findIndex((s) => s.pkgbase === original.pkgbase);
    // A recipe removed by an earlier change comes back (as it is in the dataset, or changed).
    const current = position >= 0 ? sources[position]! : original;
    const changed = mutate(current, mutation, otherName);
    if (position >= 0) sources.splice(position, 1, ...(changed ? [changed] : []));
    else sources.push(changed ?? original);
  }
  return { flavour: universe.flavour, sources };
}

const DATASETS: { name: string; spec: UniverseSpec; arches: string[]; profiles?: string[]; runs: number }[] = [
  { name: 'AOSC abbs tree', spec: { kind: 'aosc', path: `${SHARED}/aosc-abbs/abbs-metadata.tar.xz` }, arches: ['amd64', 'riscv64'], runs: 12 },
  { name: 'Arch .SRCINFO (archlinuxcn)', spec: { kind: 'srcinfo', path: `${SHARED}/archlinux-srcinfo/srcinfo.tar.xz` }, arches: ['x86_64'], runs: 25 },
  { name: 'Debian bookworm Sources', spec: { kind: 'debian', sources: `${SHARED}/debian-bookworm/Sources.xz`, packages: null }, arches: ['amd64'], profiles: ['nocheck'], runs: 3 },
];

describe.each(DATASETS)('kept graphs on $name', ({ spec, arches, profiles = [], runs }) => {
  let dataset: Universe;
  beforeAll(async () => {
    dataset = (await loadUniverse(spec, { sources: true })).universe;
  });

  it('updated for a change of recipes, a kept graph equals the graph built afresh (and plans alike)', async () => {
    const all = dataset.sources;
    let updates = 0;
    let reused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(change(all.length), { minLength: 1, maxLength: 3 }), fc.array(fc.nat(all.length - 1), { maxLength: 30 }), async (steps, leftOut) => {
        // Each run lets the test runner's messages through: a whole property takes tens of seconds.
        await new Promise((resolve) => setImmediate(resolve));
        // The first universe lacks some recipes, which the changes may bring back.
        const gone = new Set(leftOut.map((i) => all[i]!.pkgbase));
        let universe: Universe = { flavour: dataset.flavour, sources: all.filter((s) => !gone.has(s.pkgbase)) };
        const kept = new KeptGraphs();
        for (const arch of arches) kept.graphFor(universe, arch, profiles);
        for (const picks of steps) {
          const before = universe;
          universe = applyChange(universe, all, picks);
          for (const arch of arches) {
            const previous = kept.graphFor(before, arch, profiles);
            const graph = kept.graphFor(universe, arch, profiles);
            const fresh = DependencyGraph.of(universe, archView(arch, profiles));
            expect(graphFacts(graph)).toEqual(graphFacts(fresh));
            expect(graph.sources.every((source, s) => source === fresh.sources[s])).toBe(true);
            // Updated alone, told only which recipes changed (every recipe picked is a new object, or gone, or back).
            const alone = DependencyGraph.updated(previous, universe, new Set(picks.map((p) => all[p.at]!.pkgbase)));
            expect(graphFacts(alone)).toEqual(graphFacts(fresh));
            updates++;
            // The update took edges from the kept graph rather than resolving them all again.
            if (graph !== previous && graph.resolvedSources < graph.sources.length) reused++;
            const origin = universe.sources[picks[0]!.at % universe.sources.length]!.pkgbase;
            if (graph.sourceIds.has(origin)) {
              expect(planBuildSet(graph, { arch, profiles, origins: [origin] })).toEqual(planBuildSet(fresh, { arch, profiles, origins: [origin] }));
            }
          }
        }
      }),
      { numRuns: runs },
    );
    expect(updates).toBeGreaterThan(0);
    expect(reused).toBeGreaterThan(0);
  }, 300_000);
});
