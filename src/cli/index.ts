/** `quarters index sync --config FILE`: reads every recipe of the configured package repositories through the GitLab API into the server's index. */
import { loadConfigFile } from '../common/config-file.js';
import { createLogger } from '../common/log.js';
import { SERVER_SECRET_KEYS, serverConfigSchema } from '../core/server-config.js';
import { createServer } from '../server/server.js';
import { describeUnreadable } from '../server/sources/source-index.js';
import { CommandError, configPath } from './command.js';

/** Syncs the index; exit status 1 when a project or recipe could not be read. */
export async function indexSync(flags: { config?: string }): Promise<number> {
  const file = configPath(flags.config, 'quarters index sync');
  const config = loadConfigFile(serverConfigSchema, file, SERVER_SECRET_KEYS);
  if (!config.gitlab) throw new CommandError(`quarters index sync: ${file} has no [gitlab] section, so there is no index to sync (a local-only server serves what "quarters build" makes)`);
  const server = createServer(config, { log: createLogger({ name: 'quarters-index', level: 'warn' }) });
  try {
    const result = await server.index.syncAll();
    // Everything readable is indexed first; then each project or recipe that is not is named, and the exit status says so.
    for (const unreadable of result.unreadable) process.stderr.write(`quarters: not indexed: ${describeUnreadable(unreadable)}\n`);
    process.stdout.write(`${result.updated.length} recipes indexed, ${result.removed.length} removed, ${result.unreadable.length} unreadable\n`);
    return result.unreadable.length ? 1 : 0;
  } finally {
    await server.close();
  }
}
