/**
 * A job's workspace: work_dir/workspaces/NAME holds the state every executor command of the job
 * reads (which base and instance it started on, its directories, who is working on it), the
 * job's mount (job-mount.ts: the backend's writable layer, the output and build directories) and the
 * stage scripts. Everything a job leaves
 * on the host is found from here, so `cleanup`, the next `prepare` of the same slot and
 * `cleanup --stale` can reclaim a job whose executor or runner died.
 */
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive, identify, type ProcessIdentity } from './process-identity.js';
import { writeFileAtomicSync } from './fs-layers.js';
import type { ResourceUsage, WorkspaceState } from './workspace-schema.js';

declare global {
  interface ImportMeta {
    /** Set by scripts/bundle-executor.js: which build of the executor this is. */
    QUARTERS_BUILD?: string;
  }
}
import type { Layout } from './layout.js';

export type { ResourceUsage, WorkspaceState } from './workspace-schema.js';

export const emptyUsage = (): ResourceUsage => ({ wallSeconds: 0, cpuSeconds: 0, peakMemoryBytes: null, diskBytes: 0 });

/** The directory of a workspace. */
export function workspaceDir(layout: Layout, name: string): string {
  return join(layout.workspaces, name);
}

/** Reads a workspace's state; null when there is none (never prepared, or already cleaned up). */
export async function readState(layout: Layout, name: string): Promise<WorkspaceState | null> {
  let text: string;
  try {
    // Synchronous, as the write: a host stage's start needs no thread pool (starting one is CPU of every start).
    text = readFileSync(join(workspaceDir(layout, name), 'state.json'), 'utf8');
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  // A state this build wrote has this build's shape: validated only when another build wrote it (an
  // update between a job's commands), which spares every command of a job loading zod (some 5 ms).
  const build = import.meta.QUARTERS_BUILD;
  if (build && typeof json === 'object' && json !== null && (json as { build?: unknown }).build === build) return json as WorkspaceState;
  const { workspaceStateSchema } = await import('./workspace-schema.js');
  const parsed = workspaceStateSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** Writes a workspace's state atomically. */
export async function writeState(layout: Layout, state: WorkspaceState): Promise<void> {
  const build = import.meta.QUARTERS_BUILD;
  writeFileAtomicSync(join(workspaceDir(layout, state.name), 'state.json'), `${JSON.stringify({ ...state, updated: new Date().toISOString(), ...(build ? { build } : {}) }, null, 2)}\n`, 0o600);
}

/** Names of all workspaces on this host. */
export async function workspaceNames(layout: Layout): Promise<string[]> {
  return (await readdir(layout.workspaces).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
}

/** The identity of the process that started this one (GitLab Runner, for protocol commands). */
export function parentIdentity(): ProcessIdentity | null {
  return identify(process.ppid);
}

/**
 * Why a workspace no longer belongs to a live job, or null while it may: no executor command works
 * on it and either its runner is gone or it has not been touched for `olderThanMs`.
 */
export async function staleReason(layout: Layout, name: string, olderThanMs: number): Promise<string | null> {
  const state = await readState(layout, name);
  if (!state) {
    // A workspace without state is a prepare that died before writing it, or one half cleaned up.
    const info = await stat(workspaceDir(layout, name)).catch(() => null);
    return info && Date.now() - info.mtimeMs > 60_000 ? 'it has no state and is over a minute old' : null;
  }
  if (state.active && isAlive(state.active)) return null;
  if (state.runner && !isAlive(state.runner)) return `its runner (pid ${state.runner.pid}) is gone`;
  const age = Date.now() - Date.parse(state.updated);
  if (age > olderThanMs) return `it has not been used for ${Math.round(age / 60_000)} min`;
  return null;
}
