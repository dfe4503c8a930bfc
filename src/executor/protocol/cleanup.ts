/** `quarters-executor cleanup`: the protocol's teardown of one job, and the operator's cleanup of stale jobs, base OS versions and instances. */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseOsStore } from '../baseos/store.js';
import { PackageCache } from '../build-set-repository/package-cache.js';
import { makeDir } from '../fs-layers.js';
import { InstanceStore } from '../instance.js';
import { reclaimWorkspace } from '../reclaim.js';
import type { JobSession, Session } from '../session.js';
import { readState, staleReason, workspaceNames } from '../workspace.js';

/** Tears the job's environment down, recording its resource usage first; always succeeds when there is nothing left to tear down. */
export async function cleanupJob(session: JobSession): Promise<void> {
  const state = await readState(session.layout, session.job.name);
  if (state) {
    const record = {
      finished: new Date().toISOString(),
      job: state.name,
      job_id: state.jobId,
      build_id: session.job.variables.QUARTERS_BUILD_ID ?? null,
      base_version: state.base.version,
      instance: state.instance ? `${state.instance.key}/${state.instance.version}` : null,
      wall_seconds: state.usage.wallSeconds,
      cpu_seconds: state.usage.cpuSeconds,
      peak_memory_bytes: state.usage.peakMemoryBytes,
      disk_bytes: state.usage.diskBytes,
    };
    await makeDir(session.layout.logs, 0o755);
    await appendFile(join(session.layout.logs, 'usage.jsonl'), `${JSON.stringify(record)}\n`, { mode: 0o644 });
  }
  await reclaimWorkspace(session, session.job.name);
}

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
