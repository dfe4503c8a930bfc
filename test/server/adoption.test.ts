/**
 * Adopting a pipeline after a lost create answer: only one the server's own GitLab user created through
 * the API is the build's. A project member can create a pipeline at the build's commit claiming
 * QUARTERS_BUILD_ID; it is neither adopted nor cancelled, and its jobs cannot upload for the build.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BUILD_ID_VARIABLE } from '../../src/server/gitlab/client.js';
import { pacmanPackage, upload } from './packages.js';
import { EXECUTOR_TOKEN, JANE, srcinfo, startRig, type Rig } from './server-harness.js';

const MALLORY = { id: 66, username: 'mallory', name: 'Mallory', email: 'mallory@example.org' };

describe('a pipeline another user made claiming a build', () => {
  let rig: Rig | undefined;
  afterEach(async () => rig?.close());

  it('is not adopted after a lost create answer: the server makes its own, and the impostor\'s job cannot upload', async () => {
    rig = await startRig({ gitlabRetry: { baseDelayMs: 50, maxDelayMs: 200 } });
    const { gitlab, server } = rig;
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    await server.index.syncAll();
    // The server's create is held, then answered 502 without GitLab acting: it must look for a pipeline that may have landed.
    const fault = gitlab.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 502, delayMs: 1_500 });
    const delivered = rig.deliver('Push Hook', gitlab.pushHookBody(gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }), JANE));

    // Meanwhile another member creates a pipeline at the build's commit claiming its id, with their own API token.
    for (let tries = 0; fault.hits === 0; tries += 1) {
      expect(tries).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const build = server.store.inFlight().find((b) => b.dispatch_started_at !== null)!;
    expect(gitlab.state.pipelinesOf(zlib)).toEqual([]);
    const variables = [{ key: BUILD_ID_VARIABLE, value: String(build.id) }, { key: 'QUARTERS_PKGBASE', value: 'zlib' }, { key: 'QUARTERS_ARCH', value: 'x86_64' }];
    const res = await fetch(`${gitlab.apiUrl}/projects/${zlib.id}/pipeline`, {
      method: 'POST',
      headers: { 'PRIVATE-TOKEN': gitlab.addAccessToken(MALLORY), 'Content-Type': 'application/json' },
      body: JSON.stringify({ ref: 'main', variables }),
    });
    expect(res.status).toBe(201);
    const impostor = (await res.json()) as { id: number; sha: string; source: string; user: { username: string } };
    expect(impostor).toMatchObject({ sha: build.commit_sha ?? build.sha, source: 'api', user: { username: 'mallory' } });

    expect((await delivered).status).toBeLessThan(300);
    await gitlab.state.settled();
    await server.drain();
    const dispatched = server.store.build(build.id)!;
    expect(dispatched.pipeline_id).not.toBeNull();
    expect(dispatched.pipeline_id).not.toBe(impostor.id);
    const ours = gitlab.state.pipeline(dispatched.pipeline_id!);
    expect({ user: ours.user.username, source: ours.source }).toEqual({ user: 'quarters-bot', source: 'api' });
    expect(ours.variables).toContainEqual({ key: BUILD_ID_VARIABLE, value: String(build.id), variable_type: 'env_var' });
    // Not ours, so not cancelled either (not even by the reconcile's orphan sweep).
    await server.pipelines.reconcile();
    // By their jobs: a pipeline's own status counts quarters' commit status, a job of the newest pipeline at the commit.
    expect(gitlab.state.pipelinesOf(zlib).map((p) => ({ id: p.id, jobs: gitlab.state.jobsOf(p.id).map((j) => j.status) })))
      .toEqual([{ id: impostor.id, jobs: ['pending'] }, { id: ours.id, jobs: ['pending'] }]);

    // The impostor's running job is refused an upload for the build; the server's own job is not.
    const file = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: 'Jane Packager <jane@example.org>' });
    const impostorJob = (await gitlab.state.startPipeline(impostor.id)).token;
    const refused = await upload(rig.url, build.id, file, { executor: EXECUTOR_TOKEN, job: impostorJob });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'wrong_pipeline' });
    const ourJob = (await gitlab.state.startPipeline(ours.id)).token;
    expect((await upload(rig.url, build.id, file, { executor: EXECUTOR_TOKEN, job: ourJob })).status).toBe(201);
  });
});
