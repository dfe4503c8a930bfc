/** Filling a new base OS version: from a tarball, with debootstrap, from busybox (upgrading one: backends/nspawn/base-update.ts). */
import { existsSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeEnd, runProcess } from '../../common/child-process.js';
import { BaseOsError, BaseOsStore, looksLikeOsTree, type BaseVersion } from './store.js';
import { writeBusyboxTree } from './busybox.js';

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
