/** `quarters builders`: the runners that took quarters jobs recently, what each builds now, and the queue (GET /api/v1/builders). */
import type { BuildersView } from '../core/builders-view.js';
import { ApiClient } from './client/api.js';
import { clientSettings } from './client/config.js';
import { printJson, table } from './client/views.js';
import { UsageError } from './command.js';
import type { ReadFlags } from './ns.js';

/** "1h 02m", "3m 05s", "42s". */
export function duration(seconds: number | null): string {
  if (seconds === null) return '-';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

const label = (b: { namespace: string; pkgbase: string; arch: string; pass: number }) => `${b.namespace}: ${b.pkgbase}/${b.arch}${b.pass > 1 ? ` (pass ${b.pass})` : ''}`;

/** The text form: a table of runners and what they build, then the queue. */
export function buildersText(view: BuildersView): string {
  const rows: string[][] = [['RUNNER', 'LAST SEEN', 'JOBS', 'BUILDING', 'JOB', 'ELAPSED']];
  for (const b of view.builders) {
    const name = b.runner ? `#${b.runner.id} ${b.runner.description ?? ''}`.trimEnd() : '(runner not reported yet)';
    const running = b.running.length ? b.running : [null];
    running.forEach((r, i) => rows.push([
      i === 0 ? name : '', i === 0 ? (b.last_seen_at ?? '-') : '', i === 0 ? String(b.recent_jobs) : '',
      r ? label(r) : '-', r?.job_id == null ? '-' : String(r.job_id), r ? duration(r.elapsed_seconds) : '',
    ]));
  }
  const out = [view.builders.length ? table(rows) : `no runner took a quarters job since ${view.since}`];
  if (view.queue.length) {
    out.push('', table([['QUEUED', 'PIPELINE', 'WAITING'], ...view.queue.map((q) => [label(q), q.pipeline_id === null ? '-' : String(q.pipeline_id), duration(q.waiting_seconds)])]));
  } else out.push('', 'queue: empty');
  return out.join('\n');
}

/** `builders [--hours N]`. */
export async function builders(flags: ReadFlags & { hours?: string }): Promise<number> {
  if (flags.hours !== undefined && !(Number(flags.hours) > 0)) throw new UsageError(`builders: --hours is a positive number, not "${flags.hours}"`);
  const query = flags.hours === undefined ? '' : `?hours=${encodeURIComponent(flags.hours)}`;
  const view = await new ApiClient(await clientSettings(flags)).get<BuildersView>(`/builders${query}`);
  if (flags.json) printJson(view);
  else process.stdout.write(`${buildersText(view)}\n`);
  return 0;
}
