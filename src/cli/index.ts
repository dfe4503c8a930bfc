/** `quarters index sync --config FILE`: reads every recipe of the configured package repositories through the GitLab API into the server's index. */
import { loadConfigFile } from '../common/config-file.js';
import { createLogger } from '../common/log.js';
import { SERVER_SECRET_KEYS, serverConfigSchema } from '../core/server-config.js';
import { createServer } from '../server/server.js';
import { UsageError, type Command } from './command.js';
import { configPath, parseOptions } from './options.js';

export const command: Command = {
  summary: 'index sync: read every recipe through the GitLab API into the source index',
  async run(argv) {
    const { options, positional } = parseOptions(argv, ['config'], 'quarters index');
    if (positional[0] !== 'sync' || positional.length > 1) throw new UsageError('usage: quarters index sync [--config FILE]');
    const config = loadConfigFile(serverConfigSchema, configPath(options, 'quarters index sync'), SERVER_SECRET_KEYS);
    const server = createServer(config, { log: createLogger({ name: 'quarters-index', level: 'warn' }) });
    try {
      const result = await server.index.syncAll();
      for (const problem of result.problems) process.stderr.write(`quarters: ${problem}\n`);
      process.stdout.write(`${result.updated.length} recipes indexed, ${result.removed.length} removed, ${result.problems.length} unreadable\n`);
      return result.problems.length ? 1 : 0;
    } finally {
      await server.close();
    }
  },
};
