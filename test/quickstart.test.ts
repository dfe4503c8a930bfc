/**
 * The README's first quick-start line, run as written: scripts/quickstart installs (here: finds
 * installed) what it needs, loads the Arch-on-Debian base, builds examples/arch in dependency order
 * in real containers, and leaves `quarters server` serving them. Only where state goes and the port
 * differ from a user's run, so that the test does not touch /var/lib or port 8080.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { containerSkipReason, reportSkip } from './support/capabilities.js';

const QUICKSTART = fileURLToPath(new URL('../scripts/quickstart', import.meta.url));
const skip = reportSkip(containerSkipReason(), 'the quick start');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(skip)('scripts/quickstart', () => {
  const state = mkdtempSync(join(tmpdir(), 'quarters-quickstart-'));

  afterAll(async () => {
    const pidFile = join(state, 'server.pid');
    if (existsSync(pidFile)) process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
  });

  it('builds the examples in dependency order and serves their build set and repository', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const result = await execa(QUICKSTART, [], {
      env: { QUARTERS_QUICKSTART_DIR: state, QUARTERS_QUICKSTART_LISTEN: listen },
      reject: false,
      all: true,
      stdin: 'ignore',
    });
    expect(result.exitCode, result.all).toBe(0);
    expect(result.all).toMatch(/wave 1: libquartz[^]*wave 2: quartz-tool[^]*wave 3: quartz-meta/);
    expect(result.all).toContain(`quarters is serving the examples' build set at http://${listen}/`);

    const namespace = (await (await fetch(`http://${listen}/api/v1/namespaces/examples`)).json()) as {
      builds: { pkgbase: string; state: string }[];
    };
    expect(namespace.builds.map((b) => [b.pkgbase, b.state])).toEqual([
      ['libquartz', 'built'],
      ['quartz-tool', 'built'],
      ['quartz-meta', 'built'],
    ]);

    const db = join(state, 'quarters.db.tar');
    const response = await fetch(`http://${listen}/repos/examples/latest/x86_64/quarters.db`);
    expect(response.status).toBe(200);
    writeFileSync(db, Buffer.from(await response.arrayBuffer()));
    const entries = (await execa('tar', ['-tf', db])).stdout.split('\n').filter((line) => /^[^/]+\/$/.test(line));
    expect(entries.sort()).toEqual(['libquartz-1.2.0-1/', 'libquartz-docs-1.2.0-1/', 'quartz-meta-1-1/', 'quartz-tool-0.3.1-2/']);
  }, 1_200_000);
});
