import { describe, expect, it } from 'vitest';
import { layeredLayout, neighbourhood, whyChain, type GraphBuild } from './graph-view.js';
import type { Because } from './iteration.js';

// cairo → libpng → zlib, cairo → pixman, gtk → cairo, gtk → glib (glib needs nothing).
const builds: (GraphBuild & { because: Because | null })[] = [
  { id: 1, pkgbase: 'zlib', pass: 1, depends_on: [], because: null },
  { id: 2, pkgbase: 'pixman', pass: 1, depends_on: [], because: null },
  { id: 3, pkgbase: 'glib', pass: 1, depends_on: [], because: null },
  { id: 4, pkgbase: 'libpng', pass: 1, depends_on: [1], because: { to: 'zlib', kind: 'run', binary: 'zlib', clause: 'zlib>=1.2' } },
  { id: 5, pkgbase: 'cairo', pass: 1, depends_on: [4, 2], because: { to: 'libpng', kind: 'build', binary: 'libpng', clause: 'libpng' } },
  { id: 6, pkgbase: 'gtk', pass: 1, depends_on: [5, 3], because: null },
];

describe('layeredLayout', () => {
  it('puts each build one wave above the highest it needs, every edge pointing down, and the longest chain as the critical path', () => {
    const layout = layeredLayout(builds);
    const wave = (pkgbase: string) => layout.wave[builds.findIndex((b) => b.pkgbase === pkgbase)];
    expect([wave('zlib'), wave('pixman'), wave('glib'), wave('libpng'), wave('cairo'), wave('gtk')]).toEqual([0, 0, 0, 1, 2, 3]);
    expect(layout.waveSizes).toEqual([3, 1, 1, 1]);
    for (let e = 0; e < layout.edges.length; e += 2) expect(layout.wave[layout.edges[e]!]!).toBeGreaterThan(layout.wave[layout.edges[e + 1]!]!);
    expect(layout.edges.length).toBe(2 * 5);
    expect(layout.critical.map((i) => builds[i]!.pkgbase)).toEqual(['zlib', 'libpng', 'cairo', 'gtk']);
    // Rows within a wave are a permutation of 0..size-1.
    const wave0 = [0, 1, 2].map((i) => layout.row[i]).sort();
    expect(wave0).toEqual([0, 1, 2]);
  });

  it('refuses a cycle, and lays out nothing as nothing', () => {
    expect(() => layeredLayout([{ id: 1, pkgbase: 'a', pass: 1, depends_on: [2] }, { id: 2, pkgbase: 'b', pass: 1, depends_on: [1] }])).toThrow(/cycle through 2 builds/);
    expect(layeredLayout([])).toMatchObject({ ids: [], waveSizes: [], critical: [] });
  });

  it('orders a wave by where what it needs sits, so edges do not cross needlessly', () => {
    // Two independent chains: a1 → a0, b1 → b0; b0 sorts before a0 by name only if names decided.
    const two: GraphBuild[] = [
      { id: 1, pkgbase: 'a0', pass: 1, depends_on: [] }, { id: 2, pkgbase: 'b0', pass: 1, depends_on: [] },
      { id: 3, pkgbase: 'z-needs-a0', pass: 1, depends_on: [1] }, { id: 4, pkgbase: 'y-needs-b0', pass: 1, depends_on: [2] },
    ];
    const layout = layeredLayout(two);
    expect(layout.row[2]! < layout.row[3]!).toBe(layout.row[0]! < layout.row[1]!);
  });
});

describe('neighbourhood', () => {
  it('takes n levels of dependants and dependencies, says when it left some out, and keeps the edges among them', () => {
    const one = neighbourhood(builds, 5, 1, 1);
    expect(Object.fromEntries(one.level)).toEqual({ 5: 0, 4: 1, 2: 1, 6: -1 });
    expect(one.truncatedDown).toBe(true);
    expect(one.truncatedUp).toBe(false);
    expect(one.edges).toEqual(expect.arrayContaining([[5, 4], [5, 2], [6, 5]]));
    expect(one.edges).toHaveLength(3);
    const all = neighbourhood(builds, 5, 5, 5);
    expect(all.level.get(1)).toBe(2);
    expect(all.truncatedDown).toBe(false);
  });
});

describe('whyChain', () => {
  it('follows the planner\'s steps back to an origin', () => {
    expect(whyChain(builds, 5, new Set(['zlib']))).toEqual([
      { pkgbase: 'cairo', to: 'libpng', kind: 'build', binary: 'libpng', clause: 'libpng' },
      { pkgbase: 'libpng', to: 'zlib', kind: 'run', binary: 'zlib', clause: 'zlib>=1.2' },
    ]);
    expect(whyChain(builds, 1, new Set(['zlib']))).toEqual([]);
  });

  it('finds a shortest chain through the graph where the planner\'s step was not recorded', () => {
    expect(whyChain(builds, 6, new Set(['zlib'])).map((s) => `${s.pkgbase}→${s.to}`)).toEqual(['gtk→cairo', 'cairo→libpng', 'libpng→zlib']);
    expect(whyChain(builds, 6, new Set(['glib'])).map((s) => `${s.pkgbase}→${s.to}`)).toEqual(['gtk→glib']);
  });
});

describe('whyChains', () => {
  it('gives every build a chain of edges of the graph that ends at an origin', async () => {
    const { whyChains } = await import('./graph-view.js');
    const edges = new Set(builds.flatMap((b) => b.depends_on.map((d) => `${b.pkgbase}→${builds.find((x) => x.id === d)!.pkgbase}`)));
    // The recorded steps lead to zlib; with glib as the origin, only the graph can say.
    const unrecorded = builds.map((b) => ({ ...b, because: null }));
    for (const [set, origins] of [[builds, new Set(['zlib'])], [unrecorded, new Set(['glib'])], [builds, new Set(['zlib', 'pixman'])]] as const) {
      const chain = whyChains(set, origins);
      for (const b of builds) {
        const steps = chain(b.id);
        if (origins.has(b.pkgbase)) expect(steps).toEqual([]);
        else if (steps.length) {
          expect(steps[0]!.pkgbase).toBe(b.pkgbase);
          expect(origins.has(steps[steps.length - 1]!.to)).toBe(true);
          for (const s of steps) expect(edges.has(`${s.pkgbase}→${s.to}`)).toBe(true);
        }
      }
      // Whatever reaches an origin has a chain.
      for (const b of set) if (!origins.has(b.pkgbase) && neighbourhood(set, b.id, 0, 99).level.size > 1 && [...neighbourhood(set, b.id, 0, 99).level.keys()].some((id) => origins.has(set.find((x) => x.id === id)!.pkgbase))) {
        expect(chain(b.id).length, b.pkgbase).toBeGreaterThan(0);
      }
    }
  });
});
