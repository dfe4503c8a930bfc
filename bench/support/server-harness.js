/* global URL */
// The tests' server rig (test/server/server-harness.ts: the GitLab double over real HTTP and a quarters
// server talking to it), for benches: bundled with esbuild under dist/, so that its packages resolve
// from the repository's node_modules. The server in it is built from src/ by the bundle.
import { build } from 'esbuild';
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Imports test/server/server-harness.ts (startRig, runningBuilds, srcinfo, JANE, tokens). */
export async function loadServerHarness() {
  const outfile = `${root}dist/bench/server-harness.mjs`;
  await build({ entryPoints: [`${root}test/server/server-harness.ts`], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' });
  // The web UI reads its assets beside its module, which is now the bundle.
  cpSync(`${root}src/server/web/assets/`, `${root}dist/bench/assets/`, { recursive: true });
  return import(outfile);
}
