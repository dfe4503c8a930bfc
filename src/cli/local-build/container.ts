/**
 * One local build in the clean environment the executor gives GitLab jobs: the executor's config,
 * base OS, instance layer and isolation backend (through the `Environment` interface), a workspace
 * recorded like a job's (so `quarters-executor cleanup --stale` reclaims it if this process dies),
 * the build driver in the guest, the build set's repository offered read-only.
 */
import { cp, readdir } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { BaseOsError, BaseOsStore } from '../../executor/baseos/store.js';
import type { BaseImage, Environment, GuestCommand } from '../../executor/environment.js';
import { SystemFailure } from '../../executor/failure.js';
import { makeDir } from '../../executor/fs-layers.js';
import { checkGuestIds } from '../../executor/guest-ids.js';
import { resolveHostUser, type HostUser } from '../../executor/host-user.js';
import { InstanceStore, type InstanceVersion } from '../../executor/instance.js';
import { closeJobEnvironment, openJobEnvironment } from '../../executor/job-lifecycle.js';
import { LockTimeout } from '../../executor/lock.js';
import { identify } from '../../executor/process-identity.js';
import { GUEST_BUILD_DRIVER, GUEST_OUTPUT, GUEST_REPOSITORY, guestBaseEnv } from '../../executor/protocol/guest.js';
import { openSession, type Session } from '../../executor/session.js';
import { workspaceDir, type WorkspaceState } from '../../executor/workspace.js';
import { ConfigError } from '../../core/config-text.js';
import { CommandError } from '../command.js';
import { isBundleContent, type Bundle } from './bundles.js';

/** The build driver shipped with quarters, offered in the guest when the executor config names none. */
export const PACKAGED_DRIVER = fileURLToPath(new URL('../../../vm/quarters-build', import.meta.url));

/** The executor's side of a local build: config, layers and user, resolved once for the whole run. */
export interface BuildHost {
  session: Session;
  base: BaseImage;
  instance: InstanceVersion;
  hostUser: HostUser;
  driver: string;
  /** The architecture the host builds for (the executor's `arch`). */
  arch: string;
  branch: string;
}

/** Opens the executor config at `configFile` and resolves base OS and instance for `branch`; problems are CommandErrors. */
export async function openBuildHost(configFile: string, branch: string | undefined, log: (line: string) => void): Promise<BuildHost> {
  try {
    const session = { ...(await openSession({ ...process.env, QUARTERS_EXECUTOR_CONFIG: configFile })), log };
    const target = branch ?? session.config.default_branch;
    const hostUser = resolveHostUser(session.config.host_user);
    if (session.backend.idBase !== null) checkGuestIds(session.backend.idBase, hostUser);
    const store = new BaseOsStore(session.layout);
    const version = await store.require();
    const base = await session.backend.prepareBase(store, version, log);
    const instance = await new InstanceStore(session.layout, session.config, session.backend).ensure(target, version, base, log);
    return { session, base, instance, hostUser, driver: session.config.build_driver ?? PACKAGED_DRIVER, arch: session.config.arch, branch: target };
  } catch (error) {
    // A ConfigError names the file already.
    if (error instanceof ConfigError) throw new CommandError(error.message);
    if (error instanceof BaseOsError || error instanceof SystemFailure || error instanceof LockTimeout) throw new CommandError(`executor config ${configFile}: ${error.message}`);
    throw error;
  }
}

export interface ContainerBuild {
  /** Unique among the builds running on this host: names the workspace and the container. */
  name: string;
  bundle: Bundle;
  /** The build set's repository on the host, when it has one yet. */
  repository: string | null;
  /** QUARTERS_* variables for the driver. */
  variables: Record<string, string>;
  /** Where the guest's output and notes go. */
  log: Writable;
  /** A host directory for the driver's own logs (fetch.log, build.log), offered at the same path so that the paths it prints hold on the host. */
  driverLogDir: string;
  signal: AbortSignal;
  /** Called with the output directory after a successful build, before the workspace goes. */
  collect: (outputDir: string, files: string[]) => Promise<void>;
}

/** The outcome: built (and collected), or why not. */
export type ContainerOutcome = { built: true } | { built: false; reason: string };

/** Fetches (with network) and builds (without) one bundle in a fresh environment; always tears it down. */
export async function buildInContainer(host: BuildHost, build: ContainerBuild): Promise<ContainerOutcome> {
  const { session, hostUser } = host;
  const { config } = session;
  try {
    await makeDir(build.driverLogDir, 0o755);
    const environmentOf = (state: WorkspaceState): Environment => session.backend.environment({
      name: state.name, workspace: workspaceDir(session.layout, state.name), layerDir: state.mount.mountPoint,
      base: host.base, instance: host.instance,
      binds: [
        { host: state.buildsDir, guest: state.buildsDir, hostIds: true },
        { host: build.driverLogDir, guest: build.driverLogDir, hostIds: true },
        { host: state.outputDir, guest: GUEST_OUTPUT },
        { host: host.driver, guest: GUEST_BUILD_DRIVER, readOnly: true },
        ...(build.repository ? [{ host: build.repository, guest: GUEST_REPOSITORY, readOnly: true }] : []),
      ],
      limits: { memoryMib: config.limits.memory_mib, cpus: config.limits.cpus },
    });
    // As a job's (job-lifecycle.ts): a workspace recorded like a job's, what the guest writes on nosuid,nodev mounts, the driver's logs included.
    const me = identify(process.pid);
    const state = await openJobEnvironment(session, {
      name: build.name, slot: build.name, jobId: build.name, base: host.base, instance: host.instance, hostUser, runner: me, guestWritable: [build.driverLogDir],
    }, environmentOf);
    const { buildsDir, outputDir } = state;
    // The bundle as a checkout would have it: its own files only, owned by the unprivileged user.
    const bundleDir = join(buildsDir, basename(build.bundle.dir));
    await cp(build.bundle.dir, bundleDir, { recursive: true, filter: (source) => source === build.bundle.dir || isBundleContent(relative(build.bundle.dir, source).split('\\').join('/'), build.bundle.flavour) });
    await execa('chown', ['-R', `${hostUser.uid}:${hostUser.gid}`, buildsDir]);
    const environment = environmentOf(state);
    const env = { ...guestBaseEnv(hostUser), QUARTERS_LOG_DIR: build.driverLogDir, ...(build.repository ? { QUARTERS_REPO_DIR: GUEST_REPOSITORY } : {}), ...build.variables };
    const minutes = config.limits.build_timeout_minutes;
    const stop = minutes > 0 ? AbortSignal.any([build.signal, AbortSignal.timeout(minutes * 60_000)]) : build.signal;
    const step = (command: string[], network: boolean): GuestCommand => ({
      command, cwd: bundleDir, env, network, signal: stop, stdout: build.log, stderr: build.log, log: (line) => build.log.write(`${line}\n`),
    });
    // As the executor's fetch step and devtools do: sources with network, then the build without.
    for (const [what, network] of [['fetch', true], ['build', false]] as const) {
      build.log.write(`quarters: quarters-build ${what} (${network ? 'with' : 'without'} network)\n`);
      const result = await environment.exec(step(['quarters-build', what], network));
      if (stop.aborted) return { built: false, reason: build.signal.aborted ? 'stopped' : `quarters-build ${what} ran over the build timeout of ${minutes} min` };
      if (result.exitCode === null) return { built: false, reason: `quarters-build ${what}: ${result.detail}` };
      if (result.exitCode !== 0) return { built: false, reason: `quarters-build ${what} exited with ${result.exitCode}` };
    }
    // Regular files only, as uploads take them: a symlink the guest left would have the host copy whatever it points to.
    const files = (await readdir(outputDir, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name).sort();
    if (files.length === 0) return { built: false, reason: 'the build produced no package' };
    await build.collect(outputDir, files);
    return { built: true };
  } finally {
    await closeJobEnvironment(session, build.name);
  }
}
