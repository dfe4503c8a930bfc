/** A small HTTP server standing in for the quarters server's artifact endpoint: records each PUT with its headers and body. */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedUpload {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  sha256: string;
}

export interface ArtifactServer {
  url: string;
  received: ReceivedUpload[];
  /** Decides the answer to each request (after the body was read); 201 by default. */
  respond: (upload: ReceivedUpload, index: number) => { status: number; body?: unknown };
  close(): Promise<void>;
}

/** Starts the server on a free loopback port. */
export async function startArtifactServer(): Promise<ArtifactServer> {
  const state: ArtifactServer = {
    url: '',
    received: [],
    respond: () => ({ status: 201, body: { ok: true } }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upload: ReceivedUpload = { url: `${req.method} ${req.url}`, headers: req.headers, body, sha256: createHash('sha256').update(body).digest('hex') };
      state.received.push(upload);
      const answer = state.respond(upload, state.received.length - 1);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
