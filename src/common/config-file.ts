/** Reading a TOML config file, resolving `<key>_file` secrets, validating it. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { $ZodType, output } from 'zod/v4/core';
import { ConfigError, parseTomlText, validateConfig } from '../core/config-text.js';

export { ConfigError };

/**
 * Replaces every `<key>_file` entry whose `<key>` is a known secret by the file's contents
 * (trailing newline removed). Secret paths are dotted (`gitlab.token`); a list of secrets
 * (`api.tokens`) reads one token per non-empty line.
 */
export function resolveSecretFiles(config: Record<string, unknown>, secretKeys: readonly string[], file: string, read?: string[]): void {
  for (const dotted of secretKeys) {
    const parts = dotted.split('.');
    const key = parts.pop()!;
    let table: unknown = config;
    for (const part of parts) table = (table as Record<string, unknown> | undefined)?.[part];
    if (typeof table !== 'object' || table === null) continue;
    const record = table as Record<string, unknown>;
    const fileKey = `${key}_file`;
    if (!(fileKey in record)) continue;
    const where = [...parts, fileKey].join('.');
    if (key in record) throw new ConfigError(file, where, `give either ${[...parts, key].join('.')} or ${where}, not both`);
    const path = record[fileKey];
    if (typeof path !== 'string') throw new ConfigError(file, where, 'expected a file path');
    let text: string;
    try {
      read?.push(resolve(dirname(file), path));
      text = readFileSync(resolve(dirname(file), path), 'utf8');
    } catch (error) {
      throw new ConfigError(file, where, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const isList = Array.isArray(record[key]) || key.endsWith('tokens');
    record[key] = isList ? text.split('\n').map((l) => l.trim()).filter(Boolean) : text.replace(/\r?\n$/, '');
    delete record[fileKey];
  }
}

/** Loads and validates a TOML config file. Throws ConfigError naming the file and key. */
export function loadConfigFile<S extends $ZodType>(schema: S, file: string, secretKeys: readonly string[] = [], read?: string[]): output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, null, `cannot read the config file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const raw = parseTomlText(text, file);
  resolveSecretFiles(raw, secretKeys, file, read);
  return validateConfig(schema, raw, file);
}
