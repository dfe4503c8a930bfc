/** `quarters server --config FILE`: runs the quarters server until SIGTERM or SIGINT. */
import { loadConfigFile } from '../common/config-file.js';
import { createLogger } from '../common/log.js';
import { SERVER_SECRET_KEYS, serverConfigSchema } from '../core/server-config.js';
import { createServer } from '../server/server.js';
import { configPath } from './command.js';

/** Runs the server until SIGTERM or SIGINT; resolves to the exit status. */
export async function runServer(flags: { config?: string }): Promise<number> {
  const config = loadConfigFile(serverConfigSchema, configPath(flags.config, 'quarters server'), SERVER_SECRET_KEYS);
  const log = createLogger({ name: 'quarters-server' });
  const server = createServer(config, { log });
  await server.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await server.close();
  return 0;
}
