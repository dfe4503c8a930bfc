/** A repository index tool failed, and how the index tools are run. */
import { execa } from 'execa';

/** A repository index tool failed; the message carries its output. */
export class RepositoryError extends Error {
  override name = 'RepositoryError';
}

/** Runs an index tool (repo-remove, apt-ftparchive, bsdtar) in `cwd` in the C locale: its stdout, or a RepositoryError with what it said. */
export async function runIndexTool(command: string, args: string[], cwd: string): Promise<string> {
  const result = await execa(command, args, { cwd, reject: false, env: { LC_ALL: 'C' } });
  if (result.failed) throw new RepositoryError(`${command} failed in ${cwd}: ${String(result.stderr || result.stdout || result.shortMessage).trim()}`);
  return String(result.stdout);
}
