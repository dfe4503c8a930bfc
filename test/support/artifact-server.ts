/**
 * A small HTTP server standing in for the quarters server: records each PUT (uploads, resource usage)
 * with its headers and body, and, given a repositories directory (the server's DATA_DIR/repos),
 * serves `GET /repos/NS/ITER/ARCH/` (the JSON listing) and its files as the server does. Every
 * request is counted in `requests`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface ReceivedUpload {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  sha256: string;
}

export interface ArtifactServer {
  url: string;
  /** Every request but GETs, with its body. */
  received: ReceivedUpload[];
  /** Every request, as "METHOD URL". */
  requests: string[];
  /** The requests that carried a credential (Authorization, X-Job-Token), as "METHOD URL". */
  credentialed: string[];
  /** Decides the answer to a GET of the repositories (before the file is served); null: serve it. */
  serve: (url: string) => { status: number; body?: unknown } | null;
  /** Decides the answer to each request (after the body was read); 201 by default. */
  respond: (upload: ReceivedUpload, index: number) => { status: number; body?: unknown };
  close(): Promise<void>;
}

/** Starts the server on a free loopback port; `repositories` is served under /repos. */
export async function startArtifactServer(options: { repositories?: string } = {}): Promise<ArtifactServer> {
  const state: ArtifactServer = {
    url: '',
    received: [],
    requests: [],
    credentialed: [],
    serve: () => null,
    respond: () => ({ status: 201, body: { ok: true } }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url}`);
    if (req.headers.authorization !== undefined || req.headers['x-job-token'] !== undefined) state.credentialed.push(`${req.method} ${req.url}`);
    if (req.method === 'GET') {
      const answer = state.serve(req.url ?? '');
      if (answer) return json(res, answer.status, answer.body ?? {});
      return serveRepository(options.repositories, req.url ?? '', res);
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upload: ReceivedUpload = { url: `${req.method} ${req.url}`, headers: req.headers, body, sha256: createHash('sha256').update(body).digest('hex') };
      state.received.push(upload);
      const answer = state.respond(upload, state.received.length - 1);
      json(res, answer.status, answer.body ?? {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** `GET /repos/NS/ITER/ARCH/[FILE]` from `root` (NS/ITER/ARCH/FILE), as src/server/artifacts/repos-route.ts answers it. */
function serveRepository(root: string | undefined, url: string, res: ServerResponse): void {
  const match = /^\/repos\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]*)$/.exec(url);
  const segments = match?.slice(1).map(decodeURIComponent);
  if (!root || !segments || segments.some((s) => s.includes('/') || s.startsWith('.'))) return json(res, 404, { error: 'not_found', detail: `no route for GET ${url}` });
  const [namespace, iteration, arch, file] = segments as [string, string, string, string];
  const dir = join(root, namespace, iteration, arch);
  if (file === '') {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      // the server answers an empty listing for an iteration that has no repository yet
    }
    const files = names.filter((n) => !n.startsWith('.')).sort().flatMap((name) => {
      const info = statSync(join(dir, name));
      return info.isFile() ? [{ name, size: info.size }] : [];
    });
    return json(res, 200, { namespace, iteration: Number(iteration), arch, files });
  }
  let size: number;
  try {
    const info = statSync(join(dir, file));
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch {
    return json(res, 404, { error: 'not_found', detail: `${file} is not in /repos/${namespace}/${iteration}/${arch}/` });
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
  createReadStream(join(dir, file)).pipe(res);
}
