/** What every `quarters` subcommand module provides, and how it reports bad usage. */

/** A mistake in the command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Command {
  /** One line for `quarters --help`. */
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit status. */
  run(argv: string[]): Promise<number>;
}
