/**
 * A host stage's `run` and the job's `cleanup` through the real bundle, as GitLab Runner starts them
 * a dozen times a job: the stage runs in its sandbox (the sandbox program written to work_dir and
 * checked there), and neither command loads the modules that made a start costly (child_process with
 * net and streams, fs/promises and its thread pool); a sandbox program that is not the bundle's own is
 * replaced before it runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { containerSkipReason, reportSkip } from '../support/capabilities.js';

const skip = reportSkip(containerSkipReason(), 'host stage start');
/** Built-ins that cost a start milliseconds each, none of which a host stage's run or cleanup needs. */
const COSTLY = ['child_process', 'net', 'dgram', 'stream', 'fs/promises', 'crypto', 'zlib'];

describe.skipIf(skip)('a host stage\'s start through the bundle', () => {
  let fx: ExecutorFixture;
  const job = { CUSTOM_ENV_CI_JOB_ID: '931', CUSTOM_ENV_CI_PROJECT_ID: '93', CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: '0' };
  let probe: string;

  beforeAll(async () => {
    fx = await createExecutorFixture();
    probe = join(fx.dir, 'loaded-builtins.cjs');
    writeFileSync(probe, `process.on('exit', () => require('fs').writeSync(2, '\\nloaded: ' + JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)))));\n`);
    const prepared = await fx.cli(['prepare'], job);
    expect(prepared.exitCode, prepared.stderr).toBe(0);
  });
  afterAll(async () => {
    await fx?.cli(['cleanup'], job);
    await fx?.remove();
  });

  /** Starts the bundle with the probe; what it loaded, and how it ended. */
  const started = async (args: string[], env: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string; loaded: string[] }> => {
    const result = await execa(EXECUTOR[0], ['--require', probe, ...EXECUTOR.slice(1), ...args], { env: { ...fx.env, ...env }, reject: false });
    const line = result.stderr.split('\n').findLast((l) => l.startsWith('loaded: '));
    return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr.split('\n').filter((l) => !l.startsWith('loaded: ')).join('\n').trim(), loaded: JSON.parse(line!.slice('loaded: '.length)) as string[] };
  };

  it('runs the stage as the host user in its own PID namespace, loading none of the costly built-ins', async () => {
    const script = join(fx.dir, 'restore-cache.sh');
    writeFileSync(script, '#!/usr/bin/env bash\necho "stage $(id -u):$(id -g) pid $$"\n', { mode: 0o700 });
    const result = await started(['run', script, 'restore_cache'], job);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('stage 65534:65534 pid 1');
    expect(result.loaded.filter((name) => COSTLY.includes(name))).toEqual([]);
  });

  it('replaces a sandbox program that is not the bundle\'s own before the stage runs', async () => {
    const dir = join(fx.workDir, 'stage-sandbox');
    const [name] = readdirSync(dir).filter((n) => n.startsWith('quarters-stage-sandbox-'));
    const program = join(dir, name!);
    const genuine = readFileSync(program);
    writeFileSync(program, '#!/bin/sh\necho planted >&2\nexit 0\n');
    const script = join(fx.dir, 'archive-cache.sh');
    writeFileSync(script, '#!/usr/bin/env bash\necho "stage pid $$"\n', { mode: 0o700 });
    const result = await started(['run', script, 'archive_cache'], job);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('stage pid 1');
    expect(readFileSync(program)).toEqual(genuine);
    expect(statSync(program).mode & 0o777).toBe(0o700);
  });

  it('fails a stage whose script fails with a build failure, and cleans up a job that has no workspace without the costly built-ins', async () => {
    const script = join(fx.dir, 'failing.sh');
    writeFileSync(script, '#!/usr/bin/env bash\nexit 3\n', { mode: 0o700 });
    const failed = await started(['run', script, 'download_artifacts'], { ...job, BUILD_FAILURE_EXIT_CODE: '71' });
    expect(failed.stderr).toBe('quarters-executor: stage download_artifacts failed with exit code 3');
    expect(failed.exitCode).toBe(71);
    const gone = await started(['cleanup'], { ...job, CUSTOM_ENV_CI_JOB_ID: '932', CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: '1' });
    expect(gone.stderr).toBe('');
    expect(gone.exitCode).toBe(0);
    expect(gone.loaded.filter((name) => COSTLY.includes(name))).toEqual([]);
  });
});
