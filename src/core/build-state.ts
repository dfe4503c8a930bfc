/**
 * The life of one build, as a pure state machine, and the propagation rules between builds of one
 * iteration: a failure marks every dependant dependency-failed with the root cause; a later success
 * (a retried pipeline) unblocks them again.
 */

export const BUILD_STATES = [
  'blocked', 'ready', 'dispatched', 'building', 'built', 'failed', 'dependency-failed', 'cancelled', 'superseded',
] as const;

export type BuildState = (typeof BUILD_STATES)[number];

/** What can happen to a build. Pipeline events come from GitLab (hooks or the reconcile poll); the rest from quarters or its users. */
export type BuildEvent =
  | { type: 'dependencies-built' }
  | { type: 'dependency-failed'; reason: string }
  | { type: 'dependencies-pending' }
  | { type: 'dispatch' }
  | { type: 'dispatch-failed'; reason: string }
  | { type: 'pipeline-running' }
  | { type: 'pipeline-succeeded' }
  | { type: 'pipeline-failed'; reason: string }
  | { type: 'pipeline-canceled' }
  | { type: 'cancel' }
  | { type: 'retry' }
  | { type: 'supersede' };

export type BuildEventType = BuildEvent['type'];

/** The outcome of applying an event: a move, nothing to do (the event is old news), or a refusal with why. */
export type Transition =
  | { outcome: 'moved'; state: BuildState; reason: string | null }
  | { outcome: 'unchanged' }
  | { outcome: 'refused'; reason: string };

/** States a pipeline exists for. */
export const IN_FLIGHT: readonly BuildState[] = ['dispatched', 'building'];
/** States that no longer change by themselves (a retry or a pipeline re-run may still move some). */
export const SETTLED: readonly BuildState[] = ['built', 'failed', 'dependency-failed', 'cancelled', 'superseded'];
/** States of a build on its way to being built: waiting for its dependencies, or with a pipeline (being) made. */
export const ON_ITS_WAY: readonly BuildState[] = ['blocked', 'ready', 'dispatched', 'building'];

/**
 * Whether a build accounts for its recipe version: built (in any iteration), or on its way to it in a
 * live (not superseded) iteration. A push of a recipe version some build accounts for needs no new build.
 */
export function accountsForRecipe(state: BuildState, iterationLive: boolean): boolean {
  return state === 'built' || (iterationLive && ON_ITS_WAY.includes(state));
}

const waiting: readonly BuildState[] = ['blocked', 'ready', 'dependency-failed'];

/** For each event: the states it moves a build out of, and where to (the reason comes with the event). */
const TABLE: Record<BuildEventType, { from: readonly BuildState[]; to: BuildState; sameAs?: readonly BuildState[] }> = {
  'dependencies-built': { from: ['blocked', 'dependency-failed'], to: 'ready', sameAs: ['ready'] },
  'dependency-failed': { from: ['blocked', 'ready'], to: 'dependency-failed', sameAs: ['dependency-failed'] },
  'dependencies-pending': { from: ['ready', 'dependency-failed'], to: 'blocked', sameAs: ['blocked'] },
  dispatch: { from: ['ready'], to: 'dispatched' },
  'dispatch-failed': { from: ['dispatched'], to: 'failed' },
  // A GitLab retry re-runs a failed or cancelled pipeline: the build is back to building.
  'pipeline-running': { from: ['dispatched', 'failed', 'cancelled'], to: 'building', sameAs: ['building', 'built'] },
  'pipeline-succeeded': { from: ['dispatched', 'building', 'failed', 'cancelled'], to: 'built', sameAs: ['built'] },
  'pipeline-failed': { from: ['dispatched', 'building'], to: 'failed', sameAs: ['failed', 'built'] },
  'pipeline-canceled': { from: ['dispatched', 'building'], to: 'cancelled', sameAs: ['cancelled', 'built', 'failed'] },
  cancel: { from: ['blocked', 'ready', 'dispatched', 'building', 'dependency-failed'], to: 'cancelled', sameAs: ['cancelled'] },
  retry: { from: ['failed', 'cancelled'], to: 'blocked' },
  supersede: { from: ['blocked', 'ready', 'dispatched', 'building', 'failed', 'dependency-failed', 'cancelled'], to: 'superseded', sameAs: ['superseded'] },
};

/** Applies one event to a build in `state`. Superseded builds never move again. */
export function transition(state: BuildState, event: BuildEvent): Transition {
  const rule = TABLE[event.type];
  if (rule.sameAs?.includes(state)) return { outcome: 'unchanged' };
  if (!rule.from.includes(state)) return { outcome: 'refused', reason: `a ${state} build cannot take "${event.type}"` };
  const reason = 'reason' in event ? event.reason : null;
  return { outcome: 'moved', state: rule.to, reason };
}

/** A build as propagation sees it. */
export interface BuildNode {
  id: number;
  /** How the build is named in reasons, e.g. "glibc/x86_64". */
  label: string;
  state: BuildState;
  reason: string | null;
  dependsOn: number[];
}

export interface StateChange {
  id: number;
  from: BuildState;
  to: BuildState;
  reason: string | null;
}

/** How a build is named in reasons: "pkgbase/arch", with the pass of a cycle's second pass. */
export function labelOf(build: { pkgbase: string; arch: string; pass: number }): string {
  return `${build.pkgbase}/${build.arch}${build.pass > 1 ? ` (pass ${build.pass})` : ''}`;
}

/** Why a dependant of `dep` cannot build: the root failure, named once, however deep the chain. */
function blame(dep: BuildNode): string {
  if (dep.state === 'dependency-failed' && dep.reason) return dep.reason;
  if (dep.state === 'cancelled') return `dependency ${dep.label} was cancelled`;
  return `dependency ${dep.label} failed${dep.reason ? `: ${dep.reason}` : ''}`;
}

/**
 * Where one waiting build stands given its dependencies' states: ready when all are built,
 * dependency-failed when one failed or was cancelled (or is itself dependency-failed), blocked
 * otherwise. Null when it stays as it is (same state, same reason); a build that is not waiting always stays.
 */
function settleOne(build: BuildNode, dependency: (id: number) => BuildNode | undefined): { to: BuildState; reason: string | null } | null {
  if (!waiting.includes(build.state)) return null;
  // One loop, no arrays: this runs for every waiting build of an iteration, thousands, on a full pass.
  let broken: BuildNode | undefined;
  let allBuilt = true;
  for (const id of build.dependsOn) {
    const dep = dependency(id);
    if (!dep) continue;
    if (!broken && (dep.state === 'failed' || dep.state === 'cancelled' || dep.state === 'dependency-failed')) broken = dep;
    if (dep.state !== 'built') allBuilt = false;
  }
  const event: BuildEvent = broken
    ? { type: 'dependency-failed', reason: blame(broken) }
    : allBuilt
      ? { type: 'dependencies-built' }
      : { type: 'dependencies-pending' };
  const result = transition(build.state, event);
  if (result.outcome === 'moved') return { to: result.state, reason: result.reason };
  // Still failed, but for another root cause (the first one was retried, a second one failed).
  if (result.outcome === 'unchanged' && event.type === 'dependency-failed' && build.reason !== event.reason) return { to: build.state, reason: event.reason };
  return null;
}

/**
 * Brings every waiting build (blocked, ready, dependency-failed) in line with its dependencies
 * (see settleOne). Returns the changes, in the order they were made.
 */
export function propagate(builds: readonly BuildNode[]): StateChange[] {
  const byId = new Map(builds.map((b) => [b.id, { ...b }]));
  const dependency = (id: number) => byId.get(id);
  const changes: StateChange[] = [];
  // Each pass settles at least one more level of the DAG; a cycle cannot flip forever because every
  // rule depends only on dependencies' states, so |builds| + 1 passes always reach the fixpoint.
  for (let pass = 0; pass <= byId.size; pass++) {
    let changed = false;
    for (const build of byId.values()) {
      const next = settleOne(build, dependency);
      if (!next) continue;
      changes.push({ id: build.id, from: build.state, to: next.to, reason: next.reason });
      build.state = next.to;
      build.reason = next.reason;
      changed = true;
    }
    if (!changed) break;
  }
  return changes;
}

/** Each build's dependants (the reverse of `dependsOn`), as propagateFrom follows them. */
export function dependantsOf(builds: Iterable<Pick<BuildNode, 'id' | 'dependsOn'>>): Map<number, number[]> {
  const dependants = new Map<number, number[]>();
  for (const build of builds) {
    for (const id of build.dependsOn) {
      const list = dependants.get(id);
      if (list) list.push(build.id);
      else dependants.set(id, [build.id]);
    }
  }
  return dependants;
}

/**
 * What `propagate` would change, for builds that were in line with their dependencies until the
 * builds `moved` were moved (their states in `builds` are the new ones): only those builds and their
 * dependants, as far as something changes, are looked at. A scheduling pass after one build changed
 * is then proportional to what it affects, not to the size of the set. Returns one change per build
 * that ends in another state or with another reason, in the order they were first made.
 */
export function propagateFrom(builds: ReadonlyMap<number, BuildNode>, dependants: ReadonlyMap<number, readonly number[]>, moved: Iterable<number>): StateChange[] {
  // The builds changed here, as copies: the caller's nodes stay as they are.
  const now = new Map<number, BuildNode>();
  const dependency = (id: number) => now.get(id) ?? builds.get(id);
  const queue: number[] = [];
  const queued = new Set<number>();
  const enqueue = (id: number) => {
    if (queued.has(id) || !builds.has(id)) return;
    queued.add(id);
    queue.push(id);
  };
  for (const id of moved) {
    enqueue(id);
    for (const dependant of dependants.get(id) ?? []) enqueue(dependant);
  }
  const first = new Map<number, BuildNode>();
  const looks = new Map<number, number>();
  // A build's state is a function of its dependencies' states, so each change needs only its dependants
  // looked at again. As in propagate, |builds| + 1 looks at one build reach the fixpoint, also on a cycle.
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    queued.delete(id);
    const look = (looks.get(id) ?? 0) + 1;
    if (look > builds.size + 1) continue;
    looks.set(id, look);
    const build = dependency(id)!;
    const next = settleOne(build, dependency);
    if (!next) continue;
    if (!first.has(id)) first.set(id, builds.get(id)!);
    now.set(id, { ...build, state: next.to, reason: next.reason });
    for (const dependant of dependants.get(id) ?? []) enqueue(dependant);
  }
  const changes: StateChange[] = [];
  for (const [id, before] of first) {
    const after = now.get(id)!;
    if (after.state !== before.state || after.reason !== before.reason) changes.push({ id, from: before.state, to: after.state, reason: after.reason });
  }
  return changes;
}

/**
 * The ready builds to dispatch now, oldest first, so that at most `maxInFlight` builds of the set
 * have a pipeline at once.
 */
export function selectForDispatch(builds: readonly Pick<BuildNode, 'id' | 'state'>[], maxInFlight: number): number[] {
  let inFlight = 0;
  const ready: number[] = [];
  for (const build of builds) {
    if (build.state === 'ready') ready.push(build.id);
    else if (IN_FLIGHT.includes(build.state)) inFlight++;
  }
  return ready.sort((a, b) => a - b).slice(0, Math.max(0, maxInFlight - inFlight));
}
