/** What changed from one iteration of a build set to the next, from what the store records of their builds. */
import type { BuildState } from '../build-state.js';

/** What the comparison needs of a build. */
export interface ComparedBuild {
  pkgbase: string;
  arch: string;
  pass: number;
  sha: string;
  version: string;
  state: BuildState;
  /** Set when the build continues one of an earlier iteration. */
  reused_from: number | null;
}

export interface IterationChanges {
  /** Recipes at another commit than in the previous iteration (origins that moved, dependencies that changed). */
  moved: { pkgbase: string; arch: string; from: string; to: string; version: string }[];
  /** pkgbase/arch newly in the set, and no longer in it. */
  added: string[];
  dropped: string[];
  /** Builds taken over from the previous iteration (built, or in flight and going on). */
  carried: number;
  /** Builds of this iteration made anew. */
  fresh: number;
  /** Builds of the previous iteration that this one superseded (their unfinished work stopped), and those cancelled before. */
  superseded: number;
  cancelled: number;
}

const key = (b: ComparedBuild) => `${b.pkgbase}/${b.arch}`;

/** Compares an iteration's builds with its predecessor's (none for the first iteration). */
export function iterationChanges(previous: readonly ComparedBuild[], current: readonly ComparedBuild[]): IterationChanges {
  const before = new Map(previous.filter((b) => b.pass === 1).map((b) => [key(b), b]));
  const now = new Map(current.filter((b) => b.pass === 1).map((b) => [key(b), b]));
  const moved: IterationChanges['moved'] = [];
  for (const [k, b] of now) {
    const old = before.get(k);
    if (old && old.sha !== b.sha) moved.push({ pkgbase: b.pkgbase, arch: b.arch, from: old.sha, to: b.sha, version: b.version });
  }
  return {
    moved,
    added: [...now.keys()].filter((k) => !before.has(k)),
    dropped: [...before.keys()].filter((k) => !now.has(k)),
    carried: current.filter((b) => b.reused_from !== null).length,
    fresh: current.filter((b) => b.reused_from === null).length,
    superseded: previous.filter((b) => b.state === 'superseded').length,
    cancelled: previous.filter((b) => b.state === 'cancelled').length,
  };
}
