/** What the guest sees of a job: its binds and its environment. */
import { isAbsolute, join, relative } from 'node:path';
import type { ExecutorConfig } from '../config.js';
import type { Environment, GuestBind } from '../environment.js';
import type { JobSession } from '../session.js';
import type { WorkspaceState } from '../workspace.js';
import { customEnv } from '../job.js';

/** Where the build output goes in the guest. */
export const GUEST_OUTPUT = '/output';
/** Where the build set's repository is offered, read-only, when the job has one (fetched by prepare). */
export const GUEST_REPOSITORY = '/quarters/repo';
/** Where the build driver is offered, read-only, when the config names it. */
export const GUEST_BUILD_DRIVER = '/usr/local/bin/quarters-build';

/**
 * The job's project directory (CI_PROJECT_DIR), when the runner names one inside the job's build
 * directory; else the build directory. Only this is shared with the guest: the runner keeps file
 * variables and git credentials next to it, in CI_PROJECT_DIR.tmp, which the guest must not see.
 */
export function guestProjectDir(session: Pick<JobSession, 'env'>, state: WorkspaceState): string {
  const project = customEnv(session.env).CI_PROJECT_DIR;
  if (!project) return state.buildsDir;
  const inside = relative(state.buildsDir, project);
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? project : state.buildsDir;
}

/**
 * Where the project directory is bound from: a mount point in the workspace (root's), onto which
 * each guest stage binds the directory it checked (stageProjectDir), never the host user's path itself.
 */
export function projectBindSource(session: JobSession, state: WorkspaceState): string {
  return join(session.layout.workspaces, state.name, 'project');
}

/** The binds of every guest command: the project directory (same path), the output, the build set's repository, the driver. */
export function guestBinds(session: JobSession, state: WorkspaceState): GuestBind[] {
  const project = guestProjectDir(session, state);
  const binds: GuestBind[] = [
    // The host user's: the runner's stages and the guest's build user share it with the same ids.
    { host: projectBindSource(session, state), guest: project, hostIds: true },
    // The guest's own: the executor reads it, no host user does.
    { host: state.outputDir, guest: GUEST_OUTPUT },
  ];
  if (session.config.build_driver) binds.push({ host: session.config.build_driver, guest: GUEST_BUILD_DRIVER, readOnly: true });
  if (state.repository) binds.push({ host: state.repository, guest: GUEST_REPOSITORY, readOnly: true });
  return binds;
}

/** What every guest command starts from (jobs and local builds alike): a plain PATH and locale, root's HOME, the output, whom to build as. */
export function guestBaseEnv(buildUser: { uid: number; gid: number }): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    QUARTERS_OUTPUT_DIR: GUEST_OUTPUT,
    QUARTERS_BUILD_UID: String(buildUser.uid),
    QUARTERS_BUILD_GID: String(buildUser.gid),
  };
}

/** The environment of guest commands: no credentials, the QUARTERS_* job variables, where things are. */
export function guestEnv(session: JobSession, state: WorkspaceState): Record<string, string> {
  const env: Record<string, string> = { ...guestBaseEnv(state.hostUser), CI: 'true' };
  if (state.repository) env.QUARTERS_REPO_DIR = GUEST_REPOSITORY;
  for (const [key, value] of Object.entries(customEnv(session.env))) {
    if (/^QUARTERS_/.test(key) && !/TOKEN|SECRET|PASSWORD/.test(key)) env[key] = value;
    if (['CI_PROJECT_DIR', 'CI_PROJECT_PATH', 'CI_JOB_ID', 'CI_COMMIT_SHA', 'CI_COMMIT_REF_NAME'].includes(key)) env[key] = value;
  }
  return env;
}

/** What a job's networked guest commands never reach besides the host itself: the quarters server (its host, resolved when a command starts) and network.blocked_networks. */
export function outboundBlocked(config: ExecutorConfig): string[] {
  const server = config.server.url ? [new URL(config.server.url).hostname.replace(/^\[(.*)\]$/, '$1')] : [];
  return [...server, ...config.network.blocked_networks];
}

/** The job's environment, reopened from its state. */
export function jobEnvironment(session: JobSession, state: WorkspaceState): Environment {
  return session.backend.environment({
    name: state.name,
    workspace: join(session.layout.workspaces, state.name),
    layerDir: state.mount.mountPoint,
    base: state.base,
    instance: state.instance,
    binds: guestBinds(session, state),
    outboundOnly: true,
    blockedDestinations: outboundBlocked(session.config),
    limits: { memoryMib: session.config.limits.memory_mib, cpus: session.config.limits.cpus, pids: session.config.limits.pids, tmpfsMib: session.config.limits.tmpfs_mib },
  });
}
