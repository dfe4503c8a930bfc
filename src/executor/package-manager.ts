/** How a base OS updates its packages from a source list: the one place that knows pacman and apt. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type PackageManager = 'pacman' | 'apt' | 'none';

/** Where the guest finds the source list (bind-mounted read-only). */
export const GUEST_SOURCE_LIST = '/run/quarters-sources.list';

/** The package manager of an OS tree: apt where apt-get exists (Debian, AOSC), else pacman, else none. */
export function detectPackageManager(root: string): PackageManager {
  if (existsSync(join(root, 'usr/bin/apt-get'))) return 'apt';
  if (existsSync(join(root, 'usr/bin/pacman'))) return 'pacman';
  return 'none';
}

/** A shell command, run as root in the guest with network, that installs the source list and upgrades everything. */
export function upgradeCommand(manager: PackageManager): string[] {
  switch (manager) {
    case 'apt':
      return ['/bin/sh', '-ec', `cp ${GUEST_SOURCE_LIST} /etc/apt/sources.list; export DEBIAN_FRONTEND=noninteractive; apt-get -q update; apt-get -q -y -o Dpkg::Options::=--force-confold dist-upgrade; apt-get clean`];
    case 'pacman':
      return ['/bin/sh', '-ec', `mkdir -p /etc/pacman.d; cp ${GUEST_SOURCE_LIST} /etc/pacman.d/mirrorlist; pacman -Syu --noconfirm; pacman -Scc --noconfirm`];
    case 'none':
      return ['/bin/sh', '-ec', `mkdir -p /etc/quarters; cp ${GUEST_SOURCE_LIST} /etc/quarters/sources.list`];
  }
}
