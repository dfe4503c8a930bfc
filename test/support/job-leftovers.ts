/**
 * What a job stopped mid-build must leave: nothing, once the runner's cleanup or cleanup --stale ran.
 * For the vitest suites only (mid-build.ts also runs in the systemd-host VM, outside vitest).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { EmulatorResult } from '../runner-emulator/emulator.js';
import type { ExecutorFixture } from './executor-fixture.js';
import { mountsMentioning } from './processes.js';

/**
 * A job cancelled mid-build (the runner's SIGTERM, then SIGKILL) ended as GitLab Runner expects, with
 * nothing left: the executor stopped the build and exited on SIGTERM (before the SIGKILL), cleanup
 * ran last, and no mount, workspace or build directory of job `jobId` remains.
 */
export function expectCancelledAndGone(fx: ExecutorFixture, result: EmulatorResult, jobId: number): void {
  expect(result.outcome, result.trace).toBe('canceled');
  const step = result.commands.find((c) => c.stage === 'step_script');
  expect(step?.signal).toBeNull();
  expect(step?.exitCode).toBe(1);
  expect(result.commands.at(-1)?.verb).toBe('cleanup');
  expect(mountsMentioning(fx.workDir)).toEqual([]);
  const entries = (sub: string): string[] => (existsSync(join(fx.workDir, sub)) ? readdirSync(join(fx.workDir, sub)) : []);
  expect(entries('workspaces').filter((n) => n.endsWith(`-j${jobId}`))).toEqual([]);
  expect(entries('builds').filter((n) => n.endsWith(`-j${jobId}`))).toEqual([]);
}

/** `cleanup --stale` reclaims the job `name` a killed executor left: it says so, and no mount, workspace or build directory remains. */
export async function expectStaleReclaimed(fx: ExecutorFixture, name: string): Promise<void> {
  const entries = (sub: string): string[] => (existsSync(join(fx.workDir, sub)) ? readdirSync(join(fx.workDir, sub)) : []);
  expect(entries('workspaces')).toContain(name);
  const stale = await fx.cli(['cleanup', '--stale']);
  expect(stale.exitCode, stale.stderr).toBe(0);
  expect(stale.stdout).toContain(`removed ${name}`);
  expect(mountsMentioning(fx.workDir)).toEqual([]);
  expect(entries('workspaces')).not.toContain(name);
  expect(entries('builds')).not.toContain(name);
}
