/**
 * `quarters ns list|show NAME|create [--name NAME] PKGBASE@REF...`: build sets, through the server's
 * REST API. The server is --server URL or QUARTERS_SERVER; the API token (for create) comes from
 * QUARTERS_API_TOKEN or --token-file, never from the command line.
 */
import { readFileSync } from 'node:fs';
import { UsageError, type Command } from './command.js';
import { parseOptions } from './options.js';

interface BuildOut {
  pkgbase: string;
  arch: string;
  state: string;
  pipeline_id: number | null;
  reason: string | null;
}

/** An answer the server gave as an error: the CLI prints it as one line. */
export class ApiAnswerError extends Error {
  override name = 'ApiAnswerError';
}

async function request(server: string, method: string, path: string, token: string | null, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${server.replace(/\/$/, '')}/api/v1${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new ApiAnswerError(`cannot reach ${server}: ${(error as Error).message}`);
  }
  const answer = (await res.json().catch(() => null)) as { error?: string; detail?: string } | null;
  if (!res.ok) throw new ApiAnswerError(`${method} ${path}: ${res.status} ${answer?.error ?? ''}: ${answer?.detail ?? 'no detail'}`);
  return answer;
}

function table(builds: BuildOut[]): string {
  const rows = [['PKGBASE', 'ARCH', 'STATE', 'PIPELINE', 'REASON'], ...builds.map((b) => [b.pkgbase, b.arch, b.state, b.pipeline_id === null ? '-' : String(b.pipeline_id), b.reason ?? ''])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export const command: Command = {
  summary: 'ns list | ns show NAME | ns create [--name NAME] PKGBASE@REF...: build sets, through the REST API',
  async run(argv) {
    const { options, positional } = parseOptions(argv, ['server', 'name', 'token-file', 'packager'], 'quarters ns');
    const [action, ...args] = positional;
    const server = options.get('server') ?? process.env.QUARTERS_SERVER;
    if (!server) throw new UsageError('quarters ns: give --server URL (or set QUARTERS_SERVER)');
    const print = (text: string) => process.stdout.write(`${text}\n`);
    try {
      if (action === 'list' && args.length === 0) {
        const answer = (await request(server, 'GET', '/namespaces', null)) as { namespaces: { name: string; status: string; iteration: { number: number; states: Record<string, number> } | null }[] };
        print(answer.namespaces.map((n) => `${n.name}  ${n.status}  iteration ${n.iteration?.number ?? '-'}  ${Object.entries(n.iteration?.states ?? {}).map(([s, k]) => `${s}=${k}`).join(' ')}`).join('\n'));
      } else if (action === 'show' && args.length === 1) {
        const answer = (await request(server, 'GET', `/namespaces/${encodeURIComponent(args[0]!)}`, null)) as { name: string; iteration: { number: number } | null; builds: BuildOut[] };
        print(`${answer.name}, iteration ${answer.iteration?.number ?? '-'}\n${table(answer.builds)}`);
      } else if (action === 'create' && args.length > 0) {
        const tokenFile = options.get('token-file');
        const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : process.env.QUARTERS_API_TOKEN;
        if (!token) throw new UsageError('quarters ns create: set QUARTERS_API_TOKEN or give --token-file FILE');
        const body = { origin_changesets: args, ...(options.has('name') ? { name: options.get('name') } : {}), ...(options.has('packager') ? { packager: options.get('packager') } : {}) };
        const answer = (await request(server, 'POST', '/namespaces', token, body)) as { name: string; builds: BuildOut[] };
        print(`created ${answer.name}\n${table(answer.builds)}`);
      } else {
        throw new UsageError('usage: quarters ns list | ns show NAME | ns create [--name NAME] [--packager "Name <email>"] PKGBASE@REF... [--server URL]');
      }
    } catch (error) {
      if (error instanceof ApiAnswerError) {
        process.stderr.write(`quarters: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
    return 0;
  },
};
