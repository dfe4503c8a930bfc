/** infrastructure/ci/quarters-build.gitlab-ci.yml, the CI template package repositories include. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const TEMPLATE = new URL('../infrastructure/ci/quarters-build.gitlab-ci.yml', import.meta.url);

interface Rule {
  if?: string;
  when?: string;
}
interface Job {
  stage?: string;
  tags?: string[];
  rules?: Rule[];
  script?: string[];
  artifacts?: { when?: string; paths?: string[] };
}

/**
 * Evaluates a rules:if expression of the forms the template may use (`$VAR`, `$VAR == "text"`,
 * `$VAR != "text"`, joined by `&&`) as GitLab does: an unset or empty variable is false.
 * Anything else is refused, so the template cannot outgrow what this test understands.
 */
function evaluate(expression: string, variables: Record<string, string>): boolean {
  return expression.split('&&').every((part) => {
    const term = part.trim();
    const compare = /^\$(\w+)\s*(==|!=)\s*"([^"]*)"$/.exec(term);
    if (compare) {
      const equal = (variables[compare[1]!] ?? '') === compare[3];
      return compare[2] === '==' ? equal : !equal;
    }
    const present = /^\$(\w+)$/.exec(term);
    if (present) return (variables[present[1]!] ?? '') !== '';
    throw new Error(`rules:if term this test cannot evaluate: ${term}`);
  });
}

/** Whether GitLab adds the job to a pipeline with these predefined and pipeline variables: the first matching rule decides. */
function runs(job: Job, variables: Record<string, string>): boolean {
  for (const rule of job.rules ?? []) {
    if (rule.if === undefined || evaluate(rule.if, variables)) return rule.when !== 'never';
  }
  return false;
}

describe('the quarters-build CI template', () => {
  const document = parse(readFileSync(TEMPLATE, 'utf8')) as Record<string, unknown>;
  const job = document['quarters-build'] as Job;

  it('has one build job, on the quarters runner, that fetches then builds with the driver', () => {
    expect(Object.keys(document).filter((key) => !key.startsWith('.'))).toEqual(['quarters-build']);
    expect(job.stage).toBe('build');
    expect(job.tags).toEqual(['quarters']);
    expect(job.script).toEqual(['quarters-build fetch', 'quarters-build build']);
    expect(job.artifacts?.when).toBe('always');
    expect(job.artifacts?.paths).toEqual(['quarters-logs/']);
  });

  it('runs for server-created pipelines, merge requests and pushes, once per change', () => {
    const server = { CI_PIPELINE_SOURCE: 'api', QUARTERS_BUILD_ID: '42', QUARTERS_PACKAGER: 'Jane Doe <jane@example.org>' };
    expect(runs(job, server)).toBe(true);
    expect(runs(job, { CI_PIPELINE_SOURCE: 'merge_request_event', CI_MERGE_REQUEST_IID: '7' })).toBe(true);
    expect(runs(job, { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'feature' })).toBe(true);
    // A push to a branch with an open merge request is built by the merge-request pipeline only.
    expect(runs(job, { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'feature', CI_OPEN_MERGE_REQUESTS: 'pkgs/foo!7' })).toBe(false);
    // Pipelines nobody asked quarters for: an API pipeline without a build, a schedule, a web-started one.
    expect(runs(job, { CI_PIPELINE_SOURCE: 'api' })).toBe(false);
    expect(runs(job, { CI_PIPELINE_SOURCE: 'schedule' })).toBe(false);
    expect(runs(job, { CI_PIPELINE_SOURCE: 'web', QUARTERS_BUILD_ID: '' })).toBe(false);
  });

  it('has rules this test evaluates faithfully', () => {
    expect(() => evaluate('$A || $B', {})).toThrow(/cannot evaluate/);
    expect(evaluate('$A == "x" && $B', { A: 'x', B: '1' })).toBe(true);
    expect(evaluate('$A == "x" && $B', { A: 'x' })).toBe(false);
    expect(evaluate('$A != "x"', {})).toBe(true);
  });
});
