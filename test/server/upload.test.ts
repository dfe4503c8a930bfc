import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXECUTOR_TOKEN, runningBuilds, startRig, type Rig } from './server-harness.js';
import { pacmanDbEntries, pacmanPackage, sha256Of, upload } from './packages.js';

const PACKAGER = 'Jane Packager <jane@example.org>';

// What an upload must be refused for (tokens, names, checksums, bodies, other packages, a full disk) is
// the table of upload-attacks.test.ts; these are the rest: what the package says of itself, storing, serving.
describe('PUT /api/v1/builds/:id/artifacts/:filename', () => {
  let rig: Rig;
  let buildId: number;
  let jobToken: string;

  beforeAll(async () => {
    rig = await startRig();
    ({ buildId, jobToken } = await runningBuilds(rig));
  });
  afterAll(async () => rig?.close());

  const tokens = () => ({ executor: EXECUTOR_TOKEN, job: jobToken });
  const poolAndTemp = () => {
    const dir = rig.config.data_dir;
    const list = (sub: string) => { try { return readdirSync(join(dir, sub)); } catch { return []; } };
    return { tmp: list('tmp'), pool: list(`pool/${buildId}`) };
  };

  it('refuses a package whose packager is not the one the build was made for', async () => {
    const file = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: 'Mallory <m@example.org>' });
    const res = await upload(rig.url, buildId, file, tokens());
    expect(res.status).toBe(422);
    expect(((await res.json()) as { detail: string }).detail).toContain('Mallory');
  });

  it('refuses a file whose name says zlib but whose .PKGINFO says glibc, and one at another version than the recipe', async () => {
    const glibc = await pacmanPackage({ name: 'glibc', version: '1.1-1', packager: PACKAGER });
    const disguised = await upload(rig.url, buildId, { path: glibc.path, filename: 'zlib-1.1-1-x86_64.pkg.tar.zst' }, tokens());
    expect(disguised.status).toBe(422);
    expect(await disguised.json()).toMatchObject({ error: 'package_name_mismatch', detail: expect.stringContaining('glibc 1.1-1') });
    const older = await pacmanPackage({ name: 'zlib', version: '1.0-1', packager: PACKAGER });
    const res = await upload(rig.url, buildId, older, tokens());
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: 'not_a_product', detail: expect.stringContaining('at version 1.1-1') });
    expect(poolAndTemp()).toEqual({ tmp: [], pool: [] });
  });

  it('stores, indexes and serves a package; a re-upload replaces it', async () => {
    const file = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER });
    const res = await upload(rig.url, buildId, file, tokens());
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ filename: file.filename, sha256: sha256Of(file.path), repository: '/repos/auto-zlib/1/x86_64/' });
    const served = await fetch(`${rig.url}/repos/auto-zlib/latest/x86_64/${file.filename}`);
    expect(Buffer.from(await served.arrayBuffer()).equals(readFileSync(file.path))).toBe(true);
    const again = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER, depends: ['glibc'] });
    expect((await upload(rig.url, buildId, again, tokens(), { 'X-Quarters-Resource-Usage': '{"wall_seconds": "slow"}' })).status).toBe(400);
    const usage = { wall_seconds: 12.5, cpu_seconds: 20.25, peak_memory_bytes: 104857600, disk_bytes: 4096 };
    expect((await upload(rig.url, buildId, again, tokens(), { 'X-Quarters-Resource-Usage': JSON.stringify(usage) })).status).toBe(201);
    const reserved = await fetch(`${rig.url}/repos/auto-zlib/1/x86_64/${file.filename}`);
    expect(Buffer.from(await reserved.arrayBuffer()).equals(readFileSync(again.path))).toBe(true);
    const db = await fetch(`${rig.url}/repos/auto-zlib/1/x86_64/quarters.db`);
    expect(await pacmanDbEntries(Buffer.from(await db.arrayBuffer()))).toEqual(['zlib-1.1-1']);
    const build = (await (await fetch(`${rig.url}/api/v1/builds/${buildId}`)).json()) as { artifacts: { filename: string; sha256: string }[]; resource_usage: unknown };
    expect(build.resource_usage).toEqual(usage);
    expect(build.artifacts).toEqual([{ filename: file.filename, sha256: sha256Of(again.path), size: readFileSync(again.path).length }]);
    expect(poolAndTemp().tmp).toEqual([]);
  });

  it('checks a build planned before products were recorded against its recipe in the index, while that is at the build\'s commit', async () => {
    const db = rig.server.db;
    const saved = (db.prepare('SELECT products FROM builds WHERE id = ?').get(buildId) as { products: string }).products;
    db.prepare('UPDATE builds SET products = NULL WHERE id = ?').run(buildId);
    try {
      const glibc = await pacmanPackage({ name: 'glibc', version: '9.9-1', packager: PACKAGER });
      expect(await (await upload(rig.url, buildId, glibc, tokens())).json()).toMatchObject({ error: 'not_a_product' });
      db.prepare("UPDATE builds SET sha = 'moved-on' WHERE id = ?").run(buildId);
      expect(await (await upload(rig.url, buildId, glibc, tokens())).json()).toMatchObject({ error: 'products_unknown' });
    } finally {
      db.prepare('UPDATE builds SET products = ?, sha = (SELECT sha FROM recipes WHERE pkgbase = builds.pkgbase AND branch = builds.ref) WHERE id = ?').run(saved, buildId);
    }
  });

  it('refuses uploads to a build that is built already (409)', async () => {
    rig.server.store.setState(buildId, 'built', null);
    try {
      const file = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER });
      const res = await upload(rig.url, buildId, file, tokens());
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ error: 'build_not_running', detail: expect.stringContaining('built') });
    } finally {
      rig.server.store.setState(buildId, 'building', null);
    }
  });

  it('serves repositories read-only and refuses paths outside them', async () => {
    expect((await fetch(`${rig.url}/repos/auto-zlib/latest/x86_64/quarters.db`, { method: 'PUT', body: 'x' })).status).toBe(404);
    expect((await fetch(`${rig.url}/repos/auto-zlib/latest/x86_64/..%2F..%2Fquarters.sqlite3`)).status).toBe(400);
    expect((await fetch(`${rig.url}/repos/nope/latest/x86_64/`)).status).toBe(404);
    expect((await fetch(`${rig.url}/repos/auto-zlib/7/x86_64/`)).status).toBe(404);
    writeFileSync(join(rig.config.data_dir, 'secret.txt'), 'secret');
    expect((await fetch(`${rig.url}/repos/auto-zlib/1/x86_64/secret.txt`)).status).toBe(404);
  });
});
