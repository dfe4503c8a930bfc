/** What every `quarters` subcommand module provides, and how it reports bad usage. */

/** A mistake in the command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A problem with the command's input or request (unknown package, unusable file): printed as one line, exit status 1. */
export class CommandError extends Error {
  override name = 'CommandError';
}

export interface Command {
  /** One line for `quarters --help`. */
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit status. */
  run(argv: string[]): Promise<number>;
}
