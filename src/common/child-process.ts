/**
 * Starting child processes (nspawn, setpriv, mount, tar, the CLI's decompressors, ...) with node:child_process.
 *
 * Not execa: GitLab Runner starts quarters-executor anew for every stage, and loading execa costs
 * about 50 ms of CPU per start (measured bundled, on the reference machine), which is per-job overhead
 * paid three times or more; every `quarters` command pays it too. What they need — a full
 * environment, stdio choices, output capture, and cancelling with a kill signal then SIGKILL — is this much.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { getSystemErrorName } from 'node:util';

export type StdioChoice = 'ignore' | 'inherit' | 'pipe';

export interface ProcessOptions {
  cwd?: string;
  /** The child's whole environment; the executor's own when absent. */
  env?: Readonly<Record<string, string | undefined>>;
  stdin?: StdioChoice;
  stdout?: StdioChoice;
  stderr?: StdioChoice;
  /** Open descriptors the child gets as its fds 3, 4, ... */
  extraFds?: readonly number[];
  /** Keep what the child writes to stdout/stderr (piped ones only) in the result; 'stderr' leaves stdout to the caller. */
  capture?: boolean | 'stderr';
  /** Aborting sends `killSignal`, then SIGKILL after `forceKillAfterMs` if the child is still there. */
  signal?: AbortSignal;
  killSignal?: NodeJS.Signals;
  forceKillAfterMs?: number;
}

export interface ProcessResult {
  /** The exit status; null when the child was ended by a signal or never started. */
  exitCode: number | null;
  /** The signal that ended the child, if one did. */
  signal: NodeJS.Signals | null;
  /** The abort signal fired while the child ran. */
  canceled: boolean;
  /** Why the child could not be started (e.g. the program is missing); null when it started. */
  startError: Error | null;
  /** Captured output (with `capture`): stdout, stderr, and both interleaved as written (stderr alone with 'stderr'). */
  stdout: string;
  stderr: string;
  output: string;
}

export interface StartedProcess {
  child: ChildProcess;
  result: Promise<ProcessResult>;
}

/** Starts `file` with `args`; `result` settles when the child has exited and its pipes are drained, never rejecting. */
export function startProcess(file: string, args: readonly string[], options: ProcessOptions = {}): StartedProcess {
  const stdio: StdioOptions = [options.stdin ?? 'ignore', options.stdout ?? 'pipe', options.stderr ?? 'pipe', ...(options.extraFds ?? [])];
  const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio });
  const out: string[] = [];
  const err: string[] = [];
  const both: string[] = [];
  if (options.capture === true) child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out.push(chunk), both.push(chunk)));
  if (options.capture) child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err.push(chunk), both.push(chunk)));
  let canceled = false;
  let forceKill: NodeJS.Timeout | undefined;
  const cancel = (): void => {
    canceled = true;
    child.kill(options.killSignal ?? 'SIGTERM');
    forceKill = setTimeout(() => child.kill('SIGKILL'), options.forceKillAfterMs ?? 5000);
    forceKill.unref();
  };
  if (options.signal?.aborted) queueMicrotask(cancel);
  else options.signal?.addEventListener('abort', cancel, { once: true });
  const result = new Promise<ProcessResult>((resolve) => {
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, startError: Error | null): void => {
      clearTimeout(forceKill);
      options.signal?.removeEventListener('abort', cancel);
      resolve({ exitCode, signal, canceled, startError, stdout: out.join(''), stderr: err.join(''), output: both.join('') });
    };
    child.once('error', (error) => {
      // 'error' without a pid: the child never started; with one, 'close' follows and tells how it ended.
      if (child.pid === undefined) finish(null, null, error);
    });
    child.once('close', (code, signal) => finish(code, signal, null));
  });
  return { child, result };
}

/** Runs `file` with `args` to the end; see startProcess. */
export function runProcess(file: string, args: readonly string[], options: ProcessOptions = {}): Promise<ProcessResult> {
  return startProcess(file, args, options).result;
}

/** A one-line account of how a process ended, for error messages. */
export function describeEnd(result: ProcessResult): string {
  if (result.startError) return `could not be started: ${result.startError.message}`;
  if (result.signal) return `was killed by ${result.signal}`;
  return `exited with status ${result.exitCode}`;
}

/** What a failed tool said on stderr (captured), or how it ended when it said nothing. */
export function whyFailed(result: ProcessResult): string {
  return result.stderr.trim().replace(/\.$/, '') || describeEnd(result);
}

/** Node's own process handle (what child_process drives), as far as runLeanProcess uses it. */
interface ProcessHandle {
  pid?: number;
  onexit: (exitCode: number, signalCode: string) => void;
  spawn(options: { file: string; args: string[]; cwd?: string; envPairs: string[]; stdio: ({ type: 'ignore' } | { type: 'fd'; fd: number })[] }): number;
  close(): void;
}

function processHandle(): (new () => ProcessHandle) | null {
  try {
    // Deprecated for modules (DEP0111, documentation-only in Node 20), and what child_process itself is built on.
    const binding = (process as unknown as { binding(name: string): { Process?: new () => ProcessHandle } }).binding('process_wrap');
    return binding.Process ?? null;
  } catch {
    return null;
  }
}

/**
 * runProcess for a child with no pipes (stdin /dev/null, stdout and stderr the executor's), started
 * through Node's process handle directly: loading child_process (with net, dgram and streams, which
 * only pipes need) cost some 4 ms of CPU per host stage, a start of the executor being ~50 ms. Where
 * the handle is missing (another Node), it is runProcess.
 */
export function runLeanProcess(file: string, args: readonly string[], options: Pick<ProcessOptions, 'env' | 'cwd' | 'extraFds' | 'signal' | 'killSignal' | 'forceKillAfterMs'> = {}): Promise<ProcessResult> {
  const Handle = processHandle();
  if (!Handle) return runProcess(file, args, { ...options, stdin: 'ignore', stdout: 'inherit', stderr: 'inherit' });
  const env = options.env ?? process.env;
  const child = new Handle();
  let canceled = false;
  let forceKill: NodeJS.Timeout | undefined;
  const result = new Promise<ProcessResult>((resolve) => {
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, startError: Error | null): void => {
      clearTimeout(forceKill);
      options.signal?.removeEventListener('abort', cancel);
      resolve({ exitCode, signal, canceled, startError, stdout: '', stderr: '', output: '' });
    };
    child.onexit = (exitCode, signalCode) => {
      child.close();
      finish(signalCode ? null : exitCode, (signalCode || null) as NodeJS.Signals | null, null);
    };
    const error = child.spawn({
      file,
      args: [file, ...args],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      envPairs: Object.entries(env).filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${value}`),
      stdio: [{ type: 'ignore' }, { type: 'fd', fd: 1 }, { type: 'fd', fd: 2 }, ...(options.extraFds ?? []).map((fd) => ({ type: 'fd' as const, fd }))],
    });
    if (error !== 0) {
      child.close();
      finish(null, null, new Error(`spawn ${file} ${getSystemErrorName(error)}`));
    }
  });
  const kill = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(child.pid, signal);
    } catch {
      // Gone already.
    }
  };
  function cancel(): void {
    canceled = true;
    kill(options.killSignal ?? 'SIGTERM');
    forceKill = setTimeout(() => kill('SIGKILL'), options.forceKillAfterMs ?? 5000);
    forceKill.unref();
  }
  if (options.signal?.aborted) queueMicrotask(cancel);
  else options.signal?.addEventListener('abort', cancel, { once: true });
  return result;
}
