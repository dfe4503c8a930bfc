/**
 * The Arch-on-Debian base OS that end-to-end build tests run in: Debian bookworm minbase with
 * Debian's pacman, makepkg and what makepkg needs to produce a .pkg.tar.zst. `scripts/make-base`
 * makes it with debootstrap on first use and caches it outside the repository
 * (QUARTERS_TEST_CACHE, default /var/cache/quarters-test); concurrent callers wait on its lock.
 */
import { fileURLToPath } from 'node:url';
import { execa, execaSync } from 'execa';

const MAKE_BASE = fileURLToPath(new URL('../../scripts/make-base', import.meta.url));

/** Null when the base can be made (or found) here, else why not. */
export function archBaseSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'the Arch-on-Debian base OS needs root (debootstrap)';
  for (const tool of ['debootstrap', 'zstd', 'flock']) {
    if (execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode !== 0) return `the Arch-on-Debian base OS needs ${tool} (scripts/install-deps installs it)`;
  }
  return null;
}

async function makeBase(args: string[]): Promise<string> {
  // stderr passes through: a cold run takes minutes, and its progress (or debootstrap's error) belongs in the test output.
  const result = await execa(MAKE_BASE, args, { stderr: 'inherit', reject: false });
  if (result.exitCode !== 0) throw new Error(`scripts/make-base ${args.join(' ')} failed with exit status ${result.exitCode}`);
  return result.stdout.trim();
}

/** The base OS as a tarball (what `quarters-executor baseos load --tarball FILE` imports). */
export function archBaseTarball(): Promise<string> {
  return makeBase([]);
}

/** The base OS unpacked, to use read-only as an overlay's lowest layer. */
export function archBaseTree(): Promise<string> {
  return makeBase(['--extract']);
}
