/**
 * Jobs of a build set through the runner emulator and the real executor bundle: the build set's
 * repository fetched on the host from the configured server and offered read-only at /quarters/repo,
 * a job naming another server refused before any request, and resource usage reported for a failed
 * build stage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { resourceUsageSchema } from '../../src/core/resource-usage.js';
import { runJob, type EmulatedJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { containerSkipReason, reportSkip } from '../support/capabilities.js';
import { startArtifactServer, type ArtifactServer } from '../support/artifact-server.js';
import { serverRepository } from '../support/build-set-repository.js';
import { pacmanPackage, sha256Of } from '../support/packages.js';

const skip = reportSkip(containerSkipReason(), 'build set repositories in jobs');

describe.skipIf(skip)('quarters-executor offers the build set\'s repository and reports to its own server', () => {
  let fx: ExecutorFixture;
  let server: ArtifactServer;
  let other: ArtifactServer;
  let packages: { path: string; filename: string }[];
  const config = (url: string) => `[server]\nurl = "${url}"\ntoken = "executor-token"\nupload_attempts = 1`;

  beforeAll(async () => {
    packages = [await pacmanPackage({ name: 'zlib', version: '1.3-1' }), await pacmanPackage({ name: 'libpng', version: '1.6.43-1', depends: ['zlib'] })];
    const { reposDir } = await serverRepository('pkgbuild', { namespace: 'auto-zlib', iteration: 2, arch: 'x86_64' }, packages);
    server = await startArtifactServer({ repositories: reposDir });
    other = await startArtifactServer({ repositories: reposDir });
    fx = await createExecutorFixture(config(server.url));
  });
  afterAll(async () => {
    await server?.close();
    await other?.close();
    await fx?.remove();
  });

  const job = (id: number, variables: Record<string, string>, script: string[]): EmulatedJob => ({
    id,
    projectId: 21,
    variables: { QUARTERS_SERVER_URL: server.url, QUARTERS_BUILD_ID: String(id), QUARTERS_NAMESPACE: 'auto-zlib', QUARTERS_ITERATION: '2', ...variables },
    steps: [{ name: 'script', script }],
  });
  const workspaceOf = (id: number) => join(fx.workDir, 'workspaces', `q-emulatr1-p21-c0-j${id}`);
  const cached = () => readdirSync(join(fx.workDir, 'packages', 'sha256')).sort();

  it('fetches the iteration\'s repository for its own arch on the host and offers it read-only at /quarters/repo', async () => {
    const before = server.requests.length;
    const script = [
      'echo "repo: $QUARTERS_REPO_DIR"',
      'ls /quarters/repo',
      'sha256sum /quarters/repo/zlib-1.3-1-x86_64.pkg.tar.zst',
      'if touch /quarters/repo/new 2>/dev/null || rm /quarters/repo/quarters.db 2>/dev/null; then echo WRI""TABLE; fi',
    ];
    // The executor fetches for its own arch (x86_64); a job dispatched for another is refused (job-target.test.ts).
    const first = await runJob(job(701, { QUARTERS_ARCH: 'x86_64' }, script), { executor: EXECUTOR, env: fx.env });
    expect(first.outcome, first.trace).toBe('success');
    expect(first.trace).toContain('repo: /quarters/repo');
    expect(first.trace).toContain(['libpng-1.6.43-1-x86_64.pkg.tar.zst', 'quarters.db', 'zlib-1.3-1-x86_64.pkg.tar.zst'].join('\n'));
    expect(first.trace).toContain(sha256Of(packages[0]!.path));
    expect(first.trace).not.toContain('WRITABLE');
    expect(first.trace).toMatch(new RegExp(`quarters: the build set's repository ${server.url}/repos/auto-zlib/2/x86_64/: 2 packages, 0 from the cache, [\\d.]+ (B|KiB) downloaded, every one verified`));
    const fetched = server.requests.slice(before).filter((r) => r.startsWith('GET '));
    expect(fetched.slice(0, 2)).toEqual(['GET /repos/auto-zlib/2/x86_64/', 'GET /repos/auto-zlib/2/x86_64/quarters.db']);
    expect(fetched.slice(2).sort()).toEqual(packages.map((p) => `GET /repos/auto-zlib/2/x86_64/${p.filename}`).sort());
    // The repository routes are public: no credential goes with a fetch.
    expect(server.credentialed.filter((r) => r.startsWith('GET '))).toEqual([]);
    // cleanup removed the job's copy; the cache stays, root's only.
    expect(existsSync(workspaceOf(701))).toBe(false);
    expect(cached()).toEqual(packages.map((p) => sha256Of(p.path)).sort());

    const again = server.requests.length;
    const second = await runJob(job(702, {}, ['ls /quarters/repo']), { executor: EXECUTOR, env: fx.env });
    expect(second.outcome, second.trace).toBe('success');
    expect(second.trace).toContain('2 packages, 2 from the cache, 0 B downloaded');
    expect(server.requests.slice(again).filter((r) => r.startsWith('GET '))).toEqual(['GET /repos/auto-zlib/2/x86_64/', 'GET /repos/auto-zlib/2/x86_64/quarters.db']);

    // No job has them now: the operator's cleanup takes them.
    const pruned = await fx.cli(['cleanup', 'packages', '--older-than', '0']);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(pruned.stdout.split('\n').sort()).toEqual(packages.map((p) => `removed packages/sha256/${sha256Of(p.path)}`).sort());
    expect(cached()).toEqual([]);
  });

  it('offers no repository while the iteration has none (its first wave)', async () => {
    const result = await runJob(job(703, { QUARTERS_ITERATION: '1' }, ['echo "repo: [$QUARTERS_REPO_DIR]"', 'if [ -e /quarters/repo ]; then echo TH""ERE; fi']), { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('success');
    expect(result.trace).toContain('repo: []');
    expect(result.trace).not.toContain('THERE');
    expect(result.trace).toContain(`the build set's repository ${server.url}/repos/auto-zlib/1/x86_64/ has no index yet (nothing built); none is offered`);
  });

  it('fails a job that names another server, sending that server nothing', async () => {
    const before = server.requests.length;
    const result = await runJob(job(704, { QUARTERS_SERVER_URL: other.url }, ['echo NOT REACHED']), { executor: EXECUTOR, env: fx.env, prepareRetryIntervalMs: 10 });
    expect(result.outcome).toBe('system_failure');
    expect(result.trace).toContain(`the job names the quarters server ${other.url} (QUARTERS_SERVER_URL), but this executor works for ${server.url} (server.url in its config)`);
    expect(result.trace).not.toContain('NOT REACHED');
    expect(other.requests).toEqual([]);
    expect(server.requests.slice(before)).toEqual([]);
  });

  it('reports the resource usage of a failed build stage, with both tokens, and uploads nothing', async () => {
    const before = server.received.length;
    const result = await runJob(job(705, {}, ['echo built part > "$QUARTERS_OUTPUT_DIR/half-1-1-any.pkg.tar.zst"', 'exit 3']), { executor: EXECUTOR, env: fx.env });
    expect(result.outcome).toBe('script_failure');
    const sent = server.received.slice(before);
    expect(sent.map((r) => r.url)).toEqual(['PUT /api/v1/builds/705/resource-usage']);
    expect(sent[0]!.headers).toMatchObject({ authorization: 'Bearer executor-token', 'x-job-token': 'glcbt-705-secret-job-token', 'content-type': 'application/json' });
    const usage = resourceUsageSchema.parse(JSON.parse(sent[0]!.body.toString()));
    expect(usage.wall_seconds).toBeGreaterThan(0);
    expect(usage.disk_bytes).toBeGreaterThan(0);
    expect(result.trace).toMatch(/quarters: resource usage: wall [\d.]+ s/);
  });

  it('fails a quarters job when the executor config names no server', async () => {
    await fx.writeConfig('');
    try {
      const result = await runJob(job(706, {}, ['echo NOT REACHED']), { executor: EXECUTOR, env: fx.env, prepareRetryIntervalMs: 10 });
      expect(result.outcome).toBe('system_failure');
      expect(result.trace).toContain('the job is a quarters build (QUARTERS_SERVER_URL), but the executor config has no server.url');
    } finally {
      await fx.writeConfig(config(server.url));
    }
  });
});
