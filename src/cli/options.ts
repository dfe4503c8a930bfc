/** Reading `--name VALUE` / `--name=VALUE` options of a subcommand; anything else is a UsageError. */
import { UsageError } from './command.js';

/** Splits argv into the named options (each at most once) and the positional arguments. */
export function parseOptions(argv: string[], known: readonly string[], command: string): { options: Map<string, string>; positional: string[] } {
  const options = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!known.includes(name)) throw new UsageError(`${command}: unknown option --${name} (known: ${known.map((k) => `--${k}`).join(', ')})`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') throw new UsageError(`${command}: --${name} needs a value`);
    if (options.has(name)) throw new UsageError(`${command}: --${name} given twice`);
    options.set(name, value);
  }
  return { options, positional };
}

/** The config file: --config, else QUARTERS_CONFIG; a UsageError when neither is given. */
export function configPath(options: Map<string, string>, command: string): string {
  const file = options.get('config') ?? process.env.QUARTERS_CONFIG;
  if (!file) throw new UsageError(`${command}: give --config FILE (or set QUARTERS_CONFIG)`);
  return file;
}
