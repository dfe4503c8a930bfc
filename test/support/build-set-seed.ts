/**
 * Build sets written straight into a server's store (as planning would record them), for the web UI's
 * tests: a hand-made one, and a large generated DAG (thousands of builds in waves) that planning the
 * real way would take minutes of index syncing to make.
 */
import type { BuildState } from '../../src/core/build-state.js';
import type { Because } from '../../src/core/build-set/iteration.js';
import type { BuildStore, IterationRow, NamespaceRow, PlannedBuild } from '../../src/server/store/build-store.js';
import { seededRandom } from './seeded-random.js';

export interface SeedBuild {
  pkgbase: string;
  arch?: string;
  /** Indexes into the same list. */
  depends?: number[];
  state?: BuildState;
  reason?: string | null;
  because?: Because | null;
  version?: string;
}

/** Records a build set with one iteration of `builds`; states other than blocked are set after. */
export function seedBuildSet(store: BuildStore, input: { name: string; origins: string[]; packager?: string | null; builds: SeedBuild[]; reason?: string; cycles?: IterationRow['cycles'] }): { ns: NamespaceRow; iteration: IterationRow; ids: number[] } {
  const ns = store.namespaceByName(input.name) ?? store.createNamespace({ name: input.name, origin: input.origins, kind: 'api', packager: input.packager ?? null, target_branch: 'main', mr_project_id: null, mr_iid: null });
  const planned: PlannedBuild[] = input.builds.map((b, i) => ({
    pkgbase: b.pkgbase, arch: b.arch ?? 'x86_64', pass: 1, project_id: 1000 + i, project_path: `packages/${b.pkgbase}`, ref: 'main',
    sha: (i + 1).toString(16).padStart(40, '0'), version: b.version ?? '1.0-1', dependsOn: b.depends ?? [], input_key: String(i), state: 'blocked',
    packager: input.packager ?? null, because: b.because ?? null,
  }));
  const iteration = store.addIteration(ns.id, input.reason ?? 'created', { cycles: input.cycles ?? [], unresolved: [] }, planned);
  const ids = store.builds(iteration.id).map((b) => b.id);
  store.transaction(() => input.builds.forEach((b, i) => {
    if (b.state && b.state !== 'blocked') store.setState(ids[i]!, b.state, b.reason ?? null);
  }));
  return { ns, iteration, ids };
}

/**
 * A DAG of `count` builds in about `waves` waves, like a rebuild of a large distribution: each build
 * needs 1–`fanIn` builds of lower waves (most from the wave just below), the first build is the origin.
 * Builds of the lower waves are built, a band is building, the rest wait; a few failed.
 */
export function largeBuildSet(count: number, options: { waves?: number; fanIn?: number; seed?: number } = {}): SeedBuild[] {
  const random = seededRandom(options.seed ?? 6000);
  const waves = options.waves ?? 40;
  const fanIn = options.fanIn ?? 4;
  const waveOf: number[] = [];
  const byWave: number[][] = Array.from({ length: waves }, () => []);
  const builds: SeedBuild[] = [];
  for (let i = 0; i < count; i++) {
    // Wider waves in the middle: most of a distribution sits a few levels above its core.
    const w = i === 0 ? 0 : Math.min(waves - 1, 1 + Math.floor(Math.pow(random(), 1.6) * (waves - 1)));
    waveOf.push(w);
  }
  waveOf.sort((a, b) => a - b);
  for (let i = 0; i < count; i++) {
    const w = waveOf[i]!;
    const depends = new Set<number>();
    if (w > 0) {
      const below = byWave[w - 1]!.length ? byWave[w - 1]! : byWave.slice(0, w).flat();
      depends.add(below[Math.floor(random() * below.length)]!);
      const extra = Math.floor(random() * fanIn);
      for (let k = 0; k < extra; k++) {
        const lower = byWave[Math.floor(random() * w)]!;
        if (lower.length) depends.add(lower[Math.floor(random() * lower.length)]!);
      }
    }
    byWave[w]!.push(i);
    const first = [...depends][0];
    const state: BuildState = w < waves * 0.3 ? (random() < 0.01 ? 'failed' : 'built') : w < waves * 0.35 ? 'building' : 'blocked';
    builds.push({
      pkgbase: `pkg${String(i).padStart(4, '0')}`, depends: [...depends], state,
      because: first === undefined ? null : { to: `pkg${String(first).padStart(4, '0')}`, kind: 'build', binary: `pkg${String(first).padStart(4, '0')}`, clause: `pkg${String(first).padStart(4, '0')}` },
      ...(state === 'failed' ? { reason: 'script_failure' } : {}),
    });
  }
  return builds;
}
