/** client.toml's schema and reader: a module of its own, loaded only when the file exists (zod and smol-toml cost start-up time). */
import { z } from 'zod';
import { loadConfigFile } from '../../common/config-file.js';

/** client.toml: `server = "https://…"`, and `token` or `token_file` (relative to the file). */
export const clientConfigSchema = z.strictObject({
  server: z.url().optional(),
  token: z.string().min(1, 'the token is empty').optional(),
});
export type ClientConfig = z.infer<typeof clientConfigSchema>;

/** Reads and validates the file; a bad one is a ConfigError naming the file and the key. */
export function loadClientConfig(file: string): ClientConfig {
  return loadConfigFile(clientConfigSchema, file, ['token']);
}
