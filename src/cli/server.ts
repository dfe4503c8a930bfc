/** `quarters server --config FILE`: runs the quarters server until SIGTERM or SIGINT. */
import { loadConfigFile } from '../common/config-file.js';
import { createLogger } from '../common/log.js';
import { SERVER_SECRET_KEYS, serverConfigSchema } from '../core/server-config.js';
import { createServer } from '../server/server.js';
import { UsageError, type Command } from './command.js';
import { configPath, parseOptions } from './options.js';

export const command: Command = {
  summary: 'run the quarters server (--config FILE, or QUARTERS_CONFIG)',
  async run(argv) {
    const { options, positional } = parseOptions(argv, ['config'], 'quarters server');
    if (positional.length) throw new UsageError(`quarters server: unexpected argument "${positional[0]}"`);
    const config = loadConfigFile(serverConfigSchema, configPath(options, 'quarters server'), SERVER_SECRET_KEYS);
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
  },
};
