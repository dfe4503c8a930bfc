import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resourceUsageSchema } from '../../src/core/resource-usage.js';
import { runJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { containerSkipReason, reportSkip } from '../support/capabilities.js';
import { startArtifactServer, type ArtifactServer } from '../support/artifact-server.js';

const skip = reportSkip(containerSkipReason(), 'executor uploads');

describe.skipIf(skip)('quarters-executor uploads the build output from the host', () => {
  let fx: ExecutorFixture;
  let server: ArtifactServer;

  beforeAll(async () => {
    fx = await createExecutorFixture();
    server = await startArtifactServer();
    await writeFile(join(fx.dir, 'executor.token'), 'executor-token-from-file\n');
    // The job's QUARTERS_SERVER_URL carries a trailing slash: the same server.
    await fx.writeConfig(`[server]\nurl = "${server.url}"\ntoken_file = "executor.token"\nupload_attempts = 2`);
  });
  afterAll(async () => {
    await server?.close();
    await fx?.remove();
  });

  const build = (id: number) => ({
    id,
    projectId: 8,
    variables: { QUARTERS_SERVER_URL: `${server.url}/`, QUARTERS_BUILD_ID: String(id) },
    steps: [{ name: 'script', script: ['printf one > "$QUARTERS_OUTPUT_DIR/a-1-1-any.pkg.tar.zst"', 'printf two > "$QUARTERS_OUTPUT_DIR/b-1-1-any.pkg.tar.zst"'] }],
  });

  it('uploads each output file after build_script with both tokens and the checksum, and reports resource usage', async () => {
    server.received.length = 0;
    server.respond = () => ({ status: 201 });
    const result = await runJob(build(301), { executor: EXECUTOR, env: fx.env, buildStageName: 'build_script' });
    expect(result.outcome, result.trace).toBe('success');
    // The resource usage first (a failed build would send it too), then the uploads.
    expect(server.received.map((u) => u.url)).toEqual(['PUT /api/v1/builds/301/resource-usage', 'PUT /api/v1/builds/301/artifacts/a-1-1-any.pkg.tar.zst', 'PUT /api/v1/builds/301/artifacts/b-1-1-any.pkg.tar.zst']);
    const [report, ...uploads] = server.received;
    expect(report!.headers).toMatchObject({ authorization: 'Bearer executor-token-from-file', 'x-job-token': 'glcbt-301-secret-job-token', 'content-type': 'application/json' });
    expect(resourceUsageSchema.parse(JSON.parse(report!.body.toString()))).toMatchObject({ wall_seconds: expect.any(Number), disk_bytes: expect.any(Number) });
    for (const upload of uploads) {
      expect(upload.headers.authorization).toBe('Bearer executor-token-from-file');
      expect(upload.headers['x-job-token']).toBe('glcbt-301-secret-job-token');
      expect(upload.headers['x-checksum-sha256']).toBe(upload.sha256);
      expect(JSON.parse(String(upload.headers['x-quarters-resource-usage']))).toMatchObject({ wall_seconds: expect.any(Number), disk_bytes: expect.any(Number) });
    }
    expect(uploads.map((u) => u.body.toString())).toEqual(['one', 'two']);
    expect(result.trace).not.toContain('executor-token-from-file');
  });

  it('fails the job with the server\'s message when the server rejects an upload', async () => {
    server.received.length = 0;
    server.respond = (u) => (u.url.endsWith('/resource-usage') ? { status: 204 } : { status: 403, body: { error: 'forbidden', detail: 'job 302 does not belong to build b302' } });
    const result = await runJob(build(302), { executor: EXECUTOR, env: fx.env });
    expect(result.outcome).toBe('system_failure');
    expect(result.trace).toContain('the server rejected a-1-1-any.pkg.tar.zst: HTTP 403: forbidden: job 302 does not belong to build b302');
  });
});
