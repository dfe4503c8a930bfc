/** A server without [gitlab]: it serves build sets and repositories, and asks nothing of GitLab. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConfigSchema } from '../../src/core/server-config.js';
import { createServer, type QuartersServer } from '../../src/server/server.js';
import { quietLogger, tempDir } from './http-harness.js';

const API_TOKEN = 'api-token-for-tests-0123456789';

describe('quarters server in local-only mode', () => {
  let server: QuartersServer;
  let url: string;

  beforeAll(async () => {
    const config = serverConfigSchema.parse({
      listen: '127.0.0.1:0',
      public_url: 'http://quarters.test',
      data_dir: tempDir('quarters-local-server-'),
      build: { flavour: 'pkgbuild', architectures: ['x86_64'] },
      api: { tokens: [API_TOKEN] },
    });
    server = createServer(config, { log: quietLogger() });
    url = await server.start(0);
    // A build set as `quarters build` leaves it: kind local, one failed build.
    const ns = server.store.createNamespace({ name: 'mine', origin: ['hello@stable'], kind: 'local', packager: null, target_branch: 'stable', mr_project_id: null, mr_iid: null });
    const iteration = server.store.addIteration(ns.id, 'local build', { cycles: [], unresolved: [] }, [
      { pkgbase: 'hello', arch: 'x86_64', pass: 1, project_id: 0, project_path: '/src/hello', ref: 'stable', sha: 'abc', version: '1.0-1', dependsOn: [], input_key: 'abc', state: 'blocked', packager: null },
    ]);
    server.store.setState(server.store.builds(iteration.id)[0]!.id, 'failed', 'the build exited with 2');
  });
  afterAll(async () => {
    await server?.close();
  });

  const post = (path: string, body: unknown = {}) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('is healthy and lists its build sets', async () => {
    expect((await (await fetch(`${url}/healthz`)).json()) as unknown).toMatchObject({ status: 'ok' });
    const shown = (await (await fetch(`${url}/api/v1/namespaces/mine`)).json()) as { kind: string; builds: { pkgbase: string; state: string; reason: string }[] };
    expect(shown.kind).toBe('local');
    expect(shown.builds).toEqual([expect.objectContaining({ pkgbase: 'hello', state: 'failed', reason: 'the build exited with 2' })]);
  });

  it('has no webhook or upload route', async () => {
    expect((await post('/webhooks/gitlab')).status).toBe(404);
    const upload = await fetch(`${url}/api/v1/builds/1/artifacts/hello-1.0-1-x86_64.pkg.tar.zst`, { method: 'PUT', body: 'x' });
    expect(upload.status).toBe(404);
  });

  it('refuses to create build sets from GitLab recipes, and to retry a local build set', async () => {
    const created = await post('/api/v1/namespaces', { origin_changesets: ['hello@main'] });
    expect(created.status).toBe(409);
    expect(((await created.json()) as { error: string }).error).toBe('local_only');
    const retried = await post('/api/v1/namespaces/mine/retry');
    expect(retried.status).toBe(409);
    expect(((await retried.json()) as { error: string; detail: string }).detail).toMatch(/quarters build.*--name mine/);
  });

  it('answers a GitLab feature asked of it directly with local_only, not a call', async () => {
    await expect(server.index.syncAll()).rejects.toMatchObject({ error: 'local_only' });
  });
});

describe('the GitLab client of a local-only server', () => {
  it('refuses every call with local_only and is not a thenable', async () => {
    const { noGitLab } = await import('../../src/server/gitlab/none.js');
    const gitlab = noGitLab();
    await expect(gitlab.getProject(1)).rejects.toMatchObject({ status: 409, error: 'local_only', detail: expect.stringMatching(/GitLab getProject needs GitLab, and this server has no \[gitlab\] section/) });
    // Resolving a promise with it must hand back the client, not call a `then` of it.
    expect(await Promise.resolve(gitlab)).toBe(gitlab);
  });
});
