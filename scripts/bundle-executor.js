/* global console, process */
// Bundles quarters-executor into one file, dist/executor/quarters-executor.cjs (run by `npm run build`
// after tsc). GitLab Runner starts the executor once per stage, so its start-up is per-job overhead:
// one file loads in a single read where the module graph took some 80 files, each resolved, read and
// linked. It needs nothing beside it: no node_modules, and its version is built in.
//
// Two builds: the executor (main.ts), and the launcher (src/executor/launcher.ts), which starts the
// file; the executor's text follows it, each line commented out, then the host stages' sandbox program
// (base64, one commented line): the launcher reads them from the file's end and compiles the
// executor with V8's code cache. As comments Node skips them quickly; as a string literal (before)
// the 300 KB were scanned, copied and hashed at every start.
//
// These choices keep a start close to a bare `node -e 0` (npm run bench:executor-start):
// - CommonJS, not ESM: Node loads a CommonJS main without the ESM loader's resolve, translate and link
//   steps (the same bundle as ESM started 6-10 ms slower here), and esbuild then evaluates each module
//   of the bundle on first use, not all at start-up.
// - Node built-ins that Node's own start-up has not loaded (child_process alone is ~7 ms, with net and
//   streams; crypto, fs/promises ~5 ms each) are loaded on first use of one of their exports, so a
//   command loads only those it calls: `config` none of them.
import { builtinModules } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'executor', 'quarters-executor.cjs');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Built-ins Node's start-up has already loaded: using them costs nothing, so they are required as usual. */
const PRELOADED = new Set(['buffer', 'events', 'fs', 'path', 'url', 'util']);

/**
 * Resolves every other built-in to a stand-in whose exports are getters that require the built-in
 * on first access. esbuild's CommonJS output reads an import at each use (`import_x.spawn(...)`),
 * so nothing changes but when the built-in loads. Bare names (`events`) become `node:` ones.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const builtin = (path) => {
      const name = path.replace(/^node:/, '');
      return builtinModules.includes(name) ? name : null;
    };
    b.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      const name = builtin(args.path);
      if (name === null) return undefined;
      if (PRELOADED.has(name) || args.namespace === 'lazy-builtin') return { path: `node:${name}`, external: true };
      return { path: name, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
      const keys = Object.keys(await import(`node:${args.path}`)).filter((key) => key !== 'default');
      const getters = keys.map((key) => `  ${JSON.stringify(key)}: { enumerable: true, get: () => load()[${JSON.stringify(key)}] },`);
      // The getters sit on the stand-in's prototype: esbuild's namespace of a CommonJS module (__toESM,
      // one per importing module, some 40 for fs/promises) inherits from that prototype and copies only
      // own properties, so each namespace is made without a getter per export.
      return {
        loader: 'js',
        contents: `let loaded;\nconst load = () => (loaded ??= require(${JSON.stringify(`node:${args.path}`)}));\nmodule.exports = Object.create(Object.defineProperties({}, {\n${getters.join('\n')}\n}));\n`,
      };
    });
  },
};

/**
 * The host stages' sandbox program (src/executor/stage-sandbox.c), compiled here and carried in the
 * bundle (stage-sandbox.ts writes it out on the runner host); also left beside the bundle for the
 * unbundled dist/executor/*.js and the tests. Linked against the C library only, which the runner
 * host then needs in at least the version found here (GLIBC_2.34 on Debian 12).
 */
function compileStageSandbox() {
  const source = join(root, 'src', 'executor', 'stage-sandbox.c');
  const binary = join(root, 'dist', 'executor', 'quarters-stage-sandbox');
  try {
    execFileSync(process.env.CC ?? 'cc', ['-std=c11', '-Os', '-s', '-Wall', '-Wextra', '-Werror', '-D_FORTIFY_SOURCE=2', '-fstack-protector-strong', '-o', binary, source], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (error) {
    throw new Error(`compiling ${source} failed (a C compiler and the C library's headers are needed: scripts/install-deps installs build-essential): ${error.message}`);
  }
  const bytes = readFileSync(binary);
  return { base64: bytes.toString('base64'), hash: createHash('sha256').update(bytes).digest('hex').slice(0, 16) };
}

try {
  const sandbox = compileStageSandbox();
  // The executor: its text goes into the launcher, which compiles it with V8's code cache (src/executor/launcher.ts).
  const bundled = await build({
    entryPoints: [join(root, 'dist', 'executor', 'main.js')],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'linked',
    // Not the identifiers: stack traces keep their function names. A smaller text is less to scan and compile (~4 ms of `config`).
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    plugins: [lazyBuiltins],
    // import.meta of the modules, for CommonJS: the bundle's own URL, made when asked for (a URL costs 1-3 ms to make at start).
    banner: { js: '"use strict";\nconst __quartersMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
    // QUARTERS_BUILD: which build wrote a cached config (config-load.ts); each build validates anew.
    define: { 'import.meta.QUARTERS_VERSION': JSON.stringify(version), 'import.meta.QUARTERS_BUILD': JSON.stringify(`${version}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`), 'import.meta.url': '__quartersMeta.url', 'import.meta.QUARTERS_STAGE_SANDBOX': '__quartersStageSandbox.base64', 'import.meta.QUARTERS_STAGE_SANDBOX_HASH': JSON.stringify(sandbox.hash) },
  });
  // main.ts's hashbang line is the launcher's now; a comment keeps the lines where the map has them.
  const source = bundled.outputFiles.find((file) => file.path === outfile).text.replace(/^#!/, '//');
  const map = bundled.outputFiles.find((file) => file.path === `${outfile}.map`).text;
  // Read back from the file as latin1 and cut by length: ASCII only (esbuild escapes the rest), and no
  // line ends but \n (a \r or U+2028 would end a comment where the launcher does not cut).
  if (/[^\t\n -~]/.test(source)) throw new Error('the executor bundle is not ASCII with \\n line ends only');
  const commented = `${source.split('\n').map((line) => `//${line}`).join('\n')}\n`;
  const sandboxLine = `//${sandbox.base64}\n`;
  const executorBuild = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const launcher = await build({
    entryPoints: [join(root, 'dist', 'executor', 'launcher.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
    write: false,
    banner: { js: '#!/usr/bin/env node' },
    define: {
      QUARTERS_EXECUTOR_BUILD: JSON.stringify(executorBuild),
      QUARTERS_EXECUTOR_LENGTH: String(commented.length),
      QUARTERS_STAGE_SANDBOX_LENGTH: String(sandboxLine.length),
    },
  });
  const launcherText = launcher.outputFiles[0].text.replace(/\n*$/, '');
  writeFileSync(outfile, `${launcherText}\n//quarters-executor-payload ${executorBuild}\n${commented}${sandboxLine}`);
  // The map is the executor's (its lines are those of the string the launcher compiles).
  writeFileSync(`${outfile}.map`, map);
  chmodSync(outfile, 0o755);
  // The ESM bundle of earlier builds, so that nothing runs a stale one.
  rmSync(join(root, 'dist', 'executor', 'quarters-executor.js'), { force: true });
  rmSync(join(root, 'dist', 'executor', 'quarters-executor.js.map'), { force: true });
} catch (error) {
  console.error(`bundle-executor: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
