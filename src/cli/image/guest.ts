/**
 * The steps of a partition that run code the image's packages or description bring: pacman or apt
 * into the tree (vm/quarters-image-install), and the description's shell entries. They run in the executor's clean environment (its base
 * OS, instance layer and isolation backend, through the `Environment` interface, in a workspace
 * recorded like a job's), the partition's tree bound in: package scripts never run on the host.
 */
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import type { PackageInstaller } from '../../core/image/cache-key.js';
import type { Environment, GuestCommand } from '../../executor/environment.js';
import { closeJobEnvironment, openJobEnvironment } from '../../executor/job-lifecycle.js';
import { identify } from '../../executor/process-identity.js';
import { GUEST_REPOSITORY, guestBaseEnv } from '../../executor/protocol/guest.js';
import { workspaceDir, type WorkspaceState } from '../../executor/workspace.js';
import { CommandError } from '../command.js';
import type { BuildHost } from '../local-build/container.js';

/** The installer shipped with quarters, offered in the guest. */
const INSTALLER = fileURLToPath(new URL('../../../vm/quarters-image-install', import.meta.url));
const GUEST_INSTALLER = '/usr/local/bin/quarters-image-install';
/** Where the partition's tree is in the guest. */
export const GUEST_IMAGE_ROOT = '/quarters/image-root';

export interface GuestWork {
  /** Unique on this host: names the workspace and the container. */
  name: string;
  tree: string;
  /** The build set's repository, offered read-only; null: the distribution's only. */
  repository: string | null;
  /** Which package manager installs (the repository's kind); 'environment': the one the environment has. */
  installer: PackageInstaller;
  packages: readonly string[];
  shells: readonly { path: string; script: string; mode: number }[];
  log: Writable;
  signal: AbortSignal;
}

/** The installer's own refusals start so (vm/quarters-image-install's die). */
const INSTALLER_SAYS = 'quarters-image-install: ';

/** Passes the guest's output on to `log`, keeping the installer's last line: the reason a step failed, when it says one. */
function installerReason(log: Writable): { output: Writable; last: () => string | null } {
  let pending = '';
  let last: string | null = null;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop()!.slice(-4096);
      for (const line of lines) if (line.startsWith(INSTALLER_SAYS)) last = line.slice(INSTALLER_SAYS.length);
      log.write(chunk, done);
    },
  });
  return { output, last: () => (pending.startsWith(INSTALLER_SAYS) ? pending.slice(INSTALLER_SAYS.length) : last) };
}

/** Installs the packages, then runs the shell entries (each writing its file), in one fresh environment; always tears it down. */
export async function runInGuest(host: BuildHost, work: GuestWork): Promise<void> {
  const { session } = host;
  const { config } = session;
  try {
    const environmentOf = (state: WorkspaceState): Environment => session.backend.environment({
      name: state.name, workspace: workspaceDir(session.layout, state.name), layerDir: state.mount.mountPoint,
      base: host.base, instance: host.instance,
      binds: [
        // Host ids: what the guest's root writes there is the host root's, as the filesystem will have it.
        { host: work.tree, guest: GUEST_IMAGE_ROOT, hostIds: true },
        { host: INSTALLER, guest: GUEST_INSTALLER, readOnly: true },
        ...(work.repository ? [{ host: work.repository, guest: GUEST_REPOSITORY, readOnly: true }] : []),
      ],
      limits: { memoryMib: config.limits.memory_mib, cpus: config.limits.cpus },
    });
    const state = await openJobEnvironment(session, {
      name: work.name, slot: work.name, jobId: work.name, base: host.base, instance: host.instance, hostUser: host.hostUser, runner: identify(process.pid), guestWritable: [work.tree],
    }, environmentOf);
    const environment = environmentOf(state);
    const env = { ...guestBaseEnv(host.hostUser), QUARTERS_IMAGE_ROOT: GUEST_IMAGE_ROOT, ...(work.repository ? { QUARTERS_REPO_DIR: GUEST_REPOSITORY } : {}), ...(work.installer !== 'environment' ? { QUARTERS_IMAGE_PACKAGER: work.installer } : {}) };
    const run = async (what: string, command: string[], network: boolean) => {
      work.log.write(`quarters: ${what} (${network ? 'with' : 'without'} network)\n`);
      const { output, last } = installerReason(work.log);
      const step: GuestCommand = { command, cwd: '/', env, network, signal: work.signal, stdout: output, stderr: output, log: (line) => work.log.write(`${line}\n`) };
      const result = await environment.exec(step);
      if (work.signal.aborted) throw new CommandError('stopped');
      if (result.exitCode === null) throw new CommandError(`${what}: ${result.detail}`);
      if (result.exitCode !== 0) {
        const reason = last();
        throw new CommandError(reason ? `${what}: ${reason}` : `${what} exited with ${result.exitCode}`);
      }
    };
    if (work.packages.length) {
      // As builds do: what needs the network (the databases, the packages) first, then the scripts without it.
      await run(`fetching ${work.packages.join(' ')}`, [GUEST_INSTALLER, 'fetch', GUEST_IMAGE_ROOT, ...work.packages], true);
      await run(`installing ${work.packages.join(' ')}`, [GUEST_INSTALLER, 'install', GUEST_IMAGE_ROOT, ...work.packages], false);
    }
    for (const shell of work.shells) {
      // The guest writes the file itself: a link in the tree then leads into the guest, never to the host.
      const target = `${GUEST_IMAGE_ROOT}${shell.path}`;
      const script = 'mkdir -p -- "$(dirname -- "$1")" && cd "$QUARTERS_IMAGE_ROOT" && /bin/sh -c "$2" > "$1" && chmod "$3" -- "$1"';
      await run(`the shell entry of ${shell.path}`, ['/bin/sh', '-c', script, 'sh', target, shell.script, shell.mode.toString(8)], false);
    }
  } finally {
    await closeJobEnvironment(session, work.name);
  }
}
