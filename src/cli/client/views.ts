/** The API's answers as the CLI reads them: the server's own view types, so the two cannot drift. */
import type { buildView, namespaceView } from '../../server/api/views.js';
import type { ReleaseOutcome } from '../../server/releases/releases.js';
import type { ArchDiff } from '../../core/release/release-plan.js';
import type { ReleaseRow } from '../../server/store/release-store.js';
import type { BumpView } from '../../server/bumps/bumper.js';

export type NamespaceOut = ReturnType<typeof namespaceView>;
export type BuildOut = ReturnType<typeof buildView>;
export type ReleaseOutcomeOut = ReleaseOutcome;
export type ReleaseOut = ReleaseRow;
export type BumpOut = BumpView;
export type BuildDetailOut = BuildOut & { namespace: string; iteration: number };
export interface GraphOut {
  iteration: number | null;
  nodes: { id: number; pkgbase: string; arch: string; pass: number; state: string }[];
  edges: { from: number; to: number }[];
  cycles: unknown[];
}

/** Rows as aligned columns, two spaces apart. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** The builds table of `ns show` and friends. */
export function buildsTable(builds: Pick<BuildOut, 'id' | 'pkgbase' | 'arch' | 'state' | 'pipeline_id' | 'reason'>[]): string {
  return table([['ID', 'PKGBASE', 'ARCH', 'STATE', 'PIPELINE', 'REASON'], ...builds.map((b) => [String(b.id), b.pkgbase, b.arch, b.state, b.pipeline_id === null ? '-' : String(b.pipeline_id), b.reason ?? ''])]);
}

/** Writes a value as the --json output: the API's answer, indented. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A release's diff, per architecture: a count line, then + added, ↑ upgraded, ↓ downgraded, - removed packages. */
export function releaseDiffText(diffs: readonly ArchDiff[]): string {
  return diffs.map((d) => {
    const head = `${d.arch}: ${d.added.length} added, ${d.upgraded.length} upgraded, ${d.downgraded.length} downgraded, ${d.removed.length} removed${d.unchanged.length ? `, ${d.unchanged.length} already there` : ''}`;
    const lines = [
      ...d.added.map((c) => `  + ${c.name} ${c.to}`),
      ...d.upgraded.map((c) => `  ↑ ${c.name} ${c.from} → ${c.to}`),
      ...d.downgraded.map((c) => `  ↓ ${c.name} ${c.from} → ${c.to}`),
      ...d.removed.map((c) => `  - ${c.name} ${c.from}`),
    ];
    return [head, ...lines].join('\n');
  }).join('\n');
}
