/** The error a config that cannot be used raises, apart from the TOML parser: the CLI recognises it without loading one. */

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
