/**
 * Turning a TOML config text into a validated value: pure (no file access), so the server,
 * the executor and the CLI share one way of reporting a bad config: the file, the key, the reason.
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';

/** A config that cannot be used; the message names the file and the key. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly key: string | null,
    readonly reason: string,
  ) {
    super(key ? `${file}: ${key}: ${reason}` : `${file}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/** Parses TOML text; syntax errors become a ConfigError naming the file and line. */
export function parseTomlText(text: string, file: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const firstLine = error.message.split('\n')[0] ?? 'invalid TOML';
      throw new ConfigError(file, null, `line ${error.line}, column ${error.column}: ${firstLine}`);
    }
    throw error;
  }
}

/** Validates a parsed config against its schema; the first problem becomes a ConfigError naming the key. */
export function validateConfig<S extends z.ZodType>(schema: S, value: unknown, file: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.length > 0 ? issue.path.map(String).join('.') : null;
  const reason =
    issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  throw new ConfigError(file, key, reason);
}
