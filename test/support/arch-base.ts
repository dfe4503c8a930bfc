/**
 * The Arch-on-Debian base OS that end-to-end build tests run in: Debian bookworm minbase with
 * Debian's pacman, makepkg and what makepkg needs to produce a .pkg.tar.zst (`scripts/make-base`,
 * profile `arch`, cached outside the repository).
 */
import { baseTree, makeBase, makeBaseSkipReason } from './make-base.js';

/** Null when the base can be made (or found) here, else why not. */
export function archBaseSkipReason(): string | null {
  return makeBaseSkipReason('the Arch-on-Debian base OS');
}

/** The base OS as a tarball (what `quarters-executor baseos load --tarball FILE` imports). */
export function archBaseTarball(): Promise<string> {
  return makeBase(['--profile', 'arch']);
}

/** The base OS unpacked, to use read-only as an overlay's lowest layer. */
export function archBaseTree(): Promise<string> {
  return baseTree('arch');
}
