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
 * stages), so the sandbox's own processes are per-stage overhead: `sh` joins the cgroup, `setpriv` and
 * `unshare` make the namespaces, then one `mount --fstab` assembles the whole view (one `mount` per step
 * took some 20 processes), one `umount` drops the asides, and `setpriv` becomes the stage's bash. The
 * stage's script is not in the view: bash reads it from a descriptor the executor opened.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { sep } from 'node:path';
import { runProcess, type ProcessResult } from '../common/child-process.js';
import { createRunCgroup } from './run-cgroup.js';
import { makeDir } from './fs-layers.js';
import { dropPrivileges, type HostUser } from './host-user.js';

/** A root-only directory of the host with the asides' mount points (mounted over in each stage's own namespace only) and each running stage's fstab. */
export const HOST_STAGE_STAGING = '/run/quarters-host-stage';

/** Shared, world-writable scratch directories every stage gets a private, empty copy of. */
const SCRATCH_DIRS = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock'];

/** The descriptor the stage's bash reads its script from. */
const SCRIPT_FD = 3;

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
  /** Name of the stage's cgroup and staging directory (unique among running stages). */
  name: string;
  user: HostUser;
  view: HostStageView;
  /** The script the stage's bash runs (as the host user, who must be able to read it); it need not be in the view. */
  script: string;
  /** Its working directory (visible). */
  cwd: string;
  env: Readonly<Record<string, string>>;
  limits: { memoryMib: number; cpus: number; pids: number };
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** What a visible source is on the host, as the view is planned: missing ones are simply not there (an artifacts directory, a mirror). */
export type SourceKind = 'directory' | 'file' | 'missing';

/** The view as mounts: the lines of an fstab for `mount --fstab FILE -a`, in order, and the aside mount points to unmount after. */
export interface HostStageMounts {
  fstab: string;
  asides: string[];
  /** The asides to make before the namespace is entered: directories, and (kind "file") empty files. */
  mountPoints: { path: string; kind: 'directory' | 'file' }[];
}

const quote = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;
const depth = (path: string): number => path.split(sep).filter(Boolean).length;
const isBelow = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
/** A path as an fstab field: libmount reads \ooo octal escapes, so blanks and backslashes are written so. */
const field = (path: string): string => path.replace(/[\\ \t]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);

/**
 * The mounts that assemble the view inside the new mount namespace. Every visible path is bound
 * aside (below `staging`) first, then the hidden directories are covered and the visible paths bound
 * back, shallowest first, so that a visible path inside a hidden one (the build directory in work_dir)
 * reappears and a hidden one inside a visible one (work_dir below a visible mirror) stays hidden.
 * Mount points that are missing are made as directories (X-mount.mkdir); a visible file therefore
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
  const lines = present.map((b) => `${field(b.source)} ${field(b.aside)} none rbind 0 0`);
  type Step = { path: string; hide: boolean; mode: string; size: number; aside: string; file: boolean };
  const hides = [
    ...scratch.map((path) => ({ path, hide: true, mode: '1777', size: scratchMib, aside: '', file: false })),
    ...view.hidden.map((path) => ({ path, hide: true, mode: '0755', size: 1, aside: '', file: false })),
  ];
  const steps: Step[] = [...hides, ...present.map((b) => ({ path: b.target, hide: false, mode: '', size: 0, aside: b.aside, file: b.kind === 'file' }))]
    .sort((a, b) => depth(a.path) - depth(b.path) || Number(b.hide) - Number(a.hide));
  for (const step of steps) {
    if (step.hide) {
      lines.push(`quarters-stage-private ${field(step.path)} tmpfs mode=${step.mode},nosuid,nodev,size=${step.size}m,X-mount.mkdir 0 0`);
    } else {
      if (step.file && hides.some((hide) => isBelow(step.path, hide.path))) {
        throw new Error(`host stage file ${step.path} lies in ${hides.find((hide) => isBelow(step.path, hide.path))!.path}, which the stage sees empty: only directories can be shown there`);
      }
      lines.push(`${field(step.aside)} ${field(step.path)} none rbind${step.file ? '' : ',X-mount.mkdir'} 0 0`);
    }
  }
  return {
    fstab: `${lines.join('\n')}\n`,
    asides: present.map((b) => b.aside),
    mountPoints: present.map((b) => ({ path: b.aside, kind: b.kind === 'file' ? 'file' : 'directory' })),
  };
}

/** The root shell script that runs in the new namespaces: the view's mounts, then the stage's bash as the user. */
export function hostStageSetupScript(fstab: string, asides: readonly string[], user: HostUser, cwd: string): string {
  return [
    // -n: nothing to record in /run/mount/utab, which is the host's.
    `mount -n --fstab ${quote(fstab)} -a || exit 125`,
    asides.length ? `umount -l ${asides.map(quote).join(' ')} || exit 125` : '',
    `cd ${quote(cwd)} || exit 125`,
    `exec setpriv ${dropPrivileges(user).map(quote).join(' ')} bash /proc/self/fd/${SCRIPT_FD}`,
  ].filter(Boolean).join('\n');
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

/** The fstab of a stage named `name` (its own, while it runs). */
function fstabOf(name: string): string {
  return `${HOST_STAGE_STAGING}/${name}.fstab`;
}

/** Removes what a stage named `name` leaves when its executor is killed (its fstab; the cgroup goes with removeRunCgroups). */
export function removeHostStageLeftovers(name: string): void {
  rmSync(fstabOf(name), { force: true });
}

/** Runs a host stage isolated and limited; resolves with how it ended. */
export async function runHostStage(stage: HostStage): Promise<ProcessResult> {
  await makeDir(HOST_STAGE_STAGING, 0o700);
  const mounts = hostStageMounts(stage.view, HOST_STAGE_STAGING, sourceKind, SCRATCH_DIRS.filter((dir) => existsSync(dir)));
  makeMountPoints(mounts.mountPoints);
  const fstabFile = fstabOf(stage.name);
  writeFileSync(fstabFile, mounts.fstab, { mode: 0o600 });
  const script = openSync(stage.script, constants.O_RDONLY | constants.O_NOFOLLOW);
  const cgroup = await createRunCgroup(stage.name, stage.limits, stage.log);
  try {
    // The first process joins the cgroup before anything else starts; the cgroup namespace then roots there.
    const enter = (cgroup?.procsFiles ?? []).map((file) => `echo $$ > ${quote(file)} || exit 124`);
    const argv = [
      'setpriv', '--pdeathsig', 'KILL', '--',
      'unshare', '--pid', '--fork', '--kill-child=SIGKILL', '--mount-proc', '--mount', '--propagation', 'private', '--ipc', '--cgroup', '--',
      '/bin/sh', '-c', hostStageSetupScript(fstabFile, mounts.asides, stage.user, stage.cwd),
    ];
    return await runProcess('/bin/sh', ['-c', [...enter, 'exec "$@"'].join('\n'), 'quarters-host-stage', ...argv], {
      env: stage.env,
      stdout: 'inherit',
      stderr: 'inherit',
      extraFds: [script],
      signal: stage.signal,
      // unshare ignores SIGTERM while it waits; SIGKILL reaches the stage through --kill-child and the PID namespace.
      killSignal: 'SIGKILL',
      forceKillAfterMs: 5000,
    });
  } finally {
    closeSync(script);
    await cgroup?.remove();
    rmSync(fstabFile, { force: true });
  }
}
