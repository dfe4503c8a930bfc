#!/usr/bin/env node
/** The `quarters` command: parses the command line (program.ts), runs the command, turns known errors into one-line messages. */
import { CommanderError } from '@commander-js/extra-typings';
import { CommandError, UsageError } from './command.js';
import { createProgram, type ExitStatus } from './program.js';

/** Exit statuses: 0 ok, 1 the command failed or the server refused, 2 bad usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

async function main(argv: string[]): Promise<number> {
  const status: ExitStatus = { code: EXIT.ok };
  const program = createProgram(status);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version are answers; help shown because a subcommand is missing is a usage error.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    if (error.code === 'commander.help') return EXIT.usage;
    const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    throw new UsageError(status.refusedBy ? `${status.refusedBy}: ${message}` : message);
  }
  return status.code;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    // ConfigError (core/config-text.js) and InputError (input.js) are known by name: importing their modules here
    // would load smol-toml, zod and execa on every start, --help included.
    const known = error instanceof UsageError || error instanceof CommandError || (error instanceof Error && ['ConfigError', 'InputError'].includes(error.name));
    process.stderr.write(`quarters: ${known ? (error as Error).message : (error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = error instanceof UsageError ? EXIT.usage : EXIT.failed;
  },
);
