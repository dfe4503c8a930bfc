import { describe, expect, it } from 'vitest';
import { accountsForRecipe, BUILD_STATES, dependantsOf, labelOf, propagate, propagateFrom, selectForDispatch, transition, type BuildEvent, type BuildNode, type BuildState } from './build-state.js';

const EVENTS: BuildEvent[] = [
  { type: 'dependencies-built' },
  { type: 'dependency-failed', reason: 'r' },
  { type: 'dependencies-pending' },
  { type: 'dispatch' },
  { type: 'dispatch-failed', reason: 'r' },
  { type: 'pipeline-running' },
  { type: 'pipeline-succeeded' },
  { type: 'pipeline-failed', reason: 'r' },
  { type: 'pipeline-canceled' },
  { type: 'cancel' },
  { type: 'retry' },
  { type: 'supersede' },
];

// Rows: states; columns: EVENTS in order. A state name = moved there; "=" = unchanged; "-" = refused.
const B = 'blocked', R = 'ready', D = 'dispatched', G = 'building', OK = 'built', F = 'failed', DF = 'dependency-failed', C = 'cancelled', S = 'superseded';
const EXPECTED: Record<BuildState, string[]> = {
  //                   deps-built dep-failed pending dispatch disp-failed running succeeded failed canceled cancel retry supersede
  blocked:             [R,        DF,        '=',    '-',     '-',        '-',    '-',      '-',   '-',     C,     '-',  S],
  ready:               ['=',      DF,        B,      D,       '-',        '-',    '-',      '-',   '-',     C,     '-',  S],
  dispatched:          ['-',      '-',       '-',    '-',     F,          G,      OK,       F,     C,       C,     '-',  S],
  building:            ['-',      '-',       '-',    '-',     '-',        '=',    OK,       F,     C,       C,     '-',  S],
  built:               ['-',      '-',       '-',    '-',     '-',        '=',    '=',      '=',   '=',     '-',   '-',  '-'],
  failed:              ['-',      '-',       '-',    '-',     '-',        G,      OK,       '=',   '=',     '-',   B,    S],
  'dependency-failed': [R,        '=',       B,      '-',     '-',        '-',    '-',      '-',   '-',     C,     '-',  S],
  cancelled:           ['-',      '-',       '-',    '-',     '-',        G,      OK,       '-',   '=',     '=',   B,    S],
  superseded:          ['-',      '-',       '-',    '-',     '-',        '-',    '-',      '-',   '-',     '-',   '-',  '='],
};

describe('transition', () => {
  for (const state of BUILD_STATES) {
    it(`moves a ${state} build exactly as the table says, for every event`, () => {
      const got = EVENTS.map((event) => {
        const t = transition(state, event);
        return t.outcome === 'moved' ? t.state : t.outcome === 'unchanged' ? '=' : '-';
      });
      expect(got).toEqual(EXPECTED[state]);
    });
  }

  it('keeps the reason an event brings, and says why it refuses', () => {
    expect(transition('building', { type: 'pipeline-failed', reason: 'job build failed' })).toEqual({ outcome: 'moved', state: 'failed', reason: 'job build failed' });
    expect(transition('superseded', { type: 'dispatch' })).toEqual({ outcome: 'refused', reason: 'a superseded build cannot take "dispatch"' });
  });
});

const node = (id: number, state: BuildState, dependsOn: number[] = [], reason: string | null = null): BuildNode => ({ id, label: `p${id}/x86_64`, state, reason, dependsOn });

function apply(builds: BuildNode[]): Record<number, [BuildState, string | null]> {
  const byId = new Map(builds.map((b) => [b.id, { ...b }]));
  for (const change of propagate(builds)) Object.assign(byId.get(change.id)!, { state: change.to, reason: change.reason });
  return Object.fromEntries([...byId.values()].map((b) => [b.id, [b.state, b.reason]]));
}

describe('propagate', () => {
  it('readies builds whose dependencies are all built, and only those', () => {
    expect(apply([node(1, 'built'), node(2, 'blocked', [1]), node(3, 'blocked', [1, 2]), node(4, 'blocked')])).toEqual({
      1: ['built', null], 2: ['ready', null], 3: ['blocked', null], 4: ['ready', null],
    });
  });

  it('marks every dependant, however deep, dependency-failed with the root cause', () => {
    const result = apply([node(1, 'failed', [], 'job build failed'), node(2, 'ready', [1]), node(3, 'blocked', [2]), node(4, 'blocked', [3, 5]), node(5, 'built')]);
    expect(result[2]).toEqual(['dependency-failed', 'dependency p1/x86_64 failed: job build failed']);
    expect(result[3]).toEqual(['dependency-failed', 'dependency p1/x86_64 failed: job build failed']);
    expect(result[4]).toEqual(['dependency-failed', 'dependency p1/x86_64 failed: job build failed']);
  });

  it('unblocks dependants when the failed build is retried, and readies them when it succeeds', () => {
    const failed = [node(1, 'failed', [], 'x'), node(2, 'dependency-failed', [1], 'dependency p1/x86_64 failed: x'), node(3, 'dependency-failed', [2], 'dependency p1/x86_64 failed: x')];
    const retried = failed.map((b) => (b.id === 1 ? { ...b, state: 'building' as const, reason: null } : b));
    expect(apply(retried)).toMatchObject({ 2: ['blocked', null], 3: ['blocked', null] });
    const succeeded = failed.map((b) => (b.id === 1 ? { ...b, state: 'built' as const, reason: null } : b));
    expect(apply(succeeded)).toMatchObject({ 2: ['ready', null], 3: ['blocked', null] });
  });

  it('names a cancelled dependency, and updates the reason when the root cause changes', () => {
    expect(apply([node(1, 'cancelled'), node(2, 'blocked', [1])])[2]).toEqual(['dependency-failed', 'dependency p1/x86_64 was cancelled']);
    const moved = apply([node(1, 'built'), node(2, 'failed', [], 'y'), node(3, 'dependency-failed', [1, 2], 'dependency p1/x86_64 failed: x')]);
    expect(moved[3]).toEqual(['dependency-failed', 'dependency p2/x86_64 failed: y']);
  });

  it('never touches builds that have a pipeline or are settled, and terminates on a cycle', () => {
    const builds = [node(1, 'building', [2]), node(2, 'built', [1]), node(3, 'superseded', [9]), node(4, 'blocked', [5]), node(5, 'blocked', [4])];
    expect(propagate(builds)).toEqual([]);
  });
});

/** propagateFrom over `builds` after `moved` moved, as the states and reasons it leaves. */
function applyFrom(builds: BuildNode[], moved: number[]): Record<number, [BuildState, string | null]> {
  const byId = new Map(builds.map((b) => [b.id, b]));
  const before = JSON.stringify(builds);
  const result = Object.fromEntries(builds.map((b) => [b.id, [b.state, b.reason]])) as Record<number, [BuildState, string | null]>;
  const changes = propagateFrom(byId, dependantsOf(builds), moved);
  expect(JSON.stringify(builds)).toBe(before);
  expect(new Set(changes.map((c) => c.id)).size).toBe(changes.length);
  for (const change of changes) result[change.id] = [change.to, change.reason];
  return result;
}

describe('propagateFrom', () => {
  it('follows a failure through every dependant, however deep, and leaves the rest alone (its input untouched)', () => {
    const builds = [node(1, 'failed', [], 'job build failed'), node(2, 'ready', [1]), node(3, 'blocked', [2]), node(4, 'blocked', [3, 5]), node(5, 'building'), node(6, 'blocked', [5])];
    expect(applyFrom(builds, [1])).toEqual(apply(builds));
  });

  it('unblocks and readies dependants of a retried or succeeded build, with one change per build', () => {
    const failed = [node(1, 'failed', [], 'x'), node(2, 'dependency-failed', [1], 'dependency p1/x86_64 failed: x'), node(3, 'dependency-failed', [2], 'dependency p1/x86_64 failed: x'), node(4, 'dependency-failed', [1, 3], 'dependency p1/x86_64 failed: x')];
    const retried = failed.map((b) => (b.id === 1 ? { ...b, state: 'blocked' as const, reason: null } : b));
    expect(applyFrom(retried, [1])).toEqual(apply(retried));
    const succeeded = failed.map((b) => (b.id === 1 ? { ...b, state: 'built' as const, reason: null } : b));
    expect(applyFrom(succeeded, [1])).toEqual({ ...apply(succeeded), 2: ['ready', null] });
  });

  it('updates the reason when the root cause changes, and reports nothing for a build back where it was', () => {
    const builds = [node(1, 'built'), node(2, 'failed', [], 'y'), node(3, 'dependency-failed', [1, 2], 'dependency p1/x86_64 failed: x')];
    expect(applyFrom(builds, [1, 2])[3]).toEqual(['dependency-failed', 'dependency p2/x86_64 failed: y']);
    expect(propagateFrom(new Map(builds.map((b) => [b.id, b])), dependantsOf(builds), [2]).map((c) => c.id)).toEqual([3]);
    const settled = [node(1, 'built'), node(2, 'ready', [1])];
    expect(propagateFrom(new Map(settled.map((b) => [b.id, b])), dependantsOf(settled), [1])).toEqual([]);
  });

  it('terminates on a cycle, and passes over ids it does not know as propagate does', () => {
    const builds = [node(1, 'failed', [], 'z'), node(2, 'blocked', [1, 3]), node(3, 'blocked', [2]), node(4, 'blocked', [9])];
    expect(applyFrom(builds, [1, 4, 9])).toEqual(apply(builds));
    expect(applyFrom(builds, [1])).toMatchObject({ 2: ['dependency-failed', 'dependency p1/x86_64 failed: z'], 3: ['dependency-failed', 'dependency p1/x86_64 failed: z'], 4: ['blocked', null] });
  });
});

describe('labelOf', () => {
  it('names a build by pkgbase and architecture, and a second pass as such', () => {
    expect(labelOf({ pkgbase: 'glibc', arch: 'x86_64', pass: 1 })).toBe('glibc/x86_64');
    expect(labelOf({ pkgbase: 'glibc', arch: 'x86_64', pass: 2 })).toBe('glibc/x86_64 (pass 2)');
  });
});

describe('selectForDispatch', () => {
  it('fills the room left under max_in_flight with the oldest ready builds', () => {
    const builds = [node(5, 'ready'), node(2, 'ready'), node(3, 'building'), node(4, 'dispatched'), node(1, 'blocked'), node(6, 'ready')];
    expect(selectForDispatch(builds, 4)).toEqual([2, 5]);
    expect(selectForDispatch(builds, 2)).toEqual([]);
    expect(selectForDispatch(builds, 10)).toEqual([2, 5, 6]);
  });
});

describe('accountsForRecipe', () => {
  it('counts a built build in any iteration, and one on its way only in a live iteration', () => {
    const live = BUILD_STATES.filter((s) => accountsForRecipe(s, true));
    const superseded = BUILD_STATES.filter((s) => accountsForRecipe(s, false));
    expect(live).toEqual(['blocked', 'ready', 'dispatched', 'building', 'built']);
    expect(superseded).toEqual(['built']);
  });
});
