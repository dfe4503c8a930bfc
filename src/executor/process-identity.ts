/** A process named by pid and start time, so a recycled pid is never mistaken for the process we recorded. */
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { ProcessIdentity } from './process-identity-schema.js';

export type { ProcessIdentity } from './process-identity-schema.js';

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

/** Kills the process with SIGKILL unless it is gone (a recycled pid is left alone), and waits up to 5 s until it is. */
export async function killIdentified(identity: ProcessIdentity): Promise<void> {
  if (!isAlive(identity)) return;
  try {
    process.kill(identity.pid, 'SIGKILL');
  } catch {
    return; // gone meanwhile
  }
  for (let i = 0; i < 50 && isAlive(identity); i++) await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Records a started process in `file`, by pid and start time, for killRecordedProcess. */
export async function recordProcess(file: string, pid: number): Promise<void> {
  await writeFile(file, JSON.stringify(identify(pid) ?? { pid, startTime: '' }));
}

/** Kills the process `file` records (recordProcess), if it still runs: one that outlived an executor killed outright. */
export async function killRecordedProcess(file: string): Promise<void> {
  const { processIdentitySchema } = await import('./process-identity-schema.js');
  const recorded = processIdentitySchema.safeParse(await readFile(file, 'utf8').then((text) => JSON.parse(text) as unknown, () => null));
  if (recorded.success) await killIdentified(recorded.data);
}
