/** The structured logger (pino) the server, the executor and the CLI share. Secrets are redacted by key. */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are never written to a log, wherever they appear (two levels deep). */
export const REDACTED_KEYS = [
  'token', 'tokens', 'password', 'passphrase', 'secret', 'webhook_secret', 'authorization', 'Authorization',
  'x-gitlab-token', 'X-Gitlab-Token', 'x-job-token', 'X-Job-Token', 'private-token', 'PRIVATE-TOKEN', 'job_token', 'CI_JOB_TOKEN',
];

const segment = (key: string): string => (/^[A-Za-z_]\w*$/.test(key) ? `.${key}` : `["${key}"]`);
const redactPaths = REDACTED_KEYS.flatMap((key) => [segment(key).replace(/^\./, ''), `*${segment(key)}`, `*.*${segment(key)}`]);

export interface LogOptions {
  name: string;
  level?: string;
  /** Where to write; stderr by default, so stdout stays free for command output and protocol answers. */
  destination?: DestinationStream;
}

/** Creates a logger writing JSON lines. */
export function createLogger(options: LogOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? process.env.QUARTERS_LOG_LEVEL ?? 'info',
      redact: { paths: redactPaths, censor: '[redacted]' },
    },
    options.destination ?? pino.destination(2),
  );
}
