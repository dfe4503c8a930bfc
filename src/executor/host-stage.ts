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
 */
import { existsSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { runProcess, type ProcessResult } from '../common/child-process.js';
import { createRunCgroup } from './run-cgroup.js';
import { makeDir } from './fs-layers.js';
import { dropPrivileges, type HostUser } from './host-user.js';

/** A root-only directory of the host where the stage's view is assembled (in its own namespace: the host sees it empty). */
export const HOST_STAGE_STAGING = '/run/quarters-host-stage';

/** Shared, world-writable scratch directories every stage gets a private, empty copy of. */
const SCRATCH_DIRS = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock'];

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
  /** Name of the stage's cgroup (unique among running stages). */
  name: string;
  user: HostUser;
  view: HostStageView;
  /** The command to run (as the host user), and its working directory (visible). */
  command: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  limits: { memoryMib: number; cpus: number; pids: number };
  signal?: AbortSignal;
  log?: (line: string) => void;
}

const quote = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;
const depth = (path: string): number => path.split(sep).filter(Boolean).length;
const isBelow = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
/** Shell: makes a directory (and its parents) unless it exists. */
const directory = (path: string): string => `[ -d ${quote(path)} ] || mkdir -p ${quote(path)}`;

/**
 * The root shell script that assembles the view inside the new mount namespace, then becomes the
 * stage's command (as the user, via setpriv). Every visible path is bind-mounted aside first, then
 * the hidden directories are covered and the visible paths moved back, shallowest first, so that a
 * visible path inside a hidden one (the build directory in work_dir) reappears and a hidden one
 * inside a visible one (work_dir below a visible mirror) stays hidden.
 */
export function hostStageSetupScript(view: HostStageView, staging: string, user: HostUser, cwd: string, command: readonly string[]): string {
  const visible = [...new Map(view.visible.map((entry) => (typeof entry === 'string' ? { source: entry, target: entry } : entry)).map((b) => [b.target, b])).values()];
  for (const path of [...visible.flatMap((b) => [b.source, b.target]), ...view.hidden, staging]) {
    if (!path.startsWith('/') || path.includes('\n')) throw new Error(`host stage path ${JSON.stringify(path)} must be absolute and on one line`);
  }
  const scratchMib = view.scratchMib || 64;
  // Every host stage runs this, and each mkdir or mount is a process of its own (a few ms): the
  // asides are made by one mkdir, and a directory that exists already is not made again.
  const lines = ['set -e', `mount -t tmpfs -o mode=0700,size=1m quarters-stage-staging ${quote(staging)}`, 'set --'];
  visible.forEach(({ source }, i) => {
    // A path that does not exist (yet: an artifacts directory, a mirror) is simply not there.
    lines.push(`if [ -d ${quote(source)} ]; then set -- "$@" ${quote(`${staging}/${i}`)}; elif [ -e ${quote(source)} ]; then : > ${quote(`${staging}/${i}`)}; fi`);
  });
  lines.push('[ $# -eq 0 ] || mkdir -- "$@"');
  visible.forEach(({ source }, i) => {
    const aside = quote(`${staging}/${i}`);
    lines.push(`if [ -e ${aside} ]; then mount --rbind ${quote(source)} ${aside}; fi`);
  });
  type Step = { path: string; hide: boolean; mode: string; size: number; index: number };
  const steps: Step[] = [
    ...SCRATCH_DIRS.filter((dir) => existsSync(dir)).map((path) => ({ path, hide: true, mode: '1777', size: scratchMib, index: -1 })),
    ...view.hidden.map((path) => ({ path, hide: true, mode: '0755', size: 1, index: -1 })),
    ...visible.map(({ target }, index) => ({ path: target, hide: false, mode: '', size: 0, index })),
  ].sort((a, b) => depth(a.path) - depth(b.path) || Number(b.hide) - Number(a.hide));
  // Consecutive visible paths get their mount points from one mkdir, unless one lies below another (it appears with the other's move).
  let moves: Step[] = [];
  const flushMoves = (): void => {
    if (moves.length === 0) return;
    lines.push('set --');
    for (const { path, index } of moves) {
      const a = quote(`${staging}/${index}`);
      lines.push(`if [ -d ${a} ]; then [ -d ${quote(path)} ] || set -- "$@" ${quote(path)}; elif [ -e ${a} ]; then [ -d ${quote(dirname(path))} ] || set -- "$@" ${quote(dirname(path))}; fi`);
    }
    lines.push('[ $# -eq 0 ] || mkdir -p -- "$@"');
    for (const { path, index } of moves) {
      const [a, p] = [quote(`${staging}/${index}`), quote(path)];
      lines.push(`if [ -e ${a} ]; then [ -d ${a} ] || [ -e ${p} ] || : > ${p}; mount --move ${a} ${p}; fi`);
    }
    moves = [];
  };
  for (const step of steps) {
    if (step.hide) {
      flushMoves();
      lines.push(directory(step.path), `mount -t tmpfs -o mode=${step.mode},nosuid,nodev,size=${step.size}m quarters-stage-private ${quote(step.path)}`);
    } else {
      if (moves.some((move) => isBelow(step.path, move.path))) flushMoves();
      moves.push(step);
    }
  }
  flushMoves();
  lines.push(`umount -l ${quote(staging)}`, `cd ${quote(cwd)}`, 'set +e', `exec setpriv ${dropPrivileges(user).map(quote).join(' ')} ${command.map(quote).join(' ')}`);
  return lines.join('\n');
}

/** Runs a host stage isolated and limited; resolves with how it ended. */
export async function runHostStage(stage: HostStage): Promise<ProcessResult> {
  await makeDir(HOST_STAGE_STAGING, 0o700);
  const cgroup = await createRunCgroup(stage.name, stage.limits, stage.log);
  try {
    // The first process joins the cgroup before anything else starts; the cgroup namespace then roots there.
    const enter = (cgroup?.procsFiles ?? []).map((file) => `echo $$ > ${quote(file)} || exit 124`);
    const argv = [
      'setpriv', '--pdeathsig', 'KILL', '--',
      'unshare', '--pid', '--fork', '--kill-child=SIGKILL', '--mount-proc', '--mount', '--propagation', 'private', '--ipc', '--cgroup', '--',
      '/bin/sh', '-c', hostStageSetupScript(stage.view, HOST_STAGE_STAGING, stage.user, stage.cwd, stage.command),
    ];
    return await runProcess('/bin/sh', ['-c', [...enter, 'exec "$@"'].join('\n'), 'quarters-host-stage', ...argv], {
      env: stage.env,
      stdout: 'inherit',
      stderr: 'inherit',
      signal: stage.signal,
      // unshare ignores SIGTERM while it waits; SIGKILL reaches the stage through --kill-child and the PID namespace.
      killSignal: 'SIGKILL',
      forceKillAfterMs: 5000,
    });
  } finally {
    await cgroup?.remove();
  }
}
