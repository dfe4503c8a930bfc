/** `quarters-executor cleanup --stale|all|baseos|packages|INSTANCE`: the operator's cleanup of stale jobs, base OS versions and instances (the protocol's is cleanup-job.ts). */
import { BaseOsStore } from '../baseos/store.js';
import { PackageCache } from '../build-set-repository/package-cache.js';
import { InstanceStore } from '../instance.js';
import { reclaimWorkspace } from '../reclaim.js';
import type { Session } from '../session.js';
import { readState, staleReason, workspaceNames } from '../workspace.js';

/** Reclaims workspaces of jobs whose executor and runner are gone, or untouched for olderThanMs; returns their names. */
export async function cleanupStale(session: Session, olderThanMs: number): Promise<string[]> {
  const reclaimed: string[] = [];
  for (const name of await workspaceNames(session.layout)) {
    const reason = await staleReason(session.layout, name, olderThanMs);
    if (!reason) continue;
    session.log(`quarters: reclaiming ${name}: ${reason}`);
    await reclaimWorkspace(session, name);
    reclaimed.push(name);
  }
  return reclaimed;
}

/** Base OS versions and instance versions that live workspaces still use. */
async function layersInUse(session: Session): Promise<{ bases: Set<string>; instances: Set<string> }> {
  const bases = new Set<string>();
  const instances = new Set<string>();
  for (const name of await workspaceNames(session.layout)) {
    const state = await readState(session.layout, name);
    if (!state) continue;
    bases.add(state.base.version);
    if (state.instance) instances.add(`${state.instance.key}/${state.instance.version}`);
  }
  return { bases, instances };
}

/** `cleanup baseos`: removes base OS versions that are not current and that no job uses. */
export async function cleanupBaseos(session: Session): Promise<string[]> {
  const { bases } = await layersInUse(session);
  return new BaseOsStore(session.layout).removeUnused(bases);
}

/** `cleanup INSTANCE`: removes every version of that instance (current included) that no job uses; the next job rebuilds it. */
export async function cleanupInstance(session: Session, key: string | undefined): Promise<string[]> {
  const { instances } = await layersInUse(session);
  const store = new InstanceStore(session.layout, session.config, session.backend);
  const removed = await store.removeUnused(instances, key);
  return [...removed, ...(await store.removeCurrentIfUnused(instances, key))];
}

/** `cleanup packages`: cached packages of build-set repositories that no job has and none fetched for olderThanMs. */
export async function cleanupPackages(session: Session, olderThanMs: number): Promise<string[]> {
  return new PackageCache(session.layout.packages).prune(olderThanMs);
}

/** `cleanup all`: stale jobs, unused instances, unused base OS versions, unused cached packages. */
export async function cleanupAll(session: Session, olderThanMs: number): Promise<string[]> {
  const stale = await cleanupStale(session, olderThanMs);
  const instances = await cleanupInstance(session, undefined);
  const bases = await cleanupBaseos(session);
  const packages = await cleanupPackages(session, olderThanMs);
  return [...stale, ...instances, ...bases, ...packages];
}
