/**
 * Running the real makepkg from tests. makepkg refuses to run as root, so as root it runs as
 * `nobody` through runuser, in a private copy of the PKGBUILD's directory that nobody owns (makepkg
 * insists on writing next to the PKGBUILD even for --printsrcinfo).
 */
import { chownSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

function have(tool: string): boolean {
  return execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode === 0;
}

/** Null when makepkg can run here as an unprivileged user, else why not. */
export function makepkgSkipReason(): string | null {
  if (!have('makepkg')) return 'makepkg is not installed (Debian package makepkg; scripts/install-deps installs it)';
  if (asRoot && !have('runuser')) return 'running as root without runuser (util-linux) to run makepkg as nobody';
  return null;
}

/** A writable directory the makepkg user owns; the caller removes it. */
export function makepkgWorkdir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  giveToMakepkgUser(dir);
  return dir;
}

/** Copies a PKGBUILD directory into `parent` (a makepkgWorkdir), owned by the makepkg user; returns the copy. */
export function copyForMakepkg(source: string, parent: string, name: string): string {
  const copy = join(parent, name);
  cpSync(source, copy, { recursive: true });
  giveToMakepkgUser(copy);
  return copy;
}

/** Makes a file or a directory tree the makepkg user's (a no-op unless running as root). */
export function giveToMakepkgUser(path: string): void {
  if (!asRoot) return;
  chownSync(path, NOBODY, NOBODY);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) giveToMakepkgUser(join(path, entry));
}

/**
 * Runs makepkg with `args` in `dir` as the makepkg user; HOME is `home` (makepkg reads
 * ~/.makepkg.conf). Resolves to its standard output and its whole output (both streams
 * interleaved); rejects on failure with the whole output.
 */
export async function runMakepkg(dir: string, args: string[], env: { home: string; extra?: Record<string, string> }): Promise<{ stdout: string; all: string }> {
  const vars = { HOME: env.home, ...env.extra };
  // runuser resets HOME to the target user's; `env` sets the variables after it has.
  const command = asRoot
    ? ['runuser', '-u', 'nobody', '--', 'env', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), 'makepkg', ...args]
    : ['makepkg', ...args];
  const result = await execa(command[0] as string, command.slice(1), { cwd: dir, env: vars, reject: false, all: true });
  if (result.exitCode !== 0) throw new Error(`makepkg ${args.join(' ')} in ${dir} failed (exit ${result.exitCode}):\n${result.all}`);
  return { stdout: result.stdout, all: result.all };
}

/** What `makepkg --printsrcinfo` prints for the PKGBUILD in `source` (a directory). */
export async function printSrcinfo(source: string): Promise<string> {
  const work = makepkgWorkdir('quarters-srcinfo-');
  try {
    const copy = copyForMakepkg(source, work, 'pkg');
    const { stdout } = await runMakepkg(copy, ['--printsrcinfo'], { home: work });
    // execa strips the final newline; .SRCINFO files end with one.
    return `${stdout}\n`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
