/** Config files for tests: written to a fresh directory, and the ConfigError a load gives. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/core/config-text.js';

/** Writes `text` as NAME in a fresh directory, with `extra` files (secrets) beside it; returns its path. */
export function writeConfigFile(text: string, extra: Record<string, string> = {}, name = 'quarters.toml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarters-config-'));
  for (const [file, content] of Object.entries(extra)) writeFileSync(join(dir, file), content);
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The ConfigError `fn` throws; fails when it throws nothing or something else. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
