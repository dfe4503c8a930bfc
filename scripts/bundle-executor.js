/* global console, process */
// Bundles quarters-executor into one file, dist/executor/quarters-executor.js (run by `npm run build`
// after tsc). GitLab Runner starts the executor once per stage, so its start-up is per-job overhead:
// one file loads in a single read where the module graph took some 80 files, each resolved, read and
// linked. It needs nothing beside it: no node_modules, and its version is built in.
import { chmodSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'executor', 'quarters-executor.js');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
try {
  await build({
    entryPoints: [join(root, 'dist', 'executor', 'main.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    define: { 'import.meta.QUARTERS_VERSION': JSON.stringify(version) },
  });
  chmodSync(outfile, 0o755);
} catch (error) {
  console.error(`bundle-executor: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
