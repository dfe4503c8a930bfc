#!/usr/bin/env node
/**
 * `quarters-executor`: GitLab Runner's custom executor (config, prepare, run, cleanup) and the
 * operator's commands (baseos, cleanup --stale|all|baseos|packages|INSTANCE). Protocol commands exit with
 * BUILD_FAILURE_EXIT_CODE or SYSTEM_FAILURE_EXIT_CODE; operator commands with 1 (2 for bad usage).
 */
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { BaseVersion } from './baseos/store.js';
import { BuildFailure, exitCodesFrom, SystemFailure } from './failure.js';

// Each command loads only its own modules, the session's included: the runner starts a process per
// stage, so startup time is per-job overhead (npm run bench:executor-start). Keep static imports here light.

class UsageError extends Error {
  override name = 'UsageError';
}

/** Whether an error's message says all a user needs (bad usage, config, base OS, a lock): else its stack is shown. */
async function saysItAll(error: unknown): Promise<boolean> {
  if (error instanceof UsageError || error instanceof SystemFailure) return true;
  // Loaded here, on failure only: each brings its module along.
  const [{ ConfigError }, { BaseOsError }, { LockTimeout }] = await Promise.all([import('../core/config-text.js'), import('./baseos/store.js'), import('./lock.js')]);
  return error instanceof ConfigError || error instanceof BaseOsError || error instanceof LockTimeout;
}

const USAGE = `usage:
  quarters-executor config | prepare | run SCRIPT STAGE | cleanup      (GitLab Runner custom executor)
  quarters-executor cleanup --stale [--older-than MINUTES]
  quarters-executor cleanup all | packages [--older-than MINUTES]      (packages: cached packages no job uses)
  quarters-executor cleanup baseos | INSTANCE                          (INSTANCE: BRANCH-ARCH, e.g. stable-x86_64)
  quarters-executor baseos load --tarball FILE
  quarters-executor baseos load --debootstrap SUITE --mirror URL [--include PKG,PKG]
  quarters-executor baseos load --busybox
  quarters-executor baseos update [--branch BRANCH]
  quarters-executor baseos list
config: $QUARTERS_EXECUTOR_CONFIG (default /etc/quarters/executor.toml)`;

const DEFAULT_STALE_MINUTES = 24 * 60;

/** Writes to stdout without process.stdout: making that stream (net, streams) costs `config` and `--help`, which write one answer, some 3 ms of their start. */
function writeStdout(text: string): void {
  const bytes = Buffer.from(text);
  for (let written = 0; written < bytes.length; ) {
    try {
      written += writeSync(1, bytes, written);
    } catch (error) {
      // A non-blocking pipe that is full: the runner reads it.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

/** Runs a protocol command; maps failures to the runner's exit codes. */
async function protocol(fn: () => Promise<void>): Promise<number> {
  const codes = exitCodesFrom(process.env);
  try {
    await fn();
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof BuildFailure) {
      process.stderr.write(`quarters-executor: ${message}\n`);
      return codes.build;
    }
    process.stderr.write(`quarters-executor: system failure: ${(await saysItAll(error)) ? message : ((error as Error)?.stack ?? message)}\n`);
    return codes.system;
  }
}

/** `run`: SIGTERM/SIGINT (the runner's cancel or timeout) stop the stage; the container goes with it. */
async function run(script: string, stage: string): Promise<number> {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) return;
    process.stderr.write(`quarters-executor: received ${signal}, stopping stage ${stage}\n`);
    controller.abort(new Error(signal));
  };
  // `on`, not `once`: a second SIGTERM must not fall back to the default action, killing us before the container is down.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return protocol(async () => {
    const [{ runStage }, { openJobContext }] = await Promise.all([import('./protocol/run.js'), import('./session.js')]);
    // The backend loads only for a guest stage.
    await runStage(await openJobContext(), script, stage, controller.signal);
  });
}

async function cleanup(args: string[]): Promise<number> {
  const { backendFor, openJobContext, openSession } = await import('./session.js');
  if (args.length === 0) {
    const { cleanupJob } = await import('./protocol/cleanup-job.js');
    // Who the job is suffices (its other variables were validated by config and prepare); the backend tears its environment down.
    return protocol(async () => {
      const context = await openJobContext();
      await cleanupJob({ ...context, backend: await backendFor(context.config) });
    });
  }
  const { cleanupAll, cleanupBaseos, cleanupInstance, cleanupPackages, cleanupStale } = await import('./protocol/cleanup.js');
  const { values, positionals } = parseArgs({ args, options: { stale: { type: 'boolean' }, 'older-than': { type: 'string' } }, allowPositionals: true });
  const session = await openSession();
  const olderThan = values['older-than'] === undefined ? DEFAULT_STALE_MINUTES : Number(values['older-than']);
  if (!Number.isFinite(olderThan) || olderThan < 0) throw new UsageError(`--older-than wants minutes, not "${values['older-than']}"`);
  let removed: string[];
  if (values.stale) removed = await cleanupStale(session, olderThan * 60_000);
  else if (positionals.length !== 1) throw new UsageError('cleanup takes --stale, or one of: all, baseos, packages, INSTANCE');
  else if (positionals[0] === 'all') removed = await cleanupAll(session, olderThan * 60_000);
  else if (positionals[0] === 'baseos') removed = await cleanupBaseos(session);
  else if (positionals[0] === 'packages') removed = await cleanupPackages(session, olderThan * 60_000);
  else removed = await cleanupInstance(session, positionals[0]);
  process.stdout.write(removed.length ? `${removed.map((r) => `removed ${r}`).join('\n')}\n` : 'nothing to remove\n');
  return 0;
}

async function baseos(args: string[]): Promise<number> {
  const { BaseOsStore } = await import('./baseos/store.js');
  const { loadBusybox, loadDebootstrap, loadTarball } = await import('./baseos/load.js');
  const { updateBase } = await import('./backends/nspawn/base-update.js');
  const { InstanceStore } = await import('./instance.js');
  const { checkGuestIds } = await import('./guest-ids.js');
  const { guestIdBase } = await import('./guest-ids.js');
  const { openSession } = await import('./session.js');
  const [action, ...rest] = args;
  const session = await openSession();
  const store = new BaseOsStore(session.layout);
  // Now rather than in the first job: what the backend runs from (a copy owned by the guests' ids, a VM's boot disk).
  const forGuests = async (base: BaseVersion): Promise<void> => {
    if (session.backend.idBase !== null) checkGuestIds(session.backend.idBase, null);
    const image = await session.backend.prepareBase(store, base, session.log);
    if (image.path !== base.root) process.stdout.write(`made its ${session.backend.name} image ${image.path}\n`);
  };
  if (action === 'list') {
    const current = (await store.current())?.version;
    for (const version of await store.versions()) {
      const meta = await store.meta(version);
      process.stdout.write(`${version === current ? '*' : ' '} ${version}  ${meta?.source ?? ''}\n`);
    }
    return 0;
  }
  if (action === 'load') {
    const { values } = parseArgs({ args: rest, options: { tarball: { type: 'string' }, debootstrap: { type: 'string' }, mirror: { type: 'string' }, include: { type: 'string' }, busybox: { type: 'boolean' } } });
    const sources = [values.tarball, values.debootstrap, values.busybox].filter((v) => v !== undefined);
    if (sources.length !== 1) throw new UsageError('baseos load wants exactly one of --tarball FILE, --debootstrap SUITE --mirror URL, --busybox');
    let loaded;
    if (values.tarball) loaded = await loadTarball(store, values.tarball);
    else if (values.busybox) loaded = await loadBusybox(store);
    else {
      if (!values.mirror) throw new UsageError('--debootstrap SUITE needs --mirror URL');
      loaded = await loadDebootstrap(store, values.debootstrap!, values.mirror, values.include?.split(',').filter(Boolean) ?? [], session.log);
    }
    process.stdout.write(`loaded base OS ${loaded.version}\n`);
    await forGuests(loaded);
    return 0;
  }
  if (action === 'update') {
    const { values } = parseArgs({ args: rest, options: { branch: { type: 'string' } } });
    const branch = values.branch ?? session.config.default_branch;
    const list = new InstanceStore(session.layout, session.config, session.backend).sourceList(branch);
    const updated = await updateBase(store, guestIdBase(session.config), list, session.config.instance.package_manager, session.log);
    process.stdout.write(`updated base OS to ${updated.version}\n`);
    await forGuests(updated);
    return 0;
  }
  throw new UsageError(`unknown baseos action "${action ?? ''}" (list, load, update)`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'config':
      return protocol(async () => {
        const [{ configAnswer }, { openJobContext, jobWithVariables }] = await Promise.all([import('./protocol/config-command.js'), import('./session.js')]);
        const context = await openJobContext();
        // All of the job's variables, at its first command: a job with a bad one stops here.
        writeStdout(`${JSON.stringify(configAnswer({ ...context, job: await jobWithVariables(context) }))}\n`);
      });
    case 'prepare':
      return protocol(async () => {
        const [{ prepare }, { openJobSession }] = await Promise.all([import('./protocol/prepare.js'), import('./session.js')]);
        await prepare(await openJobSession());
      });
    case 'run':
      if (args.length < 2) throw new UsageError('run wants SCRIPT STAGE');
      // The runner puts run_args first; the script and the stage are always the last two.
      return run(args[args.length - 2]!, args[args.length - 1]!);
    case 'cleanup':
      return cleanup(args);
    case 'baseos':
      return baseos(args);
    case '--help':
    case '-h':
      writeStdout(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  async (error: unknown) => {
    process.stderr.write(`quarters-executor: ${(await saysItAll(error)) ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`);
    if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
