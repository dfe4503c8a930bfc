import { describe, expect, it } from 'vitest';
import { executorConfigSchema } from './config.js';
import { SystemFailure } from './failure.js';
import { jobFromEnv } from './job-variables.js';
import { jobServer, sameServer } from './job-server.js';

const job = (vars: Record<string, string>) => jobFromEnv(Object.fromEntries(Object.entries({ CI_JOB_ID: '1', CI_PROJECT_ID: '1', ...vars }).map(([k, v]) => [`CUSTOM_ENV_${k}`, v])), 'stable');
const config = (server: Record<string, unknown>, extra: Record<string, unknown> = {}) => executorConfigSchema.parse({ server, ...extra });

describe('sameServer', () => {
  it('compares origin and path prefix, a trailing slash aside', () => {
    expect(sameServer('https://q.example.org', 'https://q.example.org/')).toBe(true);
    expect(sameServer('https://Q.example.org:443/quarters/', 'https://q.example.org/quarters')).toBe(true);
    expect(sameServer('https://q.example.org', 'http://q.example.org')).toBe(false);
    expect(sameServer('https://q.example.org', 'https://q.example.org.evil.test')).toBe(false);
    expect(sameServer('https://q.example.org/quarters', 'https://q.example.org/other')).toBe(false);
    expect(sameServer('https://q.example.org', 'https://q.example.org:8443')).toBe(false);
    expect(sameServer('https://q.example.org', 'https://user@q.example.org')).toBe(false);
  });
});

describe('jobServer', () => {
  const url = 'https://quarters.example.org/';

  it('is the configured server, without its trailing slash, for a job that names the same one', () => {
    expect(jobServer(config({ url }), job({ QUARTERS_SERVER_URL: 'https://quarters.example.org', QUARTERS_BUILD_ID: '4' }))).toBe('https://quarters.example.org');
    // A build without QUARTERS_SERVER_URL still reports to the configured server.
    expect(jobServer(config({ url }), job({ QUARTERS_BUILD_ID: '4' }))).toBe('https://quarters.example.org');
  });

  it('is none for a job that is no quarters build, or reads its repository from repositories_dir', () => {
    expect(jobServer(config({ url }), job({ QUARTERS_TARGET_BRANCH: 'testing' }))).toBeNull();
    expect(jobServer(config({}), job({ QUARTERS_TARGET_BRANCH: 'testing' }))).toBeNull();
    expect(jobServer(config({}, { repositories_dir: '/srv/repos' }), job({ QUARTERS_NAMESPACE: 'ns', QUARTERS_ITERATION: '1' }))).toBeNull();
  });

  it('refuses a job naming another server, and a quarters job without a configured one, naming the key', () => {
    expect(() => jobServer(config({ url }), job({ QUARTERS_SERVER_URL: 'https://attacker.example.net' }))).toThrow(new SystemFailure('the job names the quarters server https://attacker.example.net (QUARTERS_SERVER_URL), but this executor works for https://quarters.example.org/ (server.url in its config); it sends nothing to a server a job chooses'));
    expect(() => jobServer(config({}), job({ QUARTERS_SERVER_URL: url }))).toThrow(/the job is a quarters build \(QUARTERS_SERVER_URL\), but the executor config has no server\.url/);
    expect(() => jobServer(config({}), job({ QUARTERS_BUILD_ID: '4' }))).toThrow(/\(QUARTERS_BUILD_ID\).*no server\.url/);
    expect(() => jobServer(config({}), job({ QUARTERS_NAMESPACE: 'ns', QUARTERS_ITERATION: '1' }))).toThrow(/\(QUARTERS_NAMESPACE and QUARTERS_ITERATION\).*no server\.url/);
  });
});
