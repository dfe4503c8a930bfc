import { describe, expect, it } from 'vitest';
import { durationMs, durationText, iterationVerdict, poolOwnersToRemove, type IterationFacts, type RetentionPolicy } from './retention-plan.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-01T00:00:00Z');
const daysAgo = (n: number) => new Date(NOW - n * DAY).toISOString();
const policy: RetentionPolicy = { keepIterations: 2, supersededAfterMs: 30 * DAY, retiredAfterMs: 90 * DAY, logsAfterMs: null };
const it0: IterationFacts = { namespace: 'auto-zlib', status: 'active', statusChangedAt: null, number: 1, newer: 0, supersededAt: null, expiredAt: null, busy: false, released: false };

describe('durations', () => {
  it('reads a whole number and a unit, and writes it back in the largest unit', () => {
    expect(durationMs('30d')).toBe(30 * DAY);
    expect(durationMs('6h')).toBe(6 * 3_600_000);
    expect(durationMs('2w')).toBe(14 * DAY);
    expect(durationText(14 * DAY)).toBe('2w');
    expect(durationText(90 * 60_000)).toBe('90m');
    expect(() => durationMs('30 days')).toThrow('"30 days" is not a duration');
    expect(() => durationMs('1.5d')).toThrow(/not a duration/);
  });
});

describe('iterationVerdict', () => {
  it('keeps the latest iteration of an active set, however old', () => {
    expect(iterationVerdict({ ...it0 }, policy, NOW + 1000 * DAY).action).toBe('keep');
  });

  it('expires a superseded iteration past superseded_after only when keep_iterations newer ones exist', () => {
    const old = { ...it0, supersededAt: daysAgo(31), newer: 2 };
    expect(iterationVerdict(old, policy, NOW)).toEqual({ action: 'expire', why: `superseded at ${daysAgo(31)}, more than 30d ago, and 2 newer iterations` });
    expect(iterationVerdict({ ...old, newer: 1 }, policy, NOW).action, 'among the 2 newest').toBe('keep');
    expect(iterationVerdict({ ...old, supersededAt: daysAgo(29) }, policy, NOW).action, 'not old enough').toBe('keep');
  });

  it('expires every iteration of a set retired longer than retired_after, the latest too', () => {
    const retired = { ...it0, status: 'retired' as const, statusChangedAt: daysAgo(91) };
    expect(iterationVerdict(retired, policy, NOW)).toEqual({ action: 'expire', why: `build set retired at ${daysAgo(91)}, more than 90d ago` });
    expect(iterationVerdict({ ...retired, statusChangedAt: daysAgo(89) }, policy, NOW).action).toBe('keep');
    expect(iterationVerdict({ ...retired, status: 'cancelled' }, policy, NOW).action, 'a cancelled set may be resumed').toBe('keep');
  });

  it('never expires an iteration a release was made from, nor one with unfinished work', () => {
    const old = { ...it0, supersededAt: daysAgo(300), newer: 5, status: 'retired' as const, statusChangedAt: daysAgo(300) };
    expect(iterationVerdict({ ...old, released: true }, policy, NOW).action).toBe('keep');
    expect(iterationVerdict({ ...old, released: true }, { ...policy, logsAfterMs: DAY }, NOW).action, 'a release points at packages, not logs').toBe('drop-logs');
    expect(iterationVerdict({ ...old, busy: true }, { ...policy, logsAfterMs: DAY }, NOW).action).toBe('keep');
    expect(iterationVerdict({ ...old, busy: true }, policy, NOW).action).toBe('keep');
    expect(iterationVerdict({ ...old, expiredAt: daysAgo(1) }, policy, NOW).action, 'expired before: its leftovers go').toBe('expired');
  });

  it('drops an ended iteration\'s logs after logs_after while keeping the iteration', () => {
    const ended = { ...it0, supersededAt: daysAgo(8), newer: 1 };
    expect(iterationVerdict(ended, { ...policy, logsAfterMs: 7 * DAY }, NOW)).toEqual({ action: 'drop-logs', why: `ended at ${daysAgo(8)}, more than 1w ago` });
    expect(iterationVerdict(ended, policy, NOW).action, 'without logs_after, logs go with the iteration').toBe('keep');
    expect(iterationVerdict({ ...it0 }, { ...policy, logsAfterMs: 0 }, NOW).action, 'the live iteration keeps its logs').toBe('keep');
  });
});

describe('poolOwnersToRemove', () => {
  it('keeps the files a kept build continues from or a release published', () => {
    expect(poolOwnersToRemove([{ owner: 1 }, { owner: 2 }, { owner: 3 }, { owner: 3 }], [{ owner: 2 }, { owner: 9 }], [3])).toEqual([1]);
    expect(poolOwnersToRemove([{ owner: 5 }, { owner: 4 }], [], [])).toEqual([4, 5]);
  });
});
