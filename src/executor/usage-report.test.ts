import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executorConfigSchema } from './config.js';
import { jobFromEnv } from './job-variables.js';
import type { JobSession } from './session.js';
import { reportResourceUsage } from './usage-report.js';
import { startArtifactServer, type ArtifactServer } from '../../test/support/artifact-server.js';

describe('reportResourceUsage', () => {
  let server: ArtifactServer;
  const logs: string[] = [];
  const usage = { wallSeconds: 12.3456, cpuSeconds: 3, peakMemoryBytes: null, diskBytes: 4096 };
  const options = { attempts: 2, backoffMs: 10, timeoutMs: 2000 };
  const session = (vars: Record<string, string>, server: Record<string, unknown>): JobSession => ({
    config: executorConfigSchema.parse({ server }),
    job: jobFromEnv(Object.fromEntries(Object.entries({ CI_JOB_ID: '9', CI_PROJECT_ID: '1', CI_JOB_TOKEN: 'glcbt-9', ...vars }).map(([k, v]) => [`CUSTOM_ENV_${k}`, v])), 'stable'),
    log: (line: string) => void logs.push(line),
  }) as JobSession;

  beforeEach(async () => {
    server = await startArtifactServer();
    logs.length = 0;
  });
  afterEach(async () => server.close());

  it('PUTs the usage to the configured server with both tokens', async () => {
    await reportResourceUsage(session({ QUARTERS_BUILD_ID: '41' }, { url: `${server.url}/`, token: 'executor-token' }), usage, options);
    expect(server.received.map((r) => r.url)).toEqual(['PUT /api/v1/builds/41/resource-usage']);
    expect(server.received[0]!.headers).toMatchObject({ authorization: 'Bearer executor-token', 'x-job-token': 'glcbt-9' });
    expect(JSON.parse(server.received[0]!.body.toString())).toEqual({ wall_seconds: 12.346, cpu_seconds: 3, peak_memory_bytes: null, disk_bytes: 4096 });
    expect(logs).toEqual([]);
  });

  it('logs, and does not throw, when the server fails, refuses, or a credential is missing', async () => {
    server.respond = () => ({ status: 503, body: { error: 'busy' } });
    await reportResourceUsage(session({ QUARTERS_BUILD_ID: '41' }, { url: server.url, token: 'executor-token' }), usage, options);
    expect(server.received).toHaveLength(2);
    server.respond = () => ({ status: 403, body: { error: 'wrong_pipeline', detail: 'job 9 belongs to pipeline 3' } });
    await reportResourceUsage(session({ QUARTERS_BUILD_ID: '41' }, { url: server.url, token: 'executor-token' }), usage, options);
    expect(server.received).toHaveLength(3);
    await reportResourceUsage(session({ QUARTERS_BUILD_ID: '41' }, { url: server.url }), usage, options);
    expect(logs).toEqual([
      `quarters: warning: could not report the resource usage to ${server.url}/api/v1/builds/41/resource-usage: HTTP 503: busy`,
      `quarters: warning: could not report the resource usage to ${server.url}/api/v1/builds/41/resource-usage: HTTP 403: wrong_pipeline: job 9 belongs to pipeline 3`,
      'quarters: resource usage not reported: cannot report to the quarters server: no executor token configured ([server] token or token_file)',
    ]);
  });

  it('sends nothing for a job that is no quarters build', async () => {
    await reportResourceUsage(session({}, { url: server.url, token: 'executor-token' }), usage, options);
    expect(server.requests).toEqual([]);
  });
});
