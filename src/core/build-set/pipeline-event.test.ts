import { describe, expect, it } from 'vitest';
import { pipelineEvent, statusOfJobs } from './pipeline-event.js';

describe('pipeline events', () => {
  it('composes a pipeline status from its CI jobs alone', () => {
    const jobs = (...statuses: string[]) => statuses.map((status) => ({ status, allowFailure: false }));
    expect(statusOfJobs(jobs('pending'))).toBe('pending');
    expect(statusOfJobs(jobs('success', 'pending'))).toBe('running');
    expect(statusOfJobs(jobs('running', 'failed'))).toBe('running');
    expect(statusOfJobs(jobs('success', 'failed'))).toBe('failed');
    expect(statusOfJobs(jobs('success', 'canceled'))).toBe('canceled');
    expect(statusOfJobs(jobs('success', 'skipped'))).toBe('success');
    expect(statusOfJobs([{ status: 'failed', allowFailure: true }, { status: 'success', allowFailure: false }])).toBe('success');
    expect(statusOfJobs([])).toBe('skipped');
  });

  it('means a build event only for the statuses that move a build', () => {
    expect(pipelineEvent('success', 1, 'building')).toEqual({ type: 'pipeline-succeeded' });
    expect(pipelineEvent('pending', 1, 'dispatched')).toBeNull();
    expect(pipelineEvent('pending', 1, 'failed')).toEqual({ type: 'pipeline-running' });
  });
});
