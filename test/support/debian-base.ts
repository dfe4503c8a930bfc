/**
 * The Debian base OS that Debian source packages (flavour `debian`) build in: Debian bookworm
 * minbase with build-essential, dpkg-dev, fakeroot and debhelper (`scripts/make-base`, profile
 * `debian`, cached outside the repository and shared by every test file that builds Debian packages).
 */
import { baseTree, makeBase, makeBaseSkipReason } from './make-base.js';

/** Null when the base can be made (or found) here, else why not. */
export function debianBaseSkipReason(): string | null {
  return makeBaseSkipReason('the Debian build base OS');
}

/** The base OS as a tarball (what `quarters-executor baseos load --tarball FILE` imports). */
export function debianBaseTarball(): Promise<string> {
  return makeBase(['--profile', 'debian']);
}

/** The base OS unpacked, to use read-only as an overlay's lowest layer. */
export function debianBaseTree(): Promise<string> {
  return baseTree('debian');
}
