/** Filling a new base OS version: from a tarball, with debootstrap, from busybox; and upgrading one. */
import { existsSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeEnd, runProcess } from '../../common/child-process.js';
import type { Backend } from '../environment.js';
import { makeDir } from '../fs-layers.js';
import { detectPackageManager, GUEST_SOURCE_LIST, upgradeCommand, type PackageManager } from '../package-manager.js';
import { BaseOsError, BaseOsStore, looksLikeOsTree, type BaseVersion } from './store.js';
import { writeBusyboxTree } from './busybox.js';
import { copyShiftedCommand } from './shift.js';

/** Loads a root filesystem tarball (any compression tar detects) as the new current version. */
export async function loadTarball(store: BaseOsStore, file: string): Promise<BaseVersion> {
  if (!existsSync(file)) throw new BaseOsError(`tarball ${file} does not exist`);
  return store.add(`tarball ${file}`, async ({ root }) => {
    const result = await runProcess('tar', ['--extract', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--file', file, '--directory', root], { capture: true });
    if (result.exitCode !== 0) throw new BaseOsError(`cannot extract ${file} (tar ${describeEnd(result)}): ${result.stderr.trim().split('\n').slice(-3).join('; ')}`);
    // Bootstrap tarballs (Arch's root.x86_64/) wrap the tree in one directory: lift it.
    const entries = await readdir(root);
    if (!looksLikeOsTree(root) && entries.length === 1 && looksLikeOsTree(join(root, entries[0]!))) {
      const inner = join(root, entries[0]!);
      for (const entry of await readdir(inner)) await rename(join(inner, entry), join(root, entry));
      await rm(inner, { recursive: true });
    }
  });
}

/** Creates a base with debootstrap (minbase variant) as the new current version. */
export async function loadDebootstrap(store: BaseOsStore, suite: string, mirror: string, include: readonly string[] = [], log: (line: string) => void = () => {}): Promise<BaseVersion> {
  return store.add(`debootstrap ${suite} ${mirror}`, async ({ root }) => {
    const args = ['--variant=minbase', ...(include.length ? [`--include=${include.join(',')}`] : []), suite, root, mirror];
    log(`quarters: debootstrap ${args.join(' ')}`);
    const result = await runProcess('debootstrap', args, { capture: true });
    if (result.exitCode !== 0) throw new BaseOsError(`debootstrap ${describeEnd(result)}: ${result.output.trim().split('\n').slice(-5).join('\n')}`);
  });
}

/** A busybox tree as the new current version: for smoke tests of a runner host. */
export async function loadBusybox(store: BaseOsStore): Promise<BaseVersion> {
  return store.add('busybox', ({ root }) => writeBusyboxTree(root));
}

/**
 * Upgrades the current version in a temporary overlay layer (with network), then flattens the
 * result into a new version and switches to it. Jobs running on the old version keep it.
 */
export async function updateBase(store: BaseOsStore, backend: Backend, sourceList: string, manager: PackageManager | 'auto', log: (line: string) => void): Promise<BaseVersion> {
  const current = await store.require();
  // The upgrade runs as every guest does (in a user namespace, on the copy owned by the guests' ids).
  const guestCurrent = await store.forBackend(current, backend);
  const chosen = manager === 'auto' ? detectPackageManager(current.root) : manager;
  return store.add(`update of ${current.version} (${chosen})`, async ({ dir, root }) => {
    const workspace = join(dir, 'update');
    await makeDir(workspace, 0o700);
    const environment = backend.environment({ name: `qb-update-${process.pid}`, workspace, lowers: [guestCurrent.root], binds: [{ host: sourceList, guest: GUEST_SOURCE_LIST, readOnly: true }], limits: { memoryMib: 0, cpus: 0 }, persistent: true });
    await environment.setup();
    log(`quarters: upgrading base OS ${current.version} with ${chosen}`);
    const result = await environment.exec({ command: upgradeCommand(chosen), network: true, stdout: 'inherit', stderr: 'inherit', env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } });
    if (result.exitCode !== 0) throw new BaseOsError(`the upgrade failed: ${result.exitCode === null ? result.detail : `exit code ${result.exitCode}`}`);
    // Flatten: copy the merged view (base + upgrade layer) into the new root, inside a private mount
    // namespace; a version's own tree has the host's ids, so a guest-owned one is shifted back.
    const layer = join(workspace, 'layer');
    const merged = join(layer, 'root');
    const copy = backend.idBase === null ? ['cp', '-a', '--reflink=auto', `${merged}/.`, `${root}/`] : copyShiftedCommand(merged, root, { outOf: backend.idBase }, workspace);
    const flatten = 'mount -t overlay quarters-flatten -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && shift 4 && "$@"';
    const flattened = await runProcess('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', flatten, 'flatten', guestCurrent.root, join(layer, 'upper'), join(layer, 'work'), merged, ...copy], { capture: true });
    if (flattened.exitCode !== 0) throw new BaseOsError(`cannot flatten the upgraded base (${describeEnd(flattened)}): ${flattened.output.trim()}`);
    await environment.destroy();
  });
}
