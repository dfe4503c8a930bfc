#!/usr/bin/env node
/** The `quarters` command: dispatches to a subcommand module, turns known errors into one-line messages. */
import { CommandError, UsageError, type Command } from './command.js';
import { ConfigError } from '../core/config-text.js';
import { InputError } from './input.js';

const commands: Record<string, () => Promise<{ command: Command }>> = {
  build: () => import('./build.js'),
  graph: () => import('./graph.js'),
  server: () => import('./server.js'),
  index: () => import('./index.js'),
  ns: () => import('./ns.js'),
};

function usage(): string {
  return ['usage: quarters COMMAND [ARGS...]', '', 'commands:', ...Object.keys(commands).sort().map((name) => `  ${name}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) throw new UsageError(`unknown command "${name}" (try: quarters --help)`);
  const { command } = await load();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    const known = error instanceof UsageError || error instanceof CommandError || error instanceof ConfigError || error instanceof InputError;
    process.stderr.write(`quarters: ${known ? (error as Error).message : (error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
