/**
 * Retention: which of a build set's iterations expire (their repositories, the package files only they
 * name, their logs) and which only lose their logs, by the policy of the server's `[retention]`. Pure:
 * the server gathers the facts (store, releases, the clock) and removes what this says.
 */

/** `[retention]` as the server applies it, durations in milliseconds. */
export interface RetentionPolicy {
  /** The newest iterations of every build set, kept whatever their age (the latest always is). */
  keepIterations: number;
  /** A superseded iteration expires this long after it was superseded. */
  supersededAfterMs: number;
  /** Every iteration of a retired build set expires this long after it was retired. */
  retiredAfterMs: number;
  /** An ended iteration's logs go this long after it ended; null: with the iteration. */
  logsAfterMs: number | null;
}

/** What retention knows of one iteration. */
export interface IterationFacts {
  namespace: string;
  /** The build set's status, and since when it has it (null: not known, as for sets retired before it was recorded). */
  status: 'active' | 'cancelled' | 'retired';
  statusChangedAt: string | null;
  number: number;
  /** How many iterations of its build set are newer. */
  newer: number;
  supersededAt: string | null;
  expiredAt: string | null;
  /** A build of it is on its way (blocked, ready, dispatched, building) or an image is being built from it. */
  busy: boolean;
  /** A release whose packages a distribution repository still has was made from it. */
  released: boolean;
}

/** What happens to an iteration. */
export type IterationVerdict =
  | { action: 'keep'; why: string }
  | { action: 'expire'; why: string }
  /** Expired before: whatever of it is still on disk goes. */
  | { action: 'expired'; why: string }
  /** Kept, but its logs go. */
  | { action: 'drop-logs'; why: string };

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration as the config writes it: a whole number and a unit, s, m, h, d or w ("30d", "6h"). */
export const DURATION = /^(\d{1,9})(s|m|h|d|w)$/;

/** Milliseconds of a duration ("30d"); throws on anything else (the config schema checks DURATION first). */
export function durationMs(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration (a whole number and s, m, h, d or w, like "30d")`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** "30d" back from milliseconds, in the largest unit that divides it. */
export function durationText(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's']) if (ms % UNITS[unit]! === 0 && ms >= UNITS[unit]!) return `${ms / UNITS[unit]!}${unit}`;
  return `${ms / 1000}s`;
}

const age = (at: string, now: number): number => now - Date.parse(at);

/** The verdict on one iteration at `now` (ms since the epoch). */
export function iterationVerdict(it: IterationFacts, policy: RetentionPolicy, now: number): IterationVerdict {
  if (it.expiredAt !== null) return { action: 'expired', why: `expired at ${it.expiredAt}` };
  if (it.busy) return { action: 'keep', why: 'a build or image of it is not finished' };
  const retired = it.status === 'retired' && it.statusChangedAt !== null ? it.statusChangedAt : null;
  const ended = it.supersededAt ?? retired;
  // A release points at packages, not at logs: logs_after holds for a released iteration too.
  const logsGo = policy.logsAfterMs !== null && ended !== null && age(ended, now) >= policy.logsAfterMs;
  const dropLogs = (): IterationVerdict => ({ action: 'drop-logs', why: `ended at ${ended}, more than ${durationText(policy.logsAfterMs!)} ago` });
  if (it.released) return logsGo ? dropLogs() : { action: 'keep', why: 'a release in a distribution repository was made from it' };
  if (retired !== null && age(retired, now) >= policy.retiredAfterMs) {
    return { action: 'expire', why: `build set retired at ${retired}, more than ${durationText(policy.retiredAfterMs)} ago` };
  }
  if (it.supersededAt !== null && it.newer >= policy.keepIterations && age(it.supersededAt, now) >= policy.supersededAfterMs) {
    return { action: 'expire', why: `superseded at ${it.supersededAt}, more than ${durationText(policy.supersededAfterMs)} ago, and ${it.newer} newer iteration${it.newer === 1 ? '' : 's'}` };
  }
  return logsGo ? dropLogs() : { action: 'keep', why: 'within the policy' };
}

/**
 * The builds whose package files (`pool/<build>/`) go: those of the expiring (or expired) iterations'
 * builds that no kept build continues (a carried-over build keeps its files where the first one put
 * them) and no release published. `owner` is the build whose files a build's are (reused_from, else itself).
 */
export function poolOwnersToRemove(expiring: readonly { owner: number }[], kept: readonly { owner: number }[], released: Iterable<number>): number[] {
  const keep = new Set([...kept.map((b) => b.owner), ...released]);
  return [...new Set(expiring.map((b) => b.owner))].filter((o) => !keep.has(o)).sort((a, b) => a - b);
}
