import { describe, expect, it } from 'vitest';
import { executorConfigSchema } from './config.js';
import { jobFromEnv } from './job-variables.js';
import { checkJobTarget } from './job-target.js';

const job = (vars: Record<string, string>) => jobFromEnv(Object.fromEntries(Object.entries({ CI_JOB_ID: '1', CI_PROJECT_ID: '1', ...vars }).map(([k, v]) => [`CUSTOM_ENV_${k}`, v])), 'stable');

describe('checkJobTarget', () => {
  it('allows any branch without instance.branches, only the listed ones with it', () => {
    expect(() => checkJobTarget(executorConfigSchema.parse({}), job({ QUARTERS_TARGET_BRANCH: 'testing' }))).not.toThrow();
    const config = executorConfigSchema.parse({ instance: { branches: ['stable'] } });
    expect(() => checkJobTarget(config, job({}))).not.toThrow();
    expect(() => checkJobTarget(config, job({ QUARTERS_TARGET_BRANCH: 'testing' }))).toThrow(/branch "testing" \(QUARTERS_TARGET_BRANCH\).*instance.branches in its config: stable/);
  });

  it('refuses a job dispatched for another architecture', () => {
    const config = executorConfigSchema.parse({ arch: 'x86_64' });
    expect(() => checkJobTarget(config, job({ QUARTERS_ARCH: 'x86_64' }))).not.toThrow();
    expect(() => checkJobTarget(config, job({ QUARTERS_ARCH: 'aarch64' }))).toThrow(/dispatched for aarch64 \(QUARTERS_ARCH\), but this executor builds for x86_64/);
  });
});
