/**
 * The start of dist/executor/quarters-executor.cjs (scripts/bundle-executor.js): the executor's bundle
 * follows this script in the same file, each of its lines commented out, then the host stages'
 * sandbox program (base64, one commented line). Node reads the file and skips the comments quickly; a
 * string literal of the same text was scanned, copied and hashed at every start (~1 ms of each). The
 * launcher reads the file once more, takes the bundle from its end (its length is built in) and
 * compiles it with V8's code cache, kept by root (root-cache.ts) for this
 * build, this Node and this command. GitLab Runner starts the executor once per stage; compiling the
 * bundle and the functions a command runs (zod's among them) was a good part of each start, and with
 * the cache V8 reads them compiled instead (npm run bench:executor-start). Node 22's
 * module.enableCompileCache() does the same for any module; Node 20 has only vm.Script's cachedData.
 *
 * The first start of a command on a host (or after an update of the executor or of Node) compiles as
 * before and leaves the cache at exit; a cache V8 rejects is replaced the same way.
 */
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { readRootCache, rootCacheDir, writeRootCache } from './root-cache.js';

/** A hash of the executor's bundle (CommonJS), and the lengths of what follows this script: set by scripts/bundle-executor.js. */
declare const QUARTERS_EXECUTOR_BUILD: string;
/** The bundle's lines, each commented out (`//LINE\n`), in bytes. */
declare const QUARTERS_EXECUTOR_LENGTH: number;
/** The sandbox program's line (`//BASE64\n`), in bytes. */
declare const QUARTERS_STAGE_SANDBOX_LENGTH: number;

/** The line that opens the payload (after this script), naming the build: a file replaced by another build's is not read as this one. */
const PAYLOAD_MARKER = '\n//quarters-executor-payload ';

interface Payload {
  executor: string;
  /** The sandbox program, base64: read by the executor (stage-sandbox.ts) only when a host stage runs. */
  stageSandbox: { readonly base64: string };
}

/** The executor and the sandbox program from the end of this file (read again whole: a start reads 300 KB of page cache, not a string literal to scan). */
function readPayload(): Payload {
  const file = readFileSync(__filename);
  const marker = `${PAYLOAD_MARKER}${QUARTERS_EXECUTOR_BUILD}\n`;
  const end = file.length;
  const sandboxStart = end - QUARTERS_STAGE_SANDBOX_LENGTH;
  const executorStart = sandboxStart - QUARTERS_EXECUTOR_LENGTH;
  const markerStart = executorStart - marker.length;
  if (markerStart < 0 || file.toString('latin1', markerStart, executorStart) !== marker) {
    throw new Error(`${__filename} is not the executor build ${QUARTERS_EXECUTOR_BUILD} that started (replaced by an update meanwhile?): start it again`);
  }
  // `//LINE\n` each: the first two characters of every line go, and the last newline.
  const executor = file.toString('latin1', executorStart + 2, sandboxStart - 1).replaceAll('\n//', '\n');
  return { executor, stageSandbox: { get base64() { return file.toString('latin1', sandboxStart + 2, end - 1); } } };
}

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
  const payload = readPayload();
  const script = new Script(`(function (exports, require, module, __filename, __dirname, __quartersStageSandbox) {${payload.executor}\n})`, {
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
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, __filename, __dirname, payload.stageSandbox);
}

launch();
