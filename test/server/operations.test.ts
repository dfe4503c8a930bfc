/** What an operator meets: start-up after a kill, a full disk. (Clients that go away mid-body: upload-attacks.test.ts.) */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { serverConfigSchema } from '../../src/core/server-config.js';
import { createServer, type QuartersServer } from '../../src/server/server.js';
import { errorHandler } from '../../src/server/http/http-error.js';
import { quietLogger, tempDir } from './http-harness.js';

const localConfig = (dataDir: string) => serverConfigSchema.parse({
  listen: '127.0.0.1:0', public_url: 'http://quarters.test', data_dir: dataDir, build: { flavour: 'pkgbuild', architectures: ['x86_64'] }, api: { tokens: ['api-token-for-tests-0123456789'] },
});

describe('operations', () => {
  let server: QuartersServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('removes what uploads interrupted by kill -9 left (tmp/*.part, pool .incoming files) at start-up', () => {
    const dataDir = tempDir('quarters-restart-');
    mkdirSync(join(dataDir, 'tmp'));
    writeFileSync(join(dataDir, 'tmp', '7-0123456789abcdef.part'), 'half a package');
    mkdirSync(join(dataDir, 'pool', '7'), { recursive: true });
    writeFileSync(join(dataDir, 'pool', '7', 'zlib-1-1-x86_64.pkg.tar.zst'), 'kept');
    writeFileSync(join(dataDir, 'pool', '7', '.zlib-1-1-x86_64.pkg.tar.zst.incoming-0a0b'), 'half-stored');
    server = createServer(localConfig(dataDir), { log: quietLogger() });
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
    expect(readdirSync(join(dataDir, 'pool', '7'))).toEqual(['zlib-1-1-x86_64.pkg.tar.zst']);
  });

  it('/healthz reports data_dir\'s free space, and fails (503) below the threshold', async () => {
    const dataDir = tempDir('quarters-health-');
    server = createServer(localConfig(dataDir), { log: quietLogger() });
    const ok = await server.app.request('/healthz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'ok', data_dir_free_bytes: expect.any(Number), min_free_bytes: 1024 ** 3 });
    await server.close();
    server = createServer({ ...localConfig(dataDir), min_free_mib: 2 ** 30 }, { log: quietLogger() });
    const full = await server.app.request('/healthz');
    expect(full.status).toBe(503);
    expect(await full.json()).toMatchObject({ status: 'degraded', problems: [expect.stringMatching(/^data_dir has \d+ bytes free, less than/)] });
  });

  it('answers a full disk (ENOSPC) with 507 insufficient_storage, not a generic 500', async () => {
    const app = new Hono();
    app.onError(errorHandler(quietLogger()));
    app.put('/x', () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    const res = await app.request('/x', { method: 'PUT' });
    expect(res.status).toBe(507);
    expect(await res.json()).toMatchObject({ error: 'insufficient_storage', detail: expect.stringContaining('out of space') });
  });
});
