/** Everything one executor command works with: the config, the layout, the backend, the job, the exit codes. */
import { readFileSync } from 'node:fs';
import type { ExecutorConfig } from './config.js';
import { executorConfigPath, openExecutorConfig } from './config-load.js';
import { guestIdBase } from './guest-ids.js';
import type { Backend } from './environment.js';
import { exitCodesFrom, type ExitCodes } from './failure.js';
import { jobIdentityFromEnv, type Job, type JobIdentity } from './job.js';
import { layoutOf, type Layout } from './layout.js';

/** Room a VM's disk has for what a job writes when limits.disk_mib is 0 (a VM's disk has a size). */
const VM_DISK_SPARE_MIB = 20 * 1024;

export interface Session {
  config: ExecutorConfig;
  layout: Layout;
  backend: Backend;
  codes: ExitCodes;
  env: NodeJS.ProcessEnv;
  /** A line for the job log (stderr: stdout belongs to `config`'s JSON answer). */
  log: (line: string) => void;
}

export interface JobSession extends Session {
  job: Job;
}

/** Who the job is, without its backend or its other variables validated: what a host stage's `run` and `cleanup` need. */
export interface JobContext extends Omit<Session, 'backend'> {
  job: JobIdentity;
}

/** The backend the config names; only its modules load (each backend's are a few ms of every start). */
export async function backendFor(config: ExecutorConfig): Promise<Backend> {
  if (config.backend === 'qemu') {
    const { qemuBackend } = await import('./backends/qemu/index.js');
    return qemuBackend(config.qemu, config.limits.disk_mib > 0 ? config.limits.disk_mib : VM_DISK_SPARE_MIB);
  }
  const { nspawnBackend } = await import('./backends/nspawn/index.js');
  return nspawnBackend(guestIdBase(config));
}

declare global {
  interface ImportMeta {
    /** Set by scripts/bundle-executor.js: the bundle may run far from package.json. */
    QUARTERS_VERSION?: string;
  }
}

/** The executor's own version: built into the bundle, or read from package.json. */
export function executorVersion(): string {
  if (import.meta.QUARTERS_VERSION) return import.meta.QUARTERS_VERSION;
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function openContext(env: NodeJS.ProcessEnv): Promise<Omit<Session, 'backend'>> {
  const config = await openExecutorConfig(executorConfigPath(env));
  return { config, layout: layoutOf(config), codes: exitCodesFrom(env), env, log: (line) => process.stderr.write(`${line}\n`) };
}

/** Loads the config named by the environment; config problems are system failures naming file and key. */
export async function openSession(env: NodeJS.ProcessEnv = process.env): Promise<Session> {
  const context = await openContext(env);
  return { ...context, backend: await backendFor(context.config) };
}

/** Who the job is, for a command that may start no environment: neither a backend's modules nor zod load. */
export async function openJobContext(env: NodeJS.ProcessEnv = process.env): Promise<JobContext> {
  const context = await openContext(env);
  return { ...context, job: jobIdentityFromEnv(env, context.config.default_branch) };
}

/** The job with every variable validated (job-variables.ts); a bad one is a SystemFailure naming it. */
export async function jobWithVariables(context: JobContext): Promise<Job> {
  const { jobFromEnv } = await import('./job-variables.js');
  return jobFromEnv(context.env, context.config.default_branch);
}

/** The job's whole session: every variable validated, and its backend. */
export async function withBackend(context: JobContext): Promise<JobSession> {
  return { ...context, job: await jobWithVariables(context), backend: await backendFor(context.config) };
}

/** A session for the job described by the CUSTOM_ENV_* variables. */
export async function openJobSession(env: NodeJS.ProcessEnv = process.env): Promise<JobSession> {
  return withBackend(await openJobContext(env));
}
