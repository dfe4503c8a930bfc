/** What an operator meets: start-up after a kill, a full disk, clients that go away. */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Hono } from 'hono';
import { serverConfigSchema } from '../../src/core/server-config.js';
import { createServer, type QuartersServer } from '../../src/server/server.js';
import { errorHandler } from '../../src/server/http/http-error.js';
import { capturingLogger, quietLogger, tempDir } from './http-harness.js';
import { EXECUTOR_TOKEN, runningBuilds, startRig, type Rig } from './server-harness.js';
import { pacmanPackage, sha256Of } from './packages.js';

const localConfig = (dataDir: string) => serverConfigSchema.parse({
  listen: '127.0.0.1:0', public_url: 'http://quarters.test', data_dir: dataDir, build: { flavour: 'pkgbuild', architectures: ['x86_64'] }, api: { tokens: ['api-token-for-tests-0123456789'] },
});

describe('operations', () => {
  let server: QuartersServer | undefined;
  let rig: Rig | undefined;
  afterEach(async () => {
    await server?.close();
    await rig?.close();
    server = undefined;
    rig = undefined;
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

  it('logs a client that disconnects mid-body as a quiet 400-class line, not an unhandled 500, and keeps nothing of it', async () => {
    const { log, lines } = capturingLogger();
    rig = await startRig({ log });
    const { buildId, jobToken } = await runningBuilds(rig);
    const file = await pacmanPackage({ name: 'zlib', version: '1.1-1' });
    const { hostname, port } = new URL(rig.url);
    await new Promise<void>((resolve) => {
      const req = request({
        hostname, port, method: 'PUT', path: `/api/v1/builds/${buildId}/artifacts/${file.filename}`,
        headers: { Authorization: `Bearer ${EXECUTOR_TOKEN}`, 'X-Job-Token': jobToken, 'X-Checksum-Sha256': sha256Of(file.path), 'Content-Length': '1000000' },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(1000, 1));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
    const until = Date.now() + 3_000;
    while (!lines.some((l) => l.path === `/api/v1/builds/${buildId}/artifacts/${file.filename}`) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const logged = lines.filter((l) => String(l.path ?? '').includes('/artifacts/'));
    expect(logged).toEqual([expect.objectContaining({ msg: 'request', status: 400 })]);
    expect(lines.filter((l) => l.msg === 'unhandled error')).toEqual([]);
    expect(lines.some((l) => l.msg === 'upload interrupted by the client' && (l.level as number) === 30)).toBe(true);
    expect(readdirSync(join(rig.config.data_dir, 'tmp'))).toEqual([]);
    expect(existsSync(join(rig.config.data_dir, 'pool', String(buildId)))).toBe(false);
  });
});
