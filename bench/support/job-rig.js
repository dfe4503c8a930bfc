/* global URL */
// The tests' job rig (the runner emulator, the executor fixture, the server stand-in, the Arch-on-Debian
// base), for benches: bundled with esbuild under dist/, so that its packages resolve from the
// repository's node_modules. The executor it drives is the bundle, dist/executor/quarters-executor.cjs.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Imports runJob (test/runner-emulator), createExecutorFixture and EXECUTOR, startArtifactServer, archBaseTarball. */
export async function loadJobRig() {
  const outfile = `${root}dist/bench/job-rig.mjs`;
  const contents = [
    "export { runJob } from './test/runner-emulator/emulator.ts';",
    "export { createExecutorFixture, EXECUTOR, TEST_HOST_USER } from './test/support/executor-fixture.ts';",
    "export { startArtifactServer } from './test/support/artifact-server.ts';",
    "export { archBaseTarball } from './test/support/arch-base.ts';",
  ].join('\n');
  await build({ stdin: { contents, resolveDir: root, loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' });
  return import(outfile);
}
