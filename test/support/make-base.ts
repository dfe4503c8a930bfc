/**
 * The cached Debian bases of `scripts/make-base` (debootstrap on first use, then found in
 * QUARTERS_TEST_CACHE, default /var/cache/quarters-test); concurrent callers wait on its lock.
 */
import { fileURLToPath } from 'node:url';
import { execa, execaSync } from 'execa';

const MAKE_BASE = fileURLToPath(new URL('../../scripts/make-base', import.meta.url));

/** The profiles scripts/make-base knows (see its --help). */
export type BaseProfile = 'arch' | 'debian' | 'systemd-host';

/** Null when scripts/make-base can make (or find) a base here, else why not. */
export function makeBaseSkipReason(what: string): string | null {
  if (process.getuid?.() !== 0) return `${what} needs root (debootstrap)`;
  for (const tool of ['debootstrap', 'zstd', 'flock']) {
    if (execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode !== 0) return `${what} needs ${tool} (scripts/install-deps installs it)`;
  }
  return null;
}

/** Runs scripts/make-base with `args` and returns the path it prints. */
export async function makeBase(args: string[]): Promise<string> {
  // stderr passes through: a cold run takes minutes, and its progress (or debootstrap's error) belongs in the test output.
  const result = await execa(MAKE_BASE, args, { stderr: 'inherit', reject: false });
  if (result.exitCode !== 0) throw new Error(`scripts/make-base ${args.join(' ')} failed with exit status ${result.exitCode}`);
  return result.stdout.trim();
}

/** The base of `profile` unpacked, to use read-only (an overlay's lowest layer, a disk image's contents). */
export function baseTree(profile: BaseProfile): Promise<string> {
  return makeBase(['--profile', profile, '--extract']);
}

/** Where test artifacts too big or slow to make are cached, outside the repository (scripts/make-base's cache too). */
export function testCacheDir(): string {
  return process.env.QUARTERS_TEST_CACHE || '/var/cache/quarters-test';
}
