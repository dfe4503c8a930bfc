/** `GET /signing-key.asc` (the armored public key, for `pacman-key --add` and apt's `signed-by`) and `GET /api/v1/signing-key` (the same, described). */
import { Hono } from 'hono';
import { ApiError } from '../http/http-error.js';
import type { Signer } from './signer.js';

/** Where the public key is served, under public_url. */
export const SIGNING_KEY_PATH = '/signing-key.asc';

/** The signing key routes; without [signing] both answer 404 saying the repositories are not signed. */
export function signingKeyRoutes(deps: { signer: Signer | null; publicUrl: string }): Hono {
  const app = new Hono();
  const signer = () => {
    if (!deps.signer) throw new ApiError(404, 'not_signed', 'this server has no [signing] key: its repositories are not signed');
    return deps.signer;
  };
  app.get(SIGNING_KEY_PATH, (c) => c.body(signer().publicKey(), 200, { 'Content-Type': 'application/pgp-keys' }));
  app.get('/api/v1/signing-key', (c) => {
    const s = signer();
    return c.json({ fingerprint: s.key.fingerprint, uid: s.key.uid, url: `${deps.publicUrl.replace(/\/+$/, '')}${SIGNING_KEY_PATH}`, public_key: s.publicKey(), problem: s.problem() });
  });
  return app;
}
