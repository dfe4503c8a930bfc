/**
 * How a host stage (git, caches, artifacts: runner scripts that export every job variable, so code the
 * job controls) runs: as the host user, in a PID, mount, IPC and cgroup namespace of its own, in a
 * cgroup with the job's memory, CPU and process limits.
 *
 * - PID namespace: the stage's shell is its PID 1; when it exits, or the executor dies, the kernel
 *   kills everything the stage started (a `setsid sleep &` included), and the stage sees no other
 *   process of the host.
 * - Mount namespace: a private /tmp (a tmpfs of limits.tmpfs_mib), /var/tmp, /dev/shm and /run/lock;
 *   work_dir (every job's workspace, state and scripts) and builds_dir covered by empty tmpfs, with
 *   only the job's own build directory, its host HOME and stage script, its project's part of the
 *   runner's cache_dir (project-cache.ts) and host_stages.paths put back. All jobs share the host user's uid; this view is what keeps one
 *   job's host stage away from another job's build directory and scripts.
 * - The network stays the host's: clones, caches and artifact uploads need it.
 *
 * The runner starts the executor for each host stage (get_sources, caches, artifacts: half a job's
 * stages), so the sandbox's own processes are per-stage overhead: one small program (stage-sandbox.c,
 * carried in the bundle: stage-sandbox.ts) joins the cgroup, makes the namespaces, assembles the view,
 * drops to the host user and becomes the stage's bash, in two processes where util-linux's tools
 * took eight. The stage's script is not in the view: bash reads it from a descriptor the executor opened.
 */
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync, writeFileSync } from 'node:fs';
import { sep } from 'node:path';
import { runLeanProcess, type ProcessResult } from '../common/child-process.js';
import { createRunCgroup } from './run-cgroup.js';
import type { HostUser } from './host-user.js';
import { openStageSandbox } from './stage-sandbox.js';

/** A root-only directory of the host with the asides' mount points (mounted over in each stage's own namespace only). */
export const HOST_STAGE_STAGING = '/run/quarters-host-stage';

/** Shared, world-writable scratch directories every stage gets a private, empty copy of. */
const SCRATCH_DIRS = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock'];

/** The descriptors the stage's bash reads its script from, and the sandbox program runs from. */
const SCRIPT_FD = 3;
const SANDBOX_FD = 4;

/** A host directory or file the stage sees at another path. */
export interface HostStageBind {
  source: string;
  target: string;
}

export interface HostStageView {
  /** Host paths (directories or files) the stage sees as they are, or at another path. */
  visible: readonly (string | HostStageBind)[];
  /** Host directories the stage sees empty (everything below them is hidden but what `visible` puts back). */
  hidden: readonly string[];
  /** Size of each private scratch directory, in MiB (0: 64 MiB). */
  scratchMib: number;
}

export interface HostStage {
  /** Name of the stage's cgroup (one job's host stages share it; removeRunCgroups(name) removes it). */
  name: string;
  user: HostUser;
  view: HostStageView;
  /** The script the stage's bash runs (as the host user, who must be able to read it); it need not be in the view. */
  script: string;
  /** Where the sandbox program is kept (a root-only directory on a filesystem that allows executing). */
  sandboxDir: string;
  /** Its working directory (visible). */
  cwd: string;
  env: Readonly<Record<string, string>>;
  limits: { memoryMib: number; cpus: number; pids: number };
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** What a visible source is on the host, as the view is planned: missing ones are simply not there (an artifacts directory, a mirror). */
export type SourceKind = 'directory' | 'file' | 'missing';

/** One step of assembling the view (stage-sandbox.c applies them in order). */
export type MountStep =
  | { kind: 'bind'; source: string; target: string; mkdir: boolean }
  | { kind: 'tmpfs'; target: string; mode: string; mib: number }
  | { kind: 'detach'; target: string };

/** The view as mounts, in order (the asides unmounted last), and the asides' mount points. */
export interface HostStageMounts {
  steps: MountStep[];
  /** The asides to make before the namespace is entered: directories, and (kind "file") empty files. */
  mountPoints: { path: string; kind: 'directory' | 'file' }[];
}

const depth = (path: string): number => path.split(sep).filter(Boolean).length;
const isBelow = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);

/**
 * The mounts that assemble the view inside the new mount namespace. Every visible path is bound
 * aside (below `staging`) first, then the hidden directories are covered and the visible paths bound
 * back, shallowest first, so that a visible path inside a hidden one (the build directory in work_dir)
 * reappears and a hidden one inside a visible one (work_dir below a visible mirror) stays hidden.
 * Mount points that are missing are made as directories; a visible file therefore
 * needs an existing file to land on, which no hidden directory has.
 */
export function hostStageMounts(view: HostStageView, staging: string, kindOf: (source: string) => SourceKind, scratch: readonly string[] = SCRATCH_DIRS): HostStageMounts {
  const visible = [...new Map(view.visible.map((entry) => (typeof entry === 'string' ? { source: entry, target: entry } : entry)).map((b) => [b.target, b])).values()];
  for (const path of [...visible.flatMap((b) => [b.source, b.target]), ...view.hidden, staging]) {
    if (!path.startsWith('/') || /[\n\0]/.test(path)) throw new Error(`host stage path ${JSON.stringify(path)} must be absolute and on one line`);
  }
  const scratchMib = view.scratchMib || 64;
  const present = visible.map((bind) => ({ ...bind, kind: kindOf(bind.source) })).filter((b) => b.kind !== 'missing')
    .map((b, index) => ({ ...b, aside: `${staging}/${b.kind === 'file' ? 'f' : 'd'}${index}` }));
  const out: MountStep[] = present.map((b) => ({ kind: 'bind', source: b.source, target: b.aside, mkdir: false }));
  type Step = { path: string; hide: boolean; mode: string; size: number; aside: string; file: boolean };
  const hides = [
    ...scratch.map((path) => ({ path, hide: true, mode: '1777', size: scratchMib, aside: '', file: false })),
    ...view.hidden.map((path) => ({ path, hide: true, mode: '0755', size: 1, aside: '', file: false })),
  ];
  const steps: Step[] = [...hides, ...present.map((b) => ({ path: b.target, hide: false, mode: '', size: 0, aside: b.aside, file: b.kind === 'file' }))]
    .sort((a, b) => depth(a.path) - depth(b.path) || Number(b.hide) - Number(a.hide));
  for (const step of steps) {
    if (step.hide) {
      out.push({ kind: 'tmpfs', target: step.path, mode: step.mode, mib: step.size });
    } else {
      if (step.file && hides.some((hide) => isBelow(step.path, hide.path))) {
        throw new Error(`host stage file ${step.path} lies in ${hides.find((hide) => isBelow(step.path, hide.path))!.path}, which the stage sees empty: only directories can be shown there`);
      }
      out.push({ kind: 'bind', source: step.aside, target: step.path, mkdir: !step.file });
    }
  }
  return {
    steps: [...out, ...present.map((b): MountStep => ({ kind: 'detach', target: b.aside }))],
    mountPoints: present.map((b) => ({ path: b.aside, kind: b.kind === 'file' ? 'file' : 'directory' })),
  };
}

/** The sandbox program's arguments (stage-sandbox.c): the cgroups to join, the view's mounts, then the stage's bash as the user. */
export function sandboxArgs(mounts: HostStageMounts, procsFiles: readonly string[], user: HostUser, cwd: string): string[] {
  const steps = mounts.steps.flatMap((step) => {
    if (step.kind === 'bind') return [step.mkdir ? 'bind-mkdir' : 'bind', step.source, step.target];
    if (step.kind === 'tmpfs') return ['tmpfs', step.target, step.mode, String(step.mib)];
    return ['detach', step.target];
  });
  return [
    ...procsFiles.flatMap((file) => ['cgroup', file]),
    ...steps,
    'cwd', cwd,
    'user', String(user.uid), String(user.gid),
    'fd', String(SCRIPT_FD),
    '--', 'bash', `/proc/self/fd/${SCRIPT_FD}`,
  ];
}

function sourceKind(source: string): SourceKind {
  try {
    return statSync(source).isDirectory() ? 'directory' : 'file';
  } catch {
    return 'missing';
  }
}

/**
 * Makes the asides' mount points, once for all stages: each stage mounts over them in its own private
 * namespace, so stages running at once share them, and nothing is removed after a stage (removing a
 * directory some namespace had mounted over cost ~10 ms of kernel time per stage).
 */
function makeMountPoints(points: HostStageMounts['mountPoints']): void {
  for (const { path, kind } of points) {
    try {
      if (kind === 'directory') mkdirSync(path, { mode: 0o700 });
      else writeFileSync(path, '', { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** The staging directory, root's alone, made once. */
function makeStaging(): void {
  try {
    mkdirSync(HOST_STAGE_STAGING, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  chmodSync(HOST_STAGE_STAGING, 0o700);
}

/** Runs a host stage isolated and limited; resolves with how it ended. */
export async function runHostStage(stage: HostStage): Promise<ProcessResult> {
  makeStaging();
  const mounts = hostStageMounts(stage.view, HOST_STAGE_STAGING, sourceKind, SCRATCH_DIRS.filter((dir) => existsSync(dir)));
  makeMountPoints(mounts.mountPoints);
  const sandbox = openStageSandbox(stage.sandboxDir);
  let script: number | undefined;
  try {
    script = openSync(stage.script, constants.O_RDONLY | constants.O_NOFOLLOW);
    // One group for all the job's host stages, made by the first and removed with the job (reclaim.ts):
    // making and removing a memory cgroup took some 4 ms of kernel time per stage. No process of a stage
    // outlives it (the PID namespace), so each stage starts in an empty group with the job's limits.
    const cgroup = await createRunCgroup(stage.name, stage.limits, stage.log);
    // The program joins the cgroup before anything else starts; the cgroup namespace then roots there.
    const result = await runLeanProcess(`/proc/self/fd/${SANDBOX_FD}`, sandboxArgs(mounts, cgroup?.procsFiles ?? [], stage.user, stage.cwd), {
      env: stage.env,
      extraFds: [script, sandbox.fd],
      signal: stage.signal,
      // The program ignores SIGTERM while it waits; SIGKILL reaches the stage through its parent-death signal and the PID namespace.
      killSignal: 'SIGKILL',
      forceKillAfterMs: 5000,
    });
    return result.startError ? { ...result, startError: new Error(`${sandbox.file}: ${result.startError.message}`) } : result;
  } finally {
    if (script !== undefined) closeSync(script);
    closeSync(sandbox.fd);
  }
}
