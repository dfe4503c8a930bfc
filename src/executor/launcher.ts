/**
 * The start of dist/executor/quarters-executor.cjs (scripts/bundle-executor.js): the executor's bundle
 * is held here as a string and compiled with V8's code cache, kept by root (root-cache.ts) for this
 * build, this Node and this command. GitLab Runner starts the executor once per stage; compiling the
 * bundle and the functions a command runs (zod's among them) was a good part of each start, and with
 * the cache V8 reads them compiled instead (npm run bench:executor-start). Node 22's
 * module.enableCompileCache() does the same for any module; Node 20 has only vm.Script's cachedData.
 *
 * The first start of a command on a host (or after an update of the executor or of Node) compiles as
 * before and leaves the cache at exit; a cache V8 rejects is replaced the same way.
 */
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { readRootCache, rootCacheDir, writeRootCache } from './root-cache.js';

/** The executor's bundle (CommonJS), and a hash of it: set by scripts/bundle-executor.js. */
declare const QUARTERS_EXECUTOR_SOURCE: string;
declare const QUARTERS_EXECUTOR_BUILD: string;

const CODE_CACHE_PREFIX = 'code-';
/** The commands of main.ts that have a code cache of their own; the rest share one. */
const COMMANDS = new Set(['config', 'prepare', 'cleanup', 'baseos', '--help']);
/** Code caches of other builds (an update leaves its predecessor's) go when they have not been rewritten for this long. */
const STALE_CODE_CACHE_MS = 24 * 60 * 60 * 1000;

/**
 * What the command runs, as a file name: the code a command compiles is what its cache holds, so each
 * command (and each stage, for `run`: a host stage and a build load different code) has its own.
 */
function commandKey(argv: readonly string[]): string {
  const [command, ...args] = argv;
  if (command === 'run' && args.length >= 2) {
    const stage = args[args.length - 1]!;
    return `run-${stage.startsWith('step_') ? 'step' : /^[a-z_]{1,40}$/.test(stage) ? stage : 'other'}`;
  }
  return command !== undefined && COMMANDS.has(command) ? command : 'other';
}

function removeStaleCodeCaches(dir: string, current: string): void {
  try {
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(CODE_CACHE_PREFIX) || name.startsWith(current)) continue;
      const file = join(dir, name);
      if (Date.now() - statSync(file).mtimeMs > STALE_CODE_CACHE_MS) unlinkSync(file);
    }
  } catch {
    // Another start removed it first; the rest go next time.
  }
}

function launch(): void {
  const dir = rootCacheDir();
  const build = `${CODE_CACHE_PREFIX}${QUARTERS_EXECUTOR_BUILD}-`;
  const name = `${build}${process.version}-${process.arch}-${commandKey(process.argv.slice(2))}.v8`;
  const cachedData = dir === null ? null : readRootCache(dir, name);
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${QUARTERS_EXECUTOR_SOURCE}\n})`, {
    filename: __filename,
    ...(cachedData ? { cachedData } : {}),
  });
  if (dir !== null && (cachedData === null || script.cachedDataRejected)) {
    // At exit, so that the cache holds every function the command compiled on its way.
    process.once('exit', () => {
      writeRootCache(dir, name, script.createCachedData());
      removeStaleCodeCaches(dir, build);
    });
  }
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, __filename, __dirname);
}

launch();
