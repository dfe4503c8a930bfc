/** `quarters server --config FILE`: runs the quarters server until SIGTERM or SIGINT. */
import { ConfigError, loadConfigFile } from '../common/config-file.js';
import { createLogger } from '../common/log.js';
import { SERVER_SECRET_KEYS, serverConfigSchema } from '../core/server-config.js';
import { createServer, type QuartersServer } from '../server/server.js';
import { SigningError } from '../server/signing/signer.js';
import { configPath } from './command.js';

/** Runs the server until SIGTERM or SIGINT; resolves to the exit status. */
export async function runServer(flags: { config?: string }): Promise<number> {
  const file = configPath(flags.config, 'quarters server');
  const config = loadConfigFile(serverConfigSchema, file, SERVER_SECRET_KEYS);
  const log = createLogger({ name: 'quarters-server' });
  let server: QuartersServer;
  try {
    server = createServer(config, { log });
  } catch (error) {
    // A signing key the config names wrongly is the config's fault: the message names the file and the key.
    if (error instanceof SigningError && error.configKey) throw new ConfigError(file, `signing.${error.configKey}`, error.message);
    throw error;
  }
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
