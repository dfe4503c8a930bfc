/** A process named by pid and start time, so a recycled pid is never mistaken for the process we recorded. */
import { readFileSync } from 'node:fs';
import './zod-messages.js';
import * as z from 'zod/mini';

export const processIdentitySchema = z.strictObject({ pid: z.int().check(z.positive()), startTime: z.string() });
export type ProcessIdentity = z.infer<typeof processIdentitySchema>;

/** The kernel's start time of a process (clock ticks since boot), or null when it does not exist or has already exited (a zombie). */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after the last ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A killed process whose parent died waits as a zombie until init reaps it: it is gone all the same.
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** The identity of a running process, or null when it is gone. */
export function identify(pid: number): ProcessIdentity | null {
  const startTime = processStartTime(pid);
  return startTime === null ? null : { pid, startTime };
}

/** True while the recorded process still runs. */
export function isAlive(identity: ProcessIdentity): boolean {
  return processStartTime(identity.pid) === identity.startTime;
}

/** True when both name the same process (null: none). */
export function sameProcess(a: ProcessIdentity | null, b: ProcessIdentity | null): boolean {
  return a !== null && b !== null && a.pid === b.pid && a.startTime === b.startTime;
}
