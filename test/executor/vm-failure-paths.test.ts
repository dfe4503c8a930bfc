/**
 * The failure paths of the qemu backend through the runner emulator and the real bundle: a job
 * cancelled mid-build (SIGTERM, then the runner's SIGKILL) and an executor killed outright
 * mid-build leave no qemu, no virtiofsd, no mount and no disk once cleanup (or cleanup --stale) ran.
 * A VM's processes are not the host's: a build is known to sleep by the file it touched in the
 * shared project directory, and the VM by qemu's process, named after the job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { backendSkipReason, reportSkip } from '../support/capabilities.js';
import { crashMidBuild, midBuildName } from '../support/mid-build.js';
import { expectCancelledAndGone, expectStaleReclaimed } from '../support/job-leftovers.js';
import { processesWith, waitFor } from '../support/processes.js';

const skip = reportSkip(backendSkipReason('qemu'), 'the qemu backend\'s failure paths');

describe.skipIf(skip)('quarters-executor failure paths on the qemu backend', { timeout: 600_000 }, () => {
  let fx: ExecutorFixture;

  beforeAll(async () => {
    fx = await createExecutorFixture('', { backend: 'qemu' });
  }, 300_000);
  afterAll(async () => {
    await fx?.remove();
  });

  /** qemu and virtiofsd processes of the job: both name files in its runtime directory (console log, sockets). */
  const vmProcesses = (name: string): number[] => processesWith(`/workspaces/${name}/vm/`);

  it('SIGTERM then SIGKILL mid-build: qemu and its helpers stop, nothing is left running, mounted or on disk', async () => {
    const cancel = new AbortController();
    const name = 'q-emulatr1-p5-c0-j301';
    const started = join(fx.workDir, 'builds', name, 'group', 'project-5', 'started');
    const result = await runJob(
      { id: 301, projectId: 5, steps: [{ name: 'script', script: ['touch started', 'sleep 600'] }], afterScript: ['echo after'] },
      {
        executor: EXECUTOR,
        env: fx.env,
        cancel: cancel.signal,
        gracefulKillTimeoutMs: 5000,
        onCommand: (_verb, stage) => {
          if (stage === 'step_script') void waitFor(() => existsSync(started) && vmProcesses(name).length > 0, 300_000).then(() => cancel.abort());
        },
      },
    );
    // The executor stops the VM and exits on SIGTERM, before the runner's SIGKILL.
    expectCancelledAndGone(fx, result, 301);
    expect(vmProcesses(name)).toEqual([]);
  });

  it('kill -9 of the executor and its runner mid-build: the VM dies with it, and cleanup --stale reclaims the rest', async () => {
    const job = { jobId: 302, projectId: 6, concurrentId: 0, marker: `quarters-vm-kill9-${process.pid}` };
    const name = midBuildName(job);
    const started = join(fx.workDir, 'builds', name, 'started');
    await crashMidBuild(fx, { ...job, sleeping: () => existsSync(started) && vmProcesses(name).length > 0 }, 300_000);
    // pdeathsig takes qemu and virtiofsd down with the executor.
    expect(await waitFor(() => vmProcesses(name).length === 0, 15_000)).toBe(true);
    await expectStaleReclaimed(fx, name);
  });
});
