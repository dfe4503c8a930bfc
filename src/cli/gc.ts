/** `quarters gc [--dry-run]`: the server applies its retention policy (POST /api/v1/gc) and says what went, or would go. */
import type { GcReport } from '../server/retention/garbage-collector.js';
import { ApiClient } from './client/api.js';
import { clientSettings, requireToken } from './client/config.js';
import { printJson, table } from './client/views.js';
import type { ReadFlags } from './ns.js';

const print = (text: string) => process.stdout.write(`${text}\n`);

/** The report as lines: the iterations and why, the logs, every file with its size, the total. */
export function gcText(report: GcReport): string {
  const lines = [`policy: keep_iterations ${report.policy.keep_iterations}, superseded_after ${report.policy.superseded_after}, retired_after ${report.policy.retired_after}, logs_after ${report.policy.logs_after ?? 'with the iteration'}`];
  if (report.iterations.length === 0 && report.logs.length === 0) lines.push('nothing expires');
  for (const i of report.iterations) lines.push(`iteration ${i.namespace}/${i.iteration}: ${i.already_expired ? 'what is left of it' : 'expires'} (${i.why})`);
  for (const l of report.logs) lines.push(`logs of ${l.namespace}/${l.iteration} (${l.why})`);
  if (report.files.length > 0) lines.push(table(report.files.map((f) => [`  ${f.kind}`, f.path, `${f.bytes} bytes`])));
  lines.push(`${report.files.length} file${report.files.length === 1 ? '' : 's'}, ${report.total_bytes} bytes freed`);
  lines.push(report.dry_run ? 'dry run: nothing was removed' : 'removed');
  return lines.join('\n');
}

export async function gc(flags: ReadFlags & { dryRun?: boolean }): Promise<number> {
  const settings = await clientSettings(flags);
  requireToken(settings, 'gc');
  const report = await new ApiClient(settings).post<GcReport>('/gc', flags.dryRun ? { dry_run: true } : {});
  if (flags.json) printJson(report);
  else print(gcText(report));
  return 0;
}
