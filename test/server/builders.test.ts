/** GET /api/v1/builders and `quarters builders`: runners named by Job Hooks and by the executors' reports, what they build, the queue. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { resourceUsagePath } from '../../src/core/resource-usage.js';
import type { BuildersView } from '../../src/core/builders-view.js';
import { EXECUTOR_TOKEN, JANE, WEBHOOK_SECRET, chain, srcinfo, startRig, type Rig } from './server-harness.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

describe('builders', () => {
  let rig: Rig;
  const builders = async (query = '') => (await (await fetch(`${rig.url}/api/v1/builders${query}`)).json()) as BuildersView;

  beforeAll(async () => {
    rig = await startRig();
    rig.gitlab.state.defaultRunner = { id: 7, description: 'runner-a <fast>' };
  });
  afterAll(async () => rig?.close());

  it('shows a dispatched build in the queue, then on the runner whose job the Job Hook named, then in its recent jobs', async () => {
    const { zlib } = await chain(rig);
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }), JANE));
    const planned = rig.server.store.builds(rig.server.store.latestIteration(rig.server.store.namespaceByName('auto-zlib')!.id)!.id);
    const build = planned.find((b) => b.pkgbase === 'zlib')!;
    expect(build.state).toBe('dispatched');
    // Planning recorded why each build is in the set: the first step back to the origin.
    expect(Object.fromEntries(planned.map((b) => [b.pkgbase, b.because]))).toEqual({
      zlib: null,
      libpng: { to: 'zlib', kind: 'run', binary: 'zlib', clause: 'zlib', via: 'libpng' },
      cairo: { to: 'libpng', kind: 'run', binary: 'libpng', clause: 'libpng', via: 'cairo' },
    });

    const queued = await builders();
    expect(queued.builders).toEqual([]);
    expect(queued.queue).toEqual([expect.objectContaining({ build_id: build.id, namespace: 'auto-zlib', pkgbase: 'zlib', arch: 'x86_64', pipeline_id: build.pipeline_id, job_id: null })]);
    expect(queued.queue[0]!.waiting_seconds).toBeGreaterThanOrEqual(0);

    const { job } = await rig.gitlab.state.startPipeline(build.pipeline_id!);
    await rig.server.drain();
    const running = await builders();
    expect(running.queue).toEqual([]);
    expect(running.builders).toEqual([
      expect.objectContaining({
        runner: { id: 7, description: 'runner-a <fast>' }, recent_jobs: 1,
        running: [expect.objectContaining({ build_id: build.id, pkgbase: 'zlib', job_id: job.id, job_url: `${build.pipeline_url!.replace(/pipelines\/\d+$/, `jobs/${job.id}`)}`, started_at: expect.any(String) })],
      }),
    ]);

    await rig.gitlab.state.finishPipeline(build.pipeline_id!, 'success');
    await rig.server.drain();
    const after = await builders();
    // zlib built: libpng is dispatched and waits for a runner.
    expect(after.builders).toEqual([expect.objectContaining({ runner: { id: 7, description: 'runner-a <fast>' }, recent_jobs: 1, running: [] })]);
    expect(after.queue.map((q) => q.pkgbase)).toEqual(['libpng']);
  });

  it('learns the runner from an executor\'s report when no Job Hook said it', async () => {
    rig.gitlab.setPipelineHook({ url: `${rig.url}/webhooks/gitlab`, secret: WEBHOOK_SECRET, jobEvents: false });
    const libpng = (await builders()).queue[0]!;
    const { token } = await rig.gitlab.state.startPipeline(libpng.pipeline_id!).then(async (started) => started);
    // startPipeline used the default runner; this job was taken by runner 9 instead, as GET /job will say.
    const job = rig.gitlab.state.jobsOf(libpng.pipeline_id!)[0]!;
    job.runner = { id: 9, description: 'runner-b' };
    const res = await fetch(`${rig.url}${resourceUsagePath(libpng.build_id)}`, {
      method: 'PUT', headers: { Authorization: `Bearer ${EXECUTOR_TOKEN}`, 'X-Job-Token': token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ wall_seconds: 1, cpu_seconds: 1, peak_memory_bytes: null, disk_bytes: null }),
    });
    expect(res.status).toBe(204);
    const view = await builders();
    expect(view.builders.find((b) => b.runner?.id === 9)).toMatchObject({ runner: { id: 9, description: 'runner-b' }, recent_jobs: 1, running: [expect.objectContaining({ pkgbase: 'libpng', job_id: job.id })] });
    expect(view.builders.find((b) => b.runner?.id === 7)).toMatchObject({ recent_jobs: 1, running: [] });
  });

  it('refuses a bad window and takes a good one', async () => {
    const bad = await fetch(`${rig.url}/api/v1/builders?hours=-1`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_request', detail: expect.stringContaining('hours') });
    const view = await builders('?hours=0.5');
    expect(Date.parse(view.generated_at) - Date.parse(view.since)).toBe(30 * 60 * 1000);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${rig.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, { get?: { responses: Record<string, unknown> } }> };
    expect(doc.paths['/builders']?.get?.responses['200']).toEqual({ description: 'builders', content: { 'application/json': { schema: { $ref: '#/components/schemas/Builders' } } } });
    expect(Object.keys(doc.paths)).toContain('/events');
  });

  it('is what `quarters builders` prints, as text and with --json', async () => {
    const text = await execa('node', [CLI, 'builders', '--server', rig.url], { reject: false });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^RUNNER\s+LAST SEEN\s+JOBS\s+BUILDING\s+JOB\s+ELAPSED$/m);
    expect(text.stdout).toMatch(/^#9 runner-b\s+\S+\s+1\s+auto-zlib: libpng\/x86_64\s+\d+\s+\d+s$/m);
    expect(text.stdout).toMatch(/^queue: empty$/m);
    const json = await execa('node', [CLI, 'builders', '--json', '--server', rig.url], { reject: false });
    expect(json.exitCode).toBe(0);
    expect((JSON.parse(json.stdout) as BuildersView).builders.map((b) => b.runner?.id)).toEqual(expect.arrayContaining([7, 9]));
    const bad = await execa('node', [CLI, 'builders', '--hours', 'x', '--server', rig.url], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--hours');
  });
});
