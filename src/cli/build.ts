/**
 * `quarters build BUNDLE_DIR...`: builds bundles without GitLab, in dependency order, in the
 * executor's clean containers, into a local build set of the server's store and repositories.
 */
import { ConfigError, loadConfigFile } from '../common/config-file.js';
import type { Signer } from '../server/signing/signer.js';
import { CYCLE_REBUILDS, type CycleRebuild } from '../core/build-set/iteration.js';
import { SERVER_SECRET_KEYS, serverConfigSchema, type ServerConfig } from '../core/server-config.js';
import { executorConfigPath } from '../executor/config.js';
import { CommandError, UsageError } from './command.js';
import { readBundles } from './local-build/bundles.js';
import { openBuildHost } from './local-build/container.js';
import { plainProgress, terminalProgress, type Progress } from './local-build/progress.js';
import { runLocalBuild, type LocalBuildResult } from './local-build/run.js';

/** The options of `quarters build` (program.ts declares them). */
export interface BuildFlags {
  name?: string;
  branch?: string;
  arch?: string;
  jobs?: string;
  dataDir?: string;
  config?: string;
  executorConfig?: string;
  packager?: string;
  cycleRebuild?: string;
}

const DEFAULT_JOBS = 2;

function summary(result: LocalBuildResult): string {
  const rows = [['PKGBASE', 'STATE', 'REASON'], ...result.builds.map((b) => [b.pkgbase, b.state, b.reason ?? ''])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [
    ...rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()),
    `repository: ${result.repository}`,
    `served by quarters server as /repos/${result.namespace}/${result.iteration}/${result.arch}/ (and /repos/${result.namespace}/latest/${result.arch}/)`,
  ].join('\n');
}

function jobsFrom(text: string | undefined, config: ServerConfig | null): number {
  if (text === undefined) return config?.build.max_in_flight ?? DEFAULT_JOBS;
  if (!/^[1-9]\d{0,2}$/.test(text)) throw new UsageError(`quarters build: --jobs wants a number of builds from 1 to 999, not "${text}"`);
  return Number(text);
}

/** The server's signing key, for signing the local build set's repository as the server would; a key that cannot sign stops the build before it starts. */
async function openSigner(signing: NonNullable<ServerConfig['signing']>, dataDir: string, configFile: string): Promise<Signer> {
  const { Signer, SigningError } = await import('../server/signing/signer.js');
  let signer: Signer;
  try {
    signer = Signer.open(signing, dataDir);
  } catch (error) {
    if (error instanceof SigningError && error.configKey) throw new ConfigError(configFile, `signing.${error.configKey}`, error.message);
    throw error;
  }
  const problem = signer.problem();
  if (problem) {
    await signer.close();
    throw new CommandError(`${problem}: nothing would be published (see [signing] in ${configFile})`);
  }
  return signer;
}

/** Builds the bundles; resolves to 0 when everything was built, 1 otherwise, 130 when stopped by a signal. */
export async function runBuild(positional: string[], options: BuildFlags): Promise<number> {
  if (positional.length === 0) throw new UsageError('quarters build: give at least one bundle directory (quarters build --help)');
  const configFile = options.config ?? (process.env.QUARTERS_CONFIG || undefined);
  const config = configFile ? loadConfigFile(serverConfigSchema, configFile, SERVER_SECRET_KEYS) : null;
  const dataDir = options.dataDir ?? config?.data_dir;
  if (!dataDir) throw new UsageError('quarters build: give --data-dir DIR, or --config FILE (or QUARTERS_CONFIG) of the server whose data_dir to build into');
  const jobs = jobsFrom(options.jobs, config);
  const cycleRebuild = options.cycleRebuild ?? config?.build.cycle_rebuild ?? 'none';
  if (!(CYCLE_REBUILDS as readonly string[]).includes(cycleRebuild)) throw new UsageError(`quarters build: --cycle-rebuild is ${CYCLE_REBUILDS.join(' or ')}, not "${cycleRebuild}"`);
  const bundles = await readBundles(positional);
  const flavour = bundles[0]!.flavour;
  if (config && config.build.flavour !== flavour) throw new CommandError(`the bundles are ${flavour} recipes, but ${configFile} serves ${config.build.flavour} repositories`);
  if (process.getuid?.() !== 0) throw new CommandError('quarters build runs clean containers (overlayfs, systemd-nspawn): run it as root');

  let waves = 0;
  const progress: Progress = process.stderr.isTTY
    ? terminalProgress((text) => process.stderr.write(text), () => waves)
    : plainProgress((text) => process.stderr.write(text));
  for (const bundle of bundles) for (const warning of bundle.warnings) progress.note(`warning: ${warning}`);
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    progress.note(`received ${signal}: stopping the running builds`);
    controller.abort(new Error(signal));
  };
  // `on`, not `once`: a second Ctrl-C must not kill us before the containers are torn down.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let signer: Signer | null = null;
  try {
    if (config?.signing) signer = await openSigner(config.signing, dataDir, configFile!);
    const host = await openBuildHost(options.executorConfig ?? executorConfigPath(), options.branch, (line) => progress.note(line));
    const arch = options.arch;
    if (arch !== undefined && arch !== host.arch) throw new CommandError(`--arch ${arch}: this host builds for ${host.arch} (arch in the executor config)`);
    const result = await runLocalBuild({
      bundles, host, dataDir, jobs, cycleRebuild: cycleRebuild as CycleRebuild, signal: controller.signal, allowUnverifiedDeps: process.env.QUARTERS_ALLOW_UNVERIFIED_DEPS === '1',
      debBuildOptions: config?.build.deb_build_options ?? '', debBuildProfiles: config?.build.deb_build_profiles ?? [],
      packager: options.packager ?? process.env.QUARTERS_PACKAGER ?? null,
      ...(options.name !== undefined ? { name: options.name } : {}),
      progress: { ...progress, planned: (info) => { waves = info.waves.length; progress.planned(info); } },
      signer,
    });
    progress.close();
    process.stdout.write(`${summary(result)}\n`);
    if (controller.signal.aborted) return 130;
    return result.builds.every((b) => b.state === 'built') ? 0 : 1;
  } finally {
    await signer?.close();
    progress.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
