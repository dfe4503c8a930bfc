/** The API's answers as the CLI reads them: the server's own view types, so the two cannot drift. */
import type { buildView, namespaceView } from '../../server/api/views.js';

export type NamespaceOut = ReturnType<typeof namespaceView>;
export type BuildOut = ReturnType<typeof buildView>;
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
