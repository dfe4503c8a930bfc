/**
 * What a job cannot do through its variables and the files its host user writes: each test is the
 * attack, run through the runner emulator and the real bundle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runJob, type EmulatedJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, TEST_HOST_USER, type ExecutorFixture } from '../support/executor-fixture.js';
import { containerSkipReason, reportSkip } from '../support/capabilities.js';
import { waitFor } from '../support/processes.js';

const skip = reportSkip(containerSkipReason(), 'trust boundary of job variables and files');
const [hostUid, hostGid] = TEST_HOST_USER.split(':');

/** Runs a shell command as the host user, as a leftover host-stage process would. */
function asHostUser(command: string): { ok: boolean; stderr: string } {
  try {
    execFileSync('setpriv', ['--reuid', hostUid!, '--regid', hostGid!, '--clear-groups', 'sh', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { ok: true, stderr: '' };
  } catch (error) {
    return { ok: false, stderr: String((error as { stderr?: Buffer }).stderr ?? '') };
  }
}

describe.skipIf(skip)('a job cannot reach past itself', () => {
  let fx: ExecutorFixture;
  /** A root-only directory with a root-only file: what every attack below aims at. */
  let rootOnly: string;
  const secret = 'root-only content\n';

  beforeAll(async () => {
    fx = await createExecutorFixture();
    rootOnly = join(fx.dir, 'root-only');
    await mkdir(rootOnly, { mode: 0o700 });
    await writeFile(join(rootOnly, 'file'), secret, { mode: 0o600 });
  });
  afterAll(async () => {
    await fx?.remove();
  });

  const rootOnlyUntouched = (): void => {
    expect(readdirSync(rootOnly).sort()).toEqual(['file']);
    expect(readFileSync(join(rootOnly, 'file'), 'utf8')).toBe(secret);
    const info = statSync(join(rootOnly, 'file'));
    expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([0, 0, 0o600]);
    const dir = statSync(rootOnly);
    expect([dir.uid, dir.mode & 0o7777]).toEqual([0, 0o700]);
  };
  const nameOf = (job: EmulatedJob): string => `q-emulatr1-p${job.projectId}-c${job.concurrentProjectId ?? job.concurrentId ?? 0}-j${job.id}`;
  const projectDirOf = (job: EmulatedJob): string => join(fx.workDir, 'builds', nameOf(job), 'group', `project-${job.projectId}`);
  /** A step that waits in the project directory for `release` (written by the test), having touched `started`. */
  const waitingStep = ['touch started', 'i=0; while [ ! -f release ]; do sleep 0.1; i=$((i+1)); [ $i -lt 1200 ] || exit 9; done'];

  it('a job setting CI_PROJECT_ID or CI_CONCURRENT_PROJECT_ID to another job\'s cannot reclaim (kill) it: refused, and the other job succeeds', async () => {
    const victim: EmulatedJob = { id: 701, projectId: 71, concurrentId: 0, steps: [{ name: 'script', script: waitingStep }] };
    const running = runJob(victim, { executor: EXECUTOR, env: fx.env });
    expect(await waitFor(() => existsSync(join(projectDirOf(victim), 'started')), 60_000)).toBe(true);

    // Another project claiming project 71's slot.
    const otherProject = await runJob({ id: 702, projectId: 72, concurrentId: 0, variables: { CI_PROJECT_ID: '71', CI_CONCURRENT_PROJECT_ID: '0' }, steps: [{ name: 'script', script: ['true'] }] }, { executor: EXECUTOR, env: fx.env });
    expect(otherProject.outcome).toBe('system_failure');
    expect(otherProject.trace).toMatch(/CUSTOM_ENV_CI_PROJECT_ID: is 71, but job 702 belongs to project 72/);
    // A job of the same project claiming the victim's concurrency slot.
    const sameProject = await runJob({ id: 703, projectId: 71, concurrentId: 1, variables: { CI_CONCURRENT_PROJECT_ID: '0' }, steps: [{ name: 'script', script: ['true'] }] }, { executor: EXECUTOR, env: fx.env });
    expect(sameProject.outcome).toBe('system_failure');
    expect(sameProject.trace).toMatch(/CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: is set by the job/);
    // Or another job's id.
    const otherId = await runJob({ id: 704, projectId: 71, concurrentId: 2, variables: { CI_JOB_ID: '701' }, steps: [{ name: 'script', script: ['true'] }] }, { executor: EXECUTOR, env: fx.env });
    expect(otherId.outcome).toBe('system_failure');
    expect(otherId.trace).toMatch(/CUSTOM_ENV_CI_JOB_ID: is 701, but GitLab gave the runner job 704/);

    await writeFile(join(projectDirOf(victim), 'release'), '');
    const result = await running;
    expect(result.outcome, result.trace).toBe('success');
  });

  it('a link the host user puts in scripts/ never makes root write or chown its target', async () => {
    const job: EmulatedJob = { id: 711, projectId: 73, steps: [{ name: 'script', script: [...waitingStep, 'echo artefact > artefact'] }], artifactPaths: ['artefact'] };
    const running = runJob(job, { executor: EXECUTOR, env: fx.env });
    expect(await waitFor(() => existsSync(join(projectDirOf(job), 'started')), 60_000)).toBe(true);
    const scripts = join(fx.workDir, 'workspaces', nameOf(job), 'scripts');
    const planted = join(scripts, 'upload_artifacts_on_success.host.sh');
    // The host user cannot plant it: scripts/ is root's.
    const attempt = asHostUser(`ln -s ${join(rootOnly, 'file')} ${planted}`);
    expect(attempt.ok).toBe(false);
    expect(attempt.stderr).toMatch(/Permission denied/);
    // And a link there (as an older executor's host-user-owned scripts/ could hold) is replaced, not followed.
    execFileSync('ln', ['-s', join(rootOnly, 'file'), planted]);
    await writeFile(join(projectDirOf(job), 'release'), '');
    const result = await running;
    expect(result.outcome, result.trace).toBe('success');
    expect(readFileSync(join(result.artifactsDir!, 'artefact'), 'utf8')).toBe('artefact\n');
    rootOnlyUntouched();
  });

  it('a .git/config link the host user planted is refused by the credential scrub, its target unchanged', async () => {
    const token = 'glcbt-721-secret-job-token';
    const job: EmulatedJob = { id: 721, projectId: 74, token, steps: [{ name: 'script', script: ['true'] }] };
    // The token in the target, so a scrub that followed the link would rewrite it.
    const target = join(fx.dir, 'root-only-git-config');
    await writeFile(target, `[remote "origin"]\n\turl = https://gitlab-ci-token:${token}@gitlab.example.org/x.git\n`, { mode: 0o600 });
    const before = readFileSync(target, 'utf8');
    const result = await runJob(job, {
      executor: EXECUTOR,
      env: fx.env,
      // After prepare made the project directory, before get_sources: as a leftover host-user process would.
      onCommand: (verb, stage) => {
        if (verb === 'run' && stage === 'prepare_script') expect(asHostUser(`mkdir -p ${projectDirOf(job)}/.git && ln -s ${target} ${projectDirOf(job)}/.git/config`).ok).toBe(true);
      },
    });
    expect(result.outcome).toBe('system_failure');
    expect(result.trace).toMatch(/\.git\/config is not the directory or file the executor made .*: refused/);
    expect(readFileSync(target, 'utf8')).toBe(before);
    expect(statSync(target).uid).toBe(0);
  });

  it('a project directory swapped for a link to a root-only directory between stages is refused: system failure, the directory untouched', async () => {
    const job: EmulatedJob = { id: 731, projectId: 75, steps: [{ name: 'script', script: waitingStep }, { name: 'second', script: ['touch pwned', 'chmod 777 .'] }], afterScript: ['touch after-pwned'] };
    const running = runJob(job, { executor: EXECUTOR, env: fx.env });
    const project = projectDirOf(job);
    expect(await waitFor(() => existsSync(join(project, 'started')), 60_000)).toBe(true);
    expect(asHostUser(`mv ${project} ${project}.orig && ln -s ${rootOnly} ${project}`).ok).toBe(true);
    // The running step still has the directory it was given.
    await writeFile(join(`${project}.orig`, 'release'), '');
    const result = await running;
    expect(result.outcome).toBe('system_failure');
    expect(result.commands.find((c) => c.stage === 'step_script')?.exitCode).toBe(0);
    expect(result.commands.find((c) => c.stage === 'step_second')?.exitCode).toBe(2);
    expect(result.trace).toMatch(/the project directory cannot be given to the guest: .* is not the directory or file the executor made/);
    rootOnlyUntouched();
  });
});
