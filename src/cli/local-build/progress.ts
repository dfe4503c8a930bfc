/**
 * What `quarters build` tells the person waiting: on a terminal, a status line kept up to date
 * (which builds run, in which wave, for how long, and the total elapsed time) under the events;
 * elsewhere (a pipe, a CI log), one plain line per event. A failed build shows the tail of its log
 * and where the whole log is; dependants that cannot build say why.
 */
import { readFileSync } from 'node:fs';

export interface BuildEvent {
  pkgbase: string;
  /** 1-based, as shown. */
  wave: number;
}

export interface FinishedEvent extends BuildEvent {
  state: 'built' | 'failed' | 'cancelled';
  reason: string | null;
  seconds: number;
  logPath: string;
  packages: string[];
}

export interface Progress {
  planned(info: { namespace: string; iteration: number; arch: string; waves: string[][]; carried: string[] }): void;
  started(build: BuildEvent): void;
  finished(build: FinishedEvent): void;
  skipped(pkgbase: string, reason: string): void;
  note(line: string): void;
  close(): void;
}

/** How many lines of a failed build's log are shown. */
export const LOG_TAIL_LINES = 30;

/** The last `lines` lines of a file ('' when it cannot be read). */
export function logTail(path: string, lines = LOG_TAIL_LINES): string {
  try {
    return readFileSync(path, 'utf8').replace(/\n$/, '').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** "1:05" or "1:02:03". */
export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** The lines every reporter prints for one event (without the status line). */
function finishedLines(build: FinishedEvent): string[] {
  const took = `in ${formatDuration(build.seconds)}`;
  if (build.state === 'built') return [`built ${build.pkgbase} ${took}: ${build.packages.join(', ')}`];
  if (build.state === 'cancelled') return [`stopped ${build.pkgbase} ${took}`];
  const tail = logTail(build.logPath);
  return [
    `FAILED ${build.pkgbase} ${took}: ${build.reason ?? 'unknown reason'}`,
    ...(tail ? [`--- last ${LOG_TAIL_LINES} lines of the log ---`, ...tail.split('\n').map((l) => `  ${l}`), '---'] : []),
    `full log: ${build.logPath}`,
  ];
}

function plannedLines(info: Parameters<Progress['planned']>[0]): string[] {
  const lines = [`build set ${info.namespace}, iteration ${info.iteration}, ${info.arch}: ${info.waves.length} wave${info.waves.length === 1 ? '' : 's'}`];
  info.waves.forEach((wave, i) => lines.push(`  wave ${i + 1}: ${wave.join(' ')}`));
  if (info.carried.length) lines.push(`  unchanged since the last iteration, not rebuilt: ${info.carried.join(' ')}`);
  return lines;
}

/** One line per event, for logs and pipes. */
export function plainProgress(write: (text: string) => void, now: () => number = Date.now): Progress {
  const started = now();
  const stamp = () => `[${formatDuration((now() - started) / 1000)}]`;
  const emit = (lines: string[]) => write(lines.map((l) => `${l}\n`).join(''));
  return {
    planned: (info) => emit(plannedLines(info)),
    started: (b) => emit([`${stamp()} wave ${b.wave}: building ${b.pkgbase}`]),
    finished: (b) => emit(finishedLines(b).map((l, i) => (i === 0 ? `${stamp()} wave ${b.wave}: ${l}` : l))),
    skipped: (pkgbase, reason) => emit([`${stamp()} skipped ${pkgbase}: ${reason}`]),
    note: (line) => emit([line]),
    close: () => {},
  };
}

/** Events above a status line that is redrawn every second (for a terminal). */
export function terminalProgress(write: (text: string) => void, totalWaves: () => number, now: () => number = Date.now): Progress {
  const started = now();
  const running = new Map<string, { wave: number; since: number }>();
  let done = 0;
  let failed = 0;
  const status = (): string => {
    const builds = [...running].map(([name, r]) => `${name} (wave ${r.wave}, ${formatDuration((now() - r.since) / 1000)})`).join(', ');
    const wave = Math.max(0, ...[...running.values()].map((r) => r.wave));
    return `[${formatDuration((now() - started) / 1000)}] wave ${wave || '-'}/${totalWaves()} · ${done} built · ${failed} failed · ${builds ? `building ${builds}` : 'idle'}`;
  };
  // Clear the status line, print, draw it again.
  const emit = (lines: string[]) => write(`\r\x1b[K${lines.map((l) => `${l}\n`).join('')}${status()}`);
  const timer = setInterval(() => write(`\r\x1b[K${status()}`), 1000);
  timer.unref();
  return {
    planned: (info) => emit(plannedLines(info)),
    started: (b) => {
      running.set(b.pkgbase, { wave: b.wave, since: now() });
      emit([`wave ${b.wave}: building ${b.pkgbase}`]);
    },
    finished: (b) => {
      running.delete(b.pkgbase);
      if (b.state === 'built') done++;
      else failed++;
      emit(finishedLines(b));
    },
    skipped: (pkgbase, reason) => emit([`skipped ${pkgbase}: ${reason}`]),
    note: (line) => emit([line]),
    close: () => {
      clearInterval(timer);
      write('\r\x1b[K');
    },
  };
}
