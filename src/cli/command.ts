/** How `quarters` commands report a problem: the error's class chooses the exit status. */

/** A mistake in the command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A problem with the command's input or request (unknown package, unusable file, the server refused): printed as one line, exit status 1. */
export class CommandError extends Error {
  override name = 'CommandError';
}

/** The server config file: --config, else QUARTERS_CONFIG; a UsageError when neither is given. */
export function configPath(flag: string | undefined, command: string): string {
  const file = flag ?? (process.env.QUARTERS_CONFIG || undefined);
  if (!file) throw new UsageError(`${command}: give --config FILE (or set QUARTERS_CONFIG)`);
  return file;
}
