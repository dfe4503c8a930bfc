/** Looking for processes by a marker in their command line, to prove nothing was left running. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Pids of processes whose command line contains `marker` (this test process excluded). */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const pid of pids()) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(marker)) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Lines of /proc/self/mountinfo that mention `path`. */
export function mountsMentioning(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(path));
}

/**
 * Mounts that mention `path` in any mount namespace on this host (one process read per namespace),
 * as "pid: mountinfo line": a mount held by a private namespace, a container's, is invisible in ours.
 */
export function mountsAnywhereMentioning(path: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  for (const pid of [process.pid, ...pids()]) {
    try {
      const namespace = readlinkSync(`/proc/${pid}/ns/mnt`);
      if (seen.has(namespace)) continue;
      seen.add(namespace);
      for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
        if (line.includes(path)) found.push(`${pid}: ${line}`);
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Polls `condition` every 100 ms until it holds or `timeoutMs` passes; resolves whether it held. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

function pids(): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid).map(Number);
}
