/**
 * The host stage's sandbox program (stage-sandbox.c), carried inside the executor's bundle so that the
 * executor stays one file: written out once to a root-only directory of work_dir (not /run, which
 * Debian mounts noexec), and run through the descriptor it was checked on, so that what runs is
 * byte for byte what this build carries, whatever becomes of the path in between. Anything there
 * that is not exactly that (another owner, a mode others may write, a second name, other bytes) is
 * replaced; when it cannot be, the stage does not run.
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync, lstatSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { SystemFailure } from './failure.js';

declare global {
  interface ImportMeta {
    /** Set by scripts/bundle-executor.js: the sandbox program (base64) and the start of its sha256. */
    QUARTERS_STAGE_SANDBOX?: string;
    QUARTERS_STAGE_SANDBOX_HASH?: string;
  }
}

const PREFIX = 'quarters-stage-sandbox-';

/** The program this build carries, and a name for its version. */
export interface StageSandboxProgram {
  bytes: Buffer;
  hash: string;
}

/** The program this build carries: in the bundle, or (unbundled, dist/executor/*.js) the file the build made beside it. */
function carried(): StageSandboxProgram {
  if (import.meta.QUARTERS_STAGE_SANDBOX && import.meta.QUARTERS_STAGE_SANDBOX_HASH) {
    return { bytes: Buffer.from(import.meta.QUARTERS_STAGE_SANDBOX, 'base64'), hash: import.meta.QUARTERS_STAGE_SANDBOX_HASH };
  }
  const file = new URL('./quarters-stage-sandbox', import.meta.url);
  try {
    return { bytes: readFileSync(file), hash: 'unbundled' };
  } catch (error) {
    throw new SystemFailure(`the host stage sandbox program ${file.pathname} is missing (npm run build makes it): ${(error as Error).message}`);
  }
}

/** The open program file, when it is root's alone, has one name and holds exactly `bytes`; else null. */
function openChecked(file: string, bytes: Buffer): number | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isFile() && stats.uid === 0 && (stats.mode & 0o077) === 0 && stats.nlink === 1 && stats.size === bytes.length && readFileSync(fd).equals(bytes)) return fd;
  } catch {
    // Unreadable: replaced below.
  }
  closeSync(fd);
  return null;
}

function install(dir: string, file: string, bytes: Buffer): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stats = lstatSync(dir);
  if (!stats.isDirectory() || stats.uid !== 0) throw new Error(`${dir} is not a directory of root's`);
  if ((stats.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  // Another build's program goes (a stage running it has it open already).
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(PREFIX) || name.endsWith('.tmp') || join(dir, name) === file) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // Removed by another start.
    }
  }
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o700);
  try {
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}

/**
 * Opens the sandbox program in `dir` (work_dir/stage-sandbox), writing it there first when it is
 * missing or not this build's; run it as /proc/self/fd/N with the descriptor given to the child as N.
 * The caller closes the descriptor. Throws a SystemFailure when it cannot be had.
 */
export function openStageSandbox(dir: string, program: StageSandboxProgram = carried()): { fd: number; file: string } {
  const { bytes, hash } = program;
  const file = join(dir, `${PREFIX}${hash}`);
  let fd = openChecked(file, bytes);
  if (fd === null) {
    try {
      install(dir, file, bytes);
    } catch (error) {
      throw new SystemFailure(`cannot write the host stage sandbox program ${file}: ${(error as Error).message}`);
    }
    fd = openChecked(file, bytes);
    if (fd === null) throw new SystemFailure(`the host stage sandbox program ${file} is not what the executor wrote there`);
  }
  return { fd, file };
}
