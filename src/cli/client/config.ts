/**
 * Where the REST client finds its server and API token: flags, then the environment
 * (QUARTERS_SERVER, QUARTERS_API_TOKEN), then ~/.config/quarters/client.toml ($XDG_CONFIG_HOME honoured).
 * The token never comes from a plain command-line flag (other users see argv): --token-file names a file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../command.js';
import type { ClientConfig } from './config-file.js';

/** The flags every REST command takes. */
export interface ClientFlags {
  server?: string;
  tokenFile?: string;
}

export interface ClientSettings {
  server: string;
  /** null when none is configured: reads need none, writes are refused by the CLI before asking. */
  token: string | null;
}

/** The client config file's path: $XDG_CONFIG_HOME/quarters/client.toml, else ~/.config/quarters/client.toml. */
export function clientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'quarters', 'client.toml');
}

/** Reads the config file when there is one; a bad one is a ConfigError naming the file and the key. */
export async function readClientConfig(file = clientConfigPath()): Promise<ClientConfig> {
  if (!existsSync(file)) return {};
  return (await import('./config-file.js')).loadClientConfig(file);
}

function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--token-file ${file}: cannot read it: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const token = text.trim();
  if (!token) throw new UsageError(`--token-file ${file}: the file is empty`);
  return token;
}

/** The server URL and token, each from the first of: flag, environment, config file. */
export async function clientSettings(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): Promise<ClientSettings> {
  const config = await readClientConfig(clientConfigPath(env));
  const server = flags.server ?? (env.QUARTERS_SERVER || undefined) ?? config.server;
  if (!server) throw new UsageError(`give --server URL, set QUARTERS_SERVER, or put server = "URL" in ${clientConfigPath(env)}`);
  if (!/^https?:\/\/[^/]/.test(server)) throw new UsageError(`the server "${server}" is not an http:// or https:// URL`);
  const token = flags.tokenFile !== undefined ? readTokenFile(flags.tokenFile) : (env.QUARTERS_API_TOKEN || undefined) ?? config.token ?? null;
  return { server: server.replace(/\/+$/, ''), token };
}

/** The token, or a usage error saying where to put one: writes need it. */
export function requireToken(settings: ClientSettings, command: string): string {
  if (settings.token === null) throw new UsageError(`${command} needs an API token: set QUARTERS_API_TOKEN, give --token-file FILE, or put token_file = "…" in ${clientConfigPath()}`);
  return settings.token;
}
