/** Test plumbing: temporary directories, and serving a Hono app on an ephemeral 127.0.0.1 port. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Logger } from '../../src/common/log.js';

/** A fresh temporary directory. */
export function tempDir(prefix = 'quarters-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A logger that writes nowhere (set QUARTERS_TEST_LOG=1 to see it). */
export function quietLogger() {
  return pino({ level: process.env.QUARTERS_TEST_LOG ? 'debug' : 'silent' });
}

/** A logger that keeps every line (info and up) as parsed JSON, for tests that assert on what was logged. */
export function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

/** Serves an app on 127.0.0.1 with an ephemeral port. */
export async function listen(app: Hono): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((done) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      done({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((closed) => server.close(() => closed())),
      });
    });
  });
}

/** The shared GitLab webhook fixtures directory. */
export const WEBHOOK_FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/gitlab-webhooks', import.meta.url));

/** A webhook fixture's text, exactly as stored. */
export function fixtureText(name: string): string {
  return readFileSync(join(WEBHOOK_FIXTURES, name), 'utf8');
}
