/** A slow test file's record of how long each step took, printed when the file ends (figures, never asserted). */
import { loadavg } from 'node:os';

export interface StepTimes {
  /** Runs `work`, recording its wall time under `label` (also when it throws). */
  timed<T>(label: string, work: () => Promise<T>): Promise<T>;
  /** Writes every step's time and the whole file's to stderr, headed by `title` and the load average. */
  report(title: string): void;
}

export function stepTimes(): StepTimes {
  const times: [string, number][] = [];
  const fileStart = Date.now();
  return {
    async timed(label, work) {
      const start = Date.now();
      try {
        return await work();
      } finally {
        times.push([label, Date.now() - start]);
      }
    },
    report(title) {
      const lines = [...times, ['whole file', Date.now() - fileStart] as [string, number]].map(([label, ms]) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${label}`);
      process.stderr.write(`${title} (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}):\n${lines.join('\n')}\n`);
    },
  };
}
