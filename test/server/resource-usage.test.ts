import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceUsagePath } from '../../src/core/resource-usage.js';
import { API_TOKEN, EXECUTOR_TOKEN, runningBuilds, startRig, type Rig } from './server-harness.js';

describe('PUT /api/v1/builds/:id/resource-usage', () => {
  let rig: Rig;
  let buildId: number;
  let pipelineId: number;
  let jobToken: string;
  let otherJobToken: string;

  beforeAll(async () => {
    rig = await startRig();
    ({ buildId, pipelineId, jobToken, otherJobToken } = await runningBuilds(rig));
  });
  afterAll(async () => rig?.close());

  const usage = { wall_seconds: 61.5, cpu_seconds: 90.25, peak_memory_bytes: 734003200, disk_bytes: 52428800 };
  const report = (body: unknown, tokens: { executor: string; job: string }, id: number | string = buildId) =>
    fetch(`${rig.url}${resourceUsagePath(id)}`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${tokens.executor}`, 'X-Job-Token': tokens.job, 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const shown = async () => ((await (await fetch(`${rig.url}/api/v1/builds/${buildId}`)).json()) as { state: string; resource_usage: unknown });

  it('refuses a wrong executor token, an unknown job token and a job of another pipeline, recording nothing', async () => {
    const wrongExecutor = await report(usage, { executor: API_TOKEN, job: jobToken });
    expect(wrongExecutor.status).toBe(401);
    expect(await wrongExecutor.json()).toMatchObject({ error: 'unauthorized' });
    const noExecutor = await fetch(`${rig.url}${resourceUsagePath(buildId)}`, { method: 'PUT', headers: { 'X-Job-Token': jobToken, 'Content-Type': 'application/json' }, body: JSON.stringify(usage) });
    expect(noExecutor.status).toBe(401);
    const unknownJob = await report(usage, { executor: EXECUTOR_TOKEN, job: 'glcbt-not-a-token' });
    expect(unknownJob.status).toBe(401);
    expect(((await unknownJob.json()) as { detail: string }).detail).toContain('GitLab does not accept this job token');
    const foreign = await report(usage, { executor: EXECUTOR_TOKEN, job: otherJobToken });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ error: 'wrong_pipeline' });
    expect((await shown()).resource_usage).toBeNull();
  });

  it('refuses a body that is not the resource usage, and an unknown build', async () => {
    const tokens = { executor: EXECUTOR_TOKEN, job: jobToken };
    const notJson = await report('{wall', tokens);
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: 'invalid_json' });
    const wrong = await report({ ...usage, cpu_seconds: -1 }, tokens);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string; detail: string })).toMatchObject({ error: 'invalid_resource_usage', detail: expect.stringContaining('cpu_seconds') });
    expect((await report({ ...usage, extra: 1 }, tokens)).status).toBe(400);
    expect((await report(usage, tokens, 999999)).status).toBe(404);
    expect((await report(usage, tokens, 'x')).status).toBe(400);
    expect((await shown()).resource_usage).toBeNull();
  });

  it('records the usage of the build\'s own job (204), shown with the build and the build set after the build failed', async () => {
    const res = await report(usage, { executor: EXECUTOR_TOKEN, job: jobToken });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect((await shown()).resource_usage).toEqual(usage);
    // A later stage reports again: the last report wins.
    const later = { ...usage, wall_seconds: 70, peak_memory_bytes: null };
    expect((await report(later, { executor: EXECUTOR_TOKEN, job: jobToken })).status).toBe(204);

    await rig.gitlab.state.finishPipeline(pipelineId, 'failed');
    await rig.server.drain();
    expect(await shown()).toMatchObject({ state: 'failed', resource_usage: later });
    const ns = (await (await fetch(`${rig.url}/api/v1/namespaces/auto-zlib`)).json()) as { builds: { id: number; state: string; resource_usage: unknown }[] };
    expect(ns.builds.find((b) => b.id === buildId)).toMatchObject({ state: 'failed', resource_usage: later });
    // The job has ended: GitLab no longer accepts its token.
    expect((await report(usage, { executor: EXECUTOR_TOKEN, job: jobToken })).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${rig.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, { put?: { requestBody: unknown } }>; components: { schemas: Record<string, { required?: string[] }> } };
    expect(doc.paths['/builds/{id}/resource-usage']?.put?.requestBody).toEqual({ required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ResourceUsage' } } } });
    expect(doc.components.schemas.ResourceUsage?.required).toEqual(['wall_seconds', 'cpu_seconds', 'peak_memory_bytes', 'disk_bytes']);
  });
});
