import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodesFrom, SystemFailure } from './failure.js';
import { jobFromEnv } from './job-variables.js';
import { jobIdentityFromEnv } from './job.js';

const env = (vars: Record<string, string>): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(vars).map(([k, v]) => [`CUSTOM_ENV_${k}`, v]));

describe('jobFromEnv', () => {
  it('names the job from runner, project, concurrency and job ids', () => {
    const job = jobFromEnv(env({ CI_JOB_ID: '12', CI_PROJECT_ID: '3', CI_CONCURRENT_PROJECT_ID: '2', CI_RUNNER_SHORT_TOKEN: 'xY_z9' }), 'stable');
    expect(job.slot).toBe('q-xy-z9-p3-c2');
    expect(job.name).toBe('q-xy-z9-p3-c2-j12');
    expect(job.targetBranch).toBe('stable');
    expect(job.slotIsExclusive).toBe(true);
  });

  it('does not claim a slot of its own when the runner gives no concurrency id', () => {
    const job = jobFromEnv(env({ CI_JOB_ID: '12', CI_PROJECT_ID: '3' }), 'stable');
    expect(job.slotIsExclusive).toBe(false);
    expect(job.name).toBe('q-local-p3-cx-j12');
  });

  it('takes the target branch from QUARTERS_TARGET_BRANCH and refuses a malformed one', () => {
    expect(jobFromEnv(env({ CI_JOB_ID: '1', CI_PROJECT_ID: '1', QUARTERS_TARGET_BRANCH: 'testing' }), 'stable').targetBranch).toBe('testing');
    expect(() => jobFromEnv(env({ CI_JOB_ID: '1', CI_PROJECT_ID: '1', QUARTERS_TARGET_BRANCH: '../etc' }), 'stable')).toThrow(/CUSTOM_ENV_QUARTERS_TARGET_BRANCH/);
  });

  it('takes the build set and iteration only as single safe path components', () => {
    const base = { CI_JOB_ID: '1', CI_PROJECT_ID: '1' };
    expect(jobFromEnv(env({ ...base, QUARTERS_NAMESPACE: 'mr-packages-zlib-12', QUARTERS_ITERATION: '3' }), 'stable').variables).toMatchObject({ QUARTERS_NAMESPACE: 'mr-packages-zlib-12', QUARTERS_ITERATION: '3' });
    for (const bad of ['..', '.', '../other', 'a/b', '.hidden', '-x', 'x y']) {
      expect(() => jobFromEnv(env({ ...base, QUARTERS_NAMESPACE: bad }), 'stable'), bad).toThrow(/CUSTOM_ENV_QUARTERS_NAMESPACE: expected a build set name/);
    }
    for (const bad of ['0', '-1', '1/..', '01', 'latest']) {
      expect(() => jobFromEnv(env({ ...base, QUARTERS_ITERATION: bad }), 'stable'), bad).toThrow(/CUSTOM_ENV_QUARTERS_ITERATION: expected an iteration number/);
    }
  });

  it('takes its identity from the runner\'s job response: a variable the job set to another job, project or slot is refused by name', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'quarters-job-')), 'response.json');
    const withResponse = (vars: Record<string, string>, response: object): NodeJS.ProcessEnv => {
      writeFileSync(file, JSON.stringify({ id: 12, job_info: { project_id: 3 }, ...response }));
      return { ...env({ CI_JOB_ID: '12', CI_PROJECT_ID: '3', ...vars }), JOB_RESPONSE_FILE: file };
    };
    expect(jobFromEnv(withResponse({ CI_CONCURRENT_PROJECT_ID: '1' }, {}), 'stable').name).toBe('q-local-p3-c1-j12');
    expect(() => jobFromEnv(withResponse({ CI_PROJECT_ID: '7' }, {}), 'stable')).toThrow(/CUSTOM_ENV_CI_PROJECT_ID: is 7, but job 12 belongs to project 3/);
    expect(() => jobFromEnv(withResponse({ CI_JOB_ID: '11' }, {}), 'stable')).toThrow(/CUSTOM_ENV_CI_JOB_ID/);
    expect(() => jobFromEnv(withResponse({ CI_CONCURRENT_PROJECT_ID: '0' }, { variables: [{ key: 'CI_CONCURRENT_PROJECT_ID', value: '0' }] }), 'stable')).toThrow(/CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: is set by the job/);
    expect(() => jobFromEnv(withResponse({}, { job_info: {} }), 'stable')).toThrow(/job_info.project_id/);
  });

  it('takes the project\'s cache slug from the response\'s repository URL, never from a job variable', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'quarters-job-')), 'response.json');
    writeFileSync(file, JSON.stringify({ id: 12, job_info: { project_id: 3 }, git_info: { repo_url: 'https://gitlab-ci-token:t@gitlab.example.org/group/zlib.git' } }));
    const vars = { CI_JOB_ID: '12', CI_PROJECT_ID: '3', CI_REPOSITORY_URL: 'https://gitlab.example.org/other/victim.git' };
    expect(jobFromEnv({ ...env(vars), JOB_RESPONSE_FILE: file }, 'stable').projectSlug).toBe('group/zlib');
    writeFileSync(file, JSON.stringify({ id: 12, job_info: { project_id: 3 } }));
    expect(jobFromEnv({ ...env(vars), JOB_RESPONSE_FILE: file }, 'stable').projectSlug).toBeNull();
    // Without a response (an operator running the commands by hand) the variables are taken as they are.
    expect(jobFromEnv(env(vars), 'stable').projectSlug).toBe('other/victim');
  });

  it('is a system failure naming the variable when the runner did not pass it', () => {
    expect(() => jobFromEnv(env({ CI_PROJECT_ID: '1' }), 'stable')).toThrow(SystemFailure);
    expect(() => jobFromEnv(env({ CI_PROJECT_ID: '1' }), 'stable')).toThrow(/CUSTOM_ENV_CI_JOB_ID/);
  });
});

describe('exit codes', () => {
  it('uses the runner\'s variables, and its documented defaults without them', () => {
    expect(exitCodesFrom({ BUILD_FAILURE_EXIT_CODE: '7', SYSTEM_FAILURE_EXIT_CODE: '9' })).toEqual({ build: 7, system: 9 });
    expect(exitCodesFrom({})).toEqual({ build: 1, system: 2 });
  });
});

describe('jobIdentityFromEnv', () => {
  const message = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };

  it('checks who the job is as jobFromEnv does, with the same messages, and without the other variables', () => {
    const cases: Record<string, string>[] = [
      {}, { CI_JOB_ID: '12' }, { CI_PROJECT_ID: '3' }, { CI_JOB_ID: 'x', CI_PROJECT_ID: '3' }, { CI_JOB_ID: '12', CI_PROJECT_ID: '-3' },
      { CI_JOB_ID: '12', CI_PROJECT_ID: '3', CI_CONCURRENT_PROJECT_ID: '1a' }, { CI_JOB_ID: '12', CI_PROJECT_ID: '3', CI_CONCURRENT_PROJECT_ID: '' },
      { CI_JOB_ID: '12', CI_PROJECT_ID: '3', QUARTERS_TARGET_BRANCH: '../etc' }, { CI_JOB_ID: '12', CI_PROJECT_ID: '3', QUARTERS_TARGET_BRANCH: '.hidden' },
      { CI_JOB_ID: '12', CI_PROJECT_ID: '3', CI_CONCURRENT_PROJECT_ID: '2', CI_RUNNER_SHORT_TOKEN: 'xY_z9', QUARTERS_TARGET_BRANCH: 'testing' },
    ];
    for (const vars of cases) {
      const full = message(() => jobFromEnv(env(vars), 'stable'));
      expect(message(() => jobIdentityFromEnv(env(vars), 'stable')), JSON.stringify(vars)).toBe(full);
      if (full === 'accepted') {
        const { variables, ...identity } = jobFromEnv(env(vars), 'stable');
        expect(variables).toBeDefined();
        expect(jobIdentityFromEnv(env(vars), 'stable')).toEqual(identity);
      }
    }
    // A malformed pipeline variable is for the commands that read it (config, prepare, guest stages).
    const bad = env({ CI_JOB_ID: '12', CI_PROJECT_ID: '3', QUARTERS_NAMESPACE: '../x' });
    expect(() => jobFromEnv(bad, 'stable')).toThrow(/CUSTOM_ENV_QUARTERS_NAMESPACE/);
    expect(jobIdentityFromEnv(bad, 'stable').name).toBe('q-local-p3-cx-j12');
  });
});
