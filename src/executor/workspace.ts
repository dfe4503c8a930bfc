/**
 * A job's workspace: work_dir/workspaces/NAME holds the state every executor command of the job
 * reads (which base and instance it started on, its directories, who is working on it), the
 * job's mount (job-mount.ts: the backend's writable layer, the output and build directories) and the
 * stage scripts. Everything a job leaves
 * on the host is found from here, so `cleanup`, the next `prepare` of the same slot and
 * `cleanup --stale` can reclaim a job whose executor or runner died.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import './zod-messages.js';
import * as z from 'zod/mini';
import { processIdentitySchema, isAlive, identify, type ProcessIdentity } from './process-identity.js';
import { writeFileAtomic } from './fs-layers.js';
import { jobMountSchema } from './job-mount.js';
import type { Layout } from './layout.js';

const usageSchema = z.strictObject({
  wallSeconds: z.number(),
  cpuSeconds: z.number(),
  peakMemoryBytes: z.nullable(z.number()),
  diskBytes: z.number(),
});
export type ResourceUsage = z.infer<typeof usageSchema>;

export const workspaceStateSchema = z.strictObject({
  name: z.string(),
  slot: z.string(),
  jobId: z.string(),
  created: z.string(),
  backend: z.string(),
  /** What the backend runs the job from (environment.ts: BaseImage, InstanceLayer). */
  base: z.strictObject({ version: z.string(), path: z.string() }),
  instance: z.nullable(z.strictObject({ key: z.string(), version: z.string(), dir: z.string() })),
  /** The job's build directory on the host (builds_dir from `config`), bind-mounted at the same path. */
  buildsDir: z.string(),
  outputDir: z.string(),
  /** The build set's repository offered read-only at /quarters/repo (a job's: its own copy, workspace/repository); null: none. */
  repository: z._default(z.nullable(z.string()), null),
  /** The job's mount (nosuid,nodev; its disk with limits.disk_mib), holding its writable layer, output and build directory. */
  mount: jobMountSchema,
  hostUser: z.strictObject({ uid: z.number(), gid: z.number() }),
  /** The process that started the executor (GitLab Runner); when it is gone, so is the job. */
  runner: z.nullable(processIdentitySchema),
  /** The executor command working on the workspace right now, if any. */
  active: z.nullable(processIdentitySchema),
  updated: z.string(),
  usage: usageSchema,
});
export type WorkspaceState = z.infer<typeof workspaceStateSchema>;

export const emptyUsage = (): ResourceUsage => ({ wallSeconds: 0, cpuSeconds: 0, peakMemoryBytes: null, diskBytes: 0 });

/** The directory of a workspace. */
export function workspaceDir(layout: Layout, name: string): string {
  return join(layout.workspaces, name);
}

/** Reads a workspace's state; null when there is none (never prepared, or already cleaned up). */
export async function readState(layout: Layout, name: string): Promise<WorkspaceState | null> {
  let text: string;
  try {
    text = await readFile(join(workspaceDir(layout, name), 'state.json'), 'utf8');
  } catch {
    return null;
  }
  const parsed = workspaceStateSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : null;
}

/** Writes a workspace's state atomically. */
export async function writeState(layout: Layout, state: WorkspaceState): Promise<void> {
  await writeFileAtomic(join(workspaceDir(layout, state.name), 'state.json'), `${JSON.stringify({ ...state, updated: new Date().toISOString() }, null, 2)}\n`, 0o600);
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
