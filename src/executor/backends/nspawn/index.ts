/** The nspawn backend: a job's environment is an overlay (base OS, instance, workspace) run with systemd-nspawn. */
import { chown, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BaseOsStore, BaseVersion } from '../../baseos/store.js';
import { GUEST_ID_COUNT } from '../../guest-ids.js';
import type { Backend, BaseImage, Environment, EnvironmentSpec, ExecResult, GuestCommand, InstanceLayer } from '../../environment.js';
import { diskUsage } from '../../disk-usage.js';
import { makeDir, removeTree } from '../../fs-layers.js';
import { removeRunCgroups } from '../../run-cgroup.js';
import { runContainer, terminateMachine } from './container.js';

export { runContainer, overlayOptions, nspawnArguments, hostHasSystemd, terminateMachine } from './container.js';
export type { Bind, ContainerCommand, ContainerResult, OverlayLayers } from './container.js';

/** A job's directories: the writable layer in `layerDir` (default: the workspace), the mount point of the merged tree in the workspace. */
export function nspawnLayers(workspace: string, layerDir = workspace): { upper: string; work: string; root: string } {
  return { upper: join(layerDir, 'layer', 'upper'), work: join(layerDir, 'layer', 'work'), root: join(workspace, 'layer', 'root') };
}

/** An instance version's layer: an overlay upper directory. */
function instanceUpper(instance: InstanceLayer): string {
  return join(instance.dir, 'upper');
}

/** The overlay's read-only layers, uppermost first: the instance's, then the base tree. */
export function nspawnLowers(base: BaseImage, instance: InstanceLayer | null): string[] {
  return instance ? [instanceUpper(instance), base.path] : [base.path];
}

class NspawnEnvironment implements Environment {
  constructor(
    private readonly spec: EnvironmentSpec,
    private readonly idBase: number | null,
  ) {}

  async setup(): Promise<void> {
    const layers = nspawnLayers(this.spec.workspace, this.spec.layerDir);
    await makeDir(join(this.spec.workspace, 'layer'), 0o700);
    if (this.spec.layerDir) await makeDir(join(this.spec.layerDir, 'layer'), 0o700);
    // The upper dir becomes the container's "/": it must be 0755 whatever the umask.
    await makeDir(layers.upper, 0o755);
    await makeDir(layers.work, 0o700);
    await makeDir(layers.root, 0o755);
    if (this.idBase !== null) {
      // In a user namespace the guest's root is host id idBase: its "/" (the upper dir) must be its
      // own, and a writable directory no host user shares (the output) keeps its owner as the guest
      // sees it: the host user's directory becomes the guest's build user's (same uid in the guest).
      await chown(layers.upper, this.idBase, this.idBase);
      for (const bind of this.spec.binds) {
        if (bind.readOnly || bind.hostIds) continue;
        const owner = await stat(bind.host);
        if (owner.uid < GUEST_ID_COUNT && owner.gid < GUEST_ID_COUNT) await chown(bind.host, this.idBase + owner.uid, this.idBase + owner.gid);
      }
    }
  }

  async exec(command: GuestCommand): Promise<ExecResult> {
    const result = await runContainer({
      ...nspawnLayers(this.spec.workspace, this.spec.layerDir),
      lowers: nspawnLowers(this.spec.base, this.spec.instance),
      machine: this.spec.name,
      idBase: this.idBase,
      // A job's layer is thrown away: skip its syncs. A persistent one (instance, base update) keeps them.
      volatile: !this.spec.persistent,
      command: command.command,
      cwd: command.cwd,
      env: command.env,
      network: command.network && this.spec.outboundOnly ? 'outbound' : command.network,
      blockedDestinations: this.spec.blockedDestinations,
      binds: [...this.spec.binds, ...(command.binds ?? [])],
      limits: this.spec.limits,
      tmpfsMib: this.spec.limits.tmpfsMib,
      measure: true,
      log: command.log,
      stdin: command.stdin,
      stdout: command.stdout,
      stderr: command.stderr,
      signal: command.signal,
    });
    if (result.exitCode !== null) return { exitCode: result.exitCode, detail: '', peakMemoryBytes: result.peakMemoryBytes };
    const how = result.nspawnSignal ? `was killed by ${result.nspawnSignal}` : `exited with ${result.nspawnExitCode}`;
    return { exitCode: null, peakMemoryBytes: result.peakMemoryBytes, detail: `the container did not run the command to the end (systemd-nspawn ${how})${result.detail ? `: ${result.detail}` : ''}` };
  }

  async destroy(): Promise<void> {
    await destroyContainer(this.spec.name, this.spec.workspace);
    if (this.spec.layerDir) await removeTree(join(this.spec.layerDir, 'layer'));
  }

  async diskUsage(): Promise<number> {
    return diskUsage(nspawnLayers(this.spec.workspace, this.spec.layerDir).upper);
  }

  async keepLayer(dir: string): Promise<void> {
    await rename(nspawnLayers(this.spec.workspace, this.spec.layerDir).upper, join(dir, 'upper'));
  }
}

/** The machine, its cgroups and the layer in the workspace (a layer on the job mount goes with the mount). */
async function destroyContainer(name: string, workspace: string): Promise<void> {
  await terminateMachine(name);
  await removeRunCgroups(name);
  await removeTree(join(workspace, 'layer'));
}

/**
 * The overlay + systemd-nspawn backend; with `idBase`, guests run in a user namespace whose ids are
 * host ids idBase.. (the lower layers must be owned that way: BaseOsStore.forGuestIds).
 */
export function nspawnBackend(idBase: number | null): Backend {
  return {
    name: 'nspawn',
    idBase,
    prepareBase: async (store: BaseOsStore, version: BaseVersion): Promise<BaseImage> => {
      const tree = idBase === null ? version : await store.forGuestIds(version, idBase);
      return { version: tree.version, path: tree.root };
    },
    environment: (spec) => new NspawnEnvironment(spec, idBase),
    destroy: destroyContainer,
  };
}
