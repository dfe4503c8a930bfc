/**
 * `baseos update`: the current base OS version upgraded by its package manager into a new version.
 * The upgrade runs in a container whichever backend runs jobs (it is the distribution's own package
 * scripts, run by the administrator); its overlay layer is then flattened into the new tree.
 */
import { join } from 'node:path';
import { describeEnd, runProcess } from '../../../common/child-process.js';
import { BaseOsError, type BaseOsStore, type BaseVersion } from '../../baseos/store.js';
import { copyShiftedCommand } from '../../baseos/shift.js';
import { makeDir } from '../../fs-layers.js';
import { detectPackageManager, GUEST_SOURCE_LIST, upgradeCommand, type PackageManager } from '../../package-manager.js';
import { nspawnBackend, nspawnLayers } from './index.js';

/**
 * Upgrades the current version in a temporary overlay layer (with network), then flattens the
 * result into a new version and switches to it. Jobs running on the old version keep it.
 */
export async function updateBase(store: BaseOsStore, idBase: number | null, sourceList: string, manager: PackageManager | 'auto', log: (line: string) => void): Promise<BaseVersion> {
  const backend = nspawnBackend(idBase);
  const current = await store.require();
  // The upgrade runs as every container guest does (in a user namespace, on the copy owned by the guests' ids).
  const guestCurrent = await backend.prepareBase(store, current, log);
  const chosen = manager === 'auto' ? detectPackageManager(current.root) : manager;
  return store.add(`update of ${current.version} (${chosen})`, async ({ dir, root }) => {
    const workspace = join(dir, 'update');
    await makeDir(workspace, 0o700);
    const environment = backend.environment({ name: `qb-update-${process.pid}`, workspace, base: guestCurrent, instance: null, binds: [{ host: sourceList, guest: GUEST_SOURCE_LIST, readOnly: true }], limits: { memoryMib: 0, cpus: 0 }, persistent: true });
    await environment.setup();
    log(`quarters: upgrading base OS ${current.version} with ${chosen}`);
    const result = await environment.exec({ command: upgradeCommand(chosen), network: true, stdout: 'inherit', stderr: 'inherit', env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } });
    if (result.exitCode !== 0) throw new BaseOsError(`the upgrade failed: ${result.exitCode === null ? result.detail : `exit code ${result.exitCode}`}`);
    // Flatten: copy the merged view (base + upgrade layer) into the new root, inside a private mount
    // namespace; a version's own tree has the host's ids, so a guest-owned one is shifted back.
    const layer = nspawnLayers(workspace);
    const merged = layer.root;
    const copy = idBase === null ? ['cp', '-a', '--reflink=auto', `${merged}/.`, `${root}/`] : copyShiftedCommand(merged, root, { outOf: idBase }, workspace);
    const flatten = 'mount -t overlay quarters-flatten -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && shift 4 && "$@"';
    const flattened = await runProcess('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', flatten, 'flatten', guestCurrent.path, layer.upper, layer.work, merged, ...copy], { capture: true });
    if (flattened.exitCode !== 0) throw new BaseOsError(`cannot flatten the upgraded base (${describeEnd(flattened)}): ${flattened.output.trim()}`);
    await environment.destroy();
  });
}
