import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { containerSkipReason, reportSkip } from '../support/capabilities.js';
import { crashMidBuild } from '../support/mid-build.js';
import { expectCancelledAndGone, expectStaleReclaimed } from '../support/job-leftovers.js';
import { mountsMentioning, processesWith, waitFor } from '../support/processes.js';

const skip = reportSkip(containerSkipReason(), 'executor failure paths');

describe.skipIf(skip)('quarters-executor failure paths', () => {
  let fx: ExecutorFixture;

  beforeAll(async () => {
    fx = await createExecutorFixture();
  });
  afterAll(async () => {
    await fx?.remove();
  });

  const entries = (sub: string): string[] => (existsSync(join(fx.workDir, sub)) ? readdirSync(join(fx.workDir, sub)) : []);
  /** Mount points below `dir` (this namespace), sorted. */
  const mountPoints = (dir: string): string[] => mountsMentioning(dir).map((line) => line.split(' ')[4]!).filter((point) => point.startsWith(dir)).sort();

  it('SIGTERM then SIGKILL to the process group mid-build: the build stops, nothing is left running, mounted or on disk', async () => {
    const marker = `quarters-sigterm-marker-${process.pid}`;
    const cancel = new AbortController();
    const result = await runJob(
      { id: 201, projectId: 5, steps: [{ name: 'script', script: [`sh -c 'sleep 600; : ${marker}' &`, `sh -c 'sleep 600; : ${marker}'`] }], afterScript: ['echo after'] },
      {
        executor: EXECUTOR,
        env: fx.env,
        cancel: cancel.signal,
        gracefulKillTimeoutMs: 5000,
        onCommand: (_verb, stage) => {
          if (stage === 'step_script') void waitFor(() => processesWith(marker).length >= 2, 30_000).then(() => cancel.abort());
        },
      },
    );
    // The executor stops the container and exits on SIGTERM, before the runner's SIGKILL.
    expectCancelledAndGone(fx, result, 201);
    expect(processesWith(marker)).toEqual([]);
  });

  it('kill -9 of the executor and its runner mid-build: the container dies with it, and cleanup --stale reclaims the rest', async () => {
    const marker = `quarters-kill9-marker-${process.pid}`;
    const name = await crashMidBuild(fx, { jobId: 202, projectId: 6, concurrentId: 0, marker });
    // pdeathsig takes the container down with the executor; the overlay went with its namespace, the job mount stays.
    expect(await waitFor(() => processesWith(marker).length === 0, 15_000)).toBe(true);
    // And the running stage's bind of the project directory (of the job mount's build/), in the workspace.
    expect(mountPoints(fx.workDir)).toEqual([join(fx.workDir, 'builds', name), join(fx.workDir, 'workspaces', name, 'mount'), join(fx.workDir, 'workspaces', name, 'project')].sort());
    await expectStaleReclaimed(fx, name);
  });

  it('kill -9 mid-build: the next prepare in the same slot reclaims what the dead job left', async () => {
    const marker = `quarters-kill9-next-marker-${process.pid}`;
    const name = await crashMidBuild(fx, { jobId: 203, projectId: 6, concurrentId: 3, marker });
    expect(await waitFor(() => processesWith(marker).length === 0, 15_000)).toBe(true);
    expect(entries('workspaces')).toContain(name);
    const next = await runJob({ id: 204, projectId: 6, concurrentId: 3, steps: [{ name: 'script', script: ['true'] }] }, { executor: EXECUTOR, env: fx.env });
    expect(next.outcome, next.trace).toBe('success');
    expect(next.trace).toContain(`reclaiming ${name}`);
    expect(entries('workspaces')).not.toContain(name);
    expect(entries('builds')).not.toContain(name);
    expect(mountsMentioning(fx.workDir)).toEqual([]);
  });

  it('cleanup is idempotent and succeeds for a job that was never prepared', async () => {
    const env = { CUSTOM_ENV_CI_JOB_ID: '299', CUSTOM_ENV_CI_PROJECT_ID: '6' };
    expect((await fx.cli(['cleanup'], env)).exitCode).toBe(0);
    expect((await fx.cli(['cleanup'], env)).exitCode).toBe(0);
  });

  it('leaves live jobs alone in cleanup --stale', async () => {
    const env = { CUSTOM_ENV_CI_JOB_ID: '205', CUSTOM_ENV_CI_PROJECT_ID: '6', CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: '9' };
    // This test process is the "runner" of the prepared job, and it is alive.
    expect((await fx.cli(['prepare'], env)).exitCode).toBe(0);
    const stale = await fx.cli(['cleanup', '--stale']);
    expect(stale.stdout).not.toContain('j205');
    expect(entries('workspaces').some((n) => n.endsWith('-j205'))).toBe(true);
    expect((await fx.cli(['cleanup'], env)).exitCode).toBe(0);
    expect(entries('workspaces').some((n) => n.endsWith('-j205'))).toBe(false);
  });
});
