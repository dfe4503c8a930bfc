/**
 * `quarters build`'s engine: plans the bundles with the graph engine into a new iteration of a local
 * build set in the server's store, then builds ready builds (dependencies built) up to `jobs` at a
 * time, each in a clean container that sees the build set's repository, adding each build's
 * packages to that repository. States move through the same state machine the server uses, so a
 * failure marks its dependants dependency-failed with the root cause.
 */
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { transition, type BuildEvent } from '../../core/build-state.js';
import { checkArtifactName } from '../../core/build-set/artifact-name.js';
import { buildLogPath } from '../../core/build-set/log-path.js';
import { buildProducts } from '../../core/build-set/build-products.js';
import type { CycleRebuild } from '../../core/build-set/iteration.js';
import { BuildSetError, checkBuildSetName } from '../../core/build-set/origin.js';
import { planBuildSet, type BuildSetPlan } from '../../core/graph/plan.js';
import { createLogger } from '../../common/log.js';
import { sha256File } from '../../executor/upload.js';
import { BuildSetEngine, type DispatchContext, type Dispatcher, type PlanningRecipe } from '../../server/build-sets/engine.js';
import { BuildStore, type BuildRow, type NamespaceRow } from '../../server/store/build-store.js';
import { openDatabase } from '../../server/store/database.js';
import { Repositories, syncDir } from '../../server/artifacts/repository.js';
import type { Signer } from '../../server/signing/signer.js';
import { checkPackageFile, PackageRefused } from '../../server/artifacts/package-check.js';
import { CommandError } from '../command.js';
import type { Bundle } from './bundles.js';
import { buildInContainer, type BuildHost } from './container.js';
import type { Progress } from './progress.js';

export interface LocalBuildOptions {
  bundles: Bundle[];
  host: BuildHost;
  dataDir: string;
  /** The build set; a new one named after the first bundle when absent. An existing local one gets a new iteration. */
  name?: string;
  jobs: number;
  packager: string | null;
  /** Whether a dependency cycle's members are built a second time against each other's new packages. */
  cycleRebuild?: CycleRebuild;
  /** Passed to the driver: build with --nodeps where pacman cannot check a dependency (Arch on a Debian base). */
  allowUnverifiedDeps: boolean;
  /** Debian: `[build] deb_build_options` and `deb_build_profiles` of the server config (the profiles plan too). */
  debBuildOptions?: string;
  debBuildProfiles?: readonly string[];
  progress: Progress;
  signal: AbortSignal;
  /** Signs the build set's repository, as the server does ([signing] of --config); null or absent: unsigned. */
  signer?: Signer | null;
}

export interface LocalBuildResult {
  namespace: string;
  iteration: number;
  arch: string;
  builds: BuildRow[];
  /** The build set's repository on disk. */
  repository: string;
}

/** Where a build's full log is kept (everything the container printed); the driver's own logs go in the directory of the same name. */
export function logPathOf(dataDir: string, namespace: string, iteration: number, build: Pick<BuildRow, 'arch' | 'pkgbase'>): string {
  return join(dataDir, buildLogPath(namespace, iteration, build.arch, build.pkgbase));
}

/** The local build set to add an iteration to: the named one (which must be local) or a new one. */
function namespaceFor(store: BuildStore, options: LocalBuildOptions, origins: string[]): NamespaceRow {
  const name = options.name ?? `local-${options.bundles[0]!.recipe.pkgbase}-${Date.now().toString(36)}`;
  checkBuildSetName(name);
  const existing = store.namespaceByName(name);
  if (existing && existing.kind !== 'local') throw new CommandError(`build set "${name}" exists and is a ${existing.kind} build set of the server; choose another --name`);
  if (existing) {
    store.updateNamespaceOrigin(existing.id, origins, options.packager);
    return store.namespaceById(existing.id)!;
  }
  return store.createNamespace({ name, origin: origins, kind: 'local', packager: options.packager, target_branch: options.host.branch, mr_project_id: null, mr_iid: null });
}

/**
 * Runs each dispatched build in a container right away and reports its outcome to the engine; up to
 * `jobs` at once, as the engine's max in flight. Nothing carries over while running: a local build
 * left in flight belongs to a run that died.
 */
class LocalDispatcher implements Dispatcher {
  readonly carriesInFlight = false;
  private readonly running = new Map<number, { done: Promise<void>; stop: AbortController }>();
  engine!: BuildSetEngine;
  /** Each pkgbase's wave (1-based), once planned. */
  waves = new Map<string, number>();

  constructor(private readonly options: LocalBuildOptions) {}

  async dispatch(build: BuildRow, context: DispatchContext): Promise<BuildEvent> {
    if (this.options.signal.aborted) return { type: 'pipeline-canceled' };
    const stop = new AbortController();
    const wave = this.waves.get(build.pkgbase) ?? 0;
    this.options.progress.started({ pkgbase: build.pkgbase, wave });
    const done = this.run(build, context, AbortSignal.any([this.options.signal, stop.signal]))
      .then((event) => this.engine.locked(context.namespace.id, () => this.engine.apply(build.id, event)))
      .then(() => undefined)
      .finally(() => this.running.delete(build.id));
    this.running.set(build.id, { done, stop });
    return { type: 'pipeline-running' };
  }

  async cancel(build: BuildRow): Promise<void> {
    this.running.get(build.id)?.stop.abort(new Error('superseded'));
  }

  /** Resolves when no build runs any more (each finished build may have started the next). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.race([...this.running.values()].map((r) => r.done));
  }

  private async run(build: BuildRow, context: DispatchContext, signal: AbortSignal): Promise<BuildEvent> {
    const { options } = this;
    const iteration = context.iteration;
    const logPath = logPathOf(options.dataDir, context.namespace.name, iteration, build);
    const began = Date.now();
    const packages: string[] = [];
    const repository = this.engine.repositories.dir(context.namespace.name, iteration, build.arch);
    const flavour = options.bundles[0]!.flavour;
    await mkdir(dirname(logPath), { recursive: true });
    const log = createWriteStream(logPath);
    let outcome: { built: true } | { built: false; reason: string };
    try {
      outcome = await buildInContainer(options.host, {
        name: `ql-${process.pid}-b${build.id}`,
        bundle: options.bundles.find((b) => b.recipe.pkgbase === build.pkgbase)!,
        repository: (await stat(join(repository, flavour === 'pkgbuild' ? 'quarters.db' : 'Packages')).catch(() => null)) ? repository : null,
        variables: driverVariables(options, { flavour, ns: context.namespace.name, iteration, build }),
        log,
        driverLogDir: logPath.replace(/\.log$/, ''),
        signal,
        collect: async (outputDir, files) => {
          await this.collect(build, outputDir, files);
          packages.push(...files);
        },
      });
    } catch (error) {
      // The reason stays one line (it is the dependants' reason too); the log gets the whole story.
      outcome = { built: false, reason: error instanceof CommandError ? error.message : `quarters: ${(error as Error).message ?? String(error)}` };
      log.write(`${error instanceof CommandError ? error.message : ((error as Error).stack ?? String(error))}\n`);
    }
    log.end();
    await finished(log);
    const event: BuildEvent = outcome.built ? { type: 'pipeline-succeeded' } : signal.aborted ? { type: 'pipeline-canceled' } : { type: 'pipeline-failed', reason: outcome.reason };
    const state = event.type === 'pipeline-succeeded' ? 'built' : event.type === 'pipeline-canceled' ? 'cancelled' : 'failed';
    options.progress.finished({
      pkgbase: build.pkgbase, wave: this.waves.get(build.pkgbase) ?? 0, state, reason: outcome.built ? null : outcome.reason,
      seconds: (Date.now() - began) / 1000, logPath, packages,
    });
    return event;
  }

  /** Copies a build's output into the pool, then stores it as an upload would be. */
  private async collect(build: BuildRow, outputDir: string, files: string[]): Promise<void> {
    const flavour = this.options.bundles[0]!.flavour;
    const stored = [];
    const products = build.products ?? buildProducts(this.options.bundles.find((b) => b.recipe.pkgbase === build.pkgbase)!.recipe, build.arch);
    for (const filename of files) {
      const name = checkArtifactName(filename, flavour, build.arch);
      if (!name.ok) throw new CommandError(`the build's output cannot go into the repository: ${name.reason}`);
      const pool = this.engine.repositories.poolPath(build.id, filename);
      await mkdir(dirname(pool), { recursive: true });
      await copyFile(join(outputDir, filename), `${pool}.part`);
      // copyFile keeps the mode, setuid bits included, and the copy is root's: a package is data.
      await chmod(`${pool}.part`, 0o644);
      // The copy is what the repository gets, so the copy is what is checked.
      await checkPackageFile(flavour, `${pool}.part`, filename, name.value, build, products).catch(async (error: unknown) => {
        await rm(`${pool}.part`, { force: true });
        throw error instanceof PackageRefused ? new CommandError(`the build's output cannot go into the repository: ${error.message}`) : error;
      });
      await rename(`${pool}.part`, pool);
      await syncDir(dirname(pool));
      stored.push({ poolPath: pool, filename, sha256: await sha256File(pool), size: (await stat(pool)).size, jobId: 0 });
    }
    await this.engine.storeArtifacts(build, stored);
  }
}

/** Plans and builds through the build-set engine; resolves when every build has settled (or the signal stopped the run). */
export async function runLocalBuild(options: LocalBuildOptions): Promise<LocalBuildResult> {
  const { bundles, host, progress } = options;
  const arch = host.arch;
  const flavour = bundles[0]!.flavour;
  const db = openDatabase(options.dataDir);
  try {
    const store = new BuildStore(db);
    const repositories = new Repositories(options.dataDir, flavour, options.signer ?? null);
    const dispatcher = new LocalDispatcher(options);
    let plan: BuildSetPlan | null = null;
    const engine = new BuildSetEngine(store, repositories, (universe, o) => (plan = planBuildSet(universe, o)), {
      flavour, architectures: [arch], maxInFlight: options.jobs, cycleRebuild: options.cycleRebuild ?? 'none',
      profiles: flavour === 'debian' ? options.debBuildProfiles ?? [] : [],
    }, dispatcher, createLogger({ name: 'quarters-build', level: 'silent' }));
    dispatcher.engine = engine;
    engine.onPropagated = (changes, builds) => {
      for (const c of changes) if (c.to === 'dependency-failed' && c.from !== c.to) progress.skipped(builds.find((b) => b.id === c.id)!.pkgbase, c.reason ?? 'a dependency failed');
    };
    const ns = namespaceFor(store, options, bundles.map((b) => `${b.recipe.pkgbase}@${host.branch}`));
    const recipes = new Map<string, PlanningRecipe>(bundles.map((b) => [b.recipe.pkgbase, { pkgbase: b.recipe.pkgbase, branch: host.branch, projectId: 0, projectPath: b.dir, sha: b.digest, recipe: b.recipe }]));
    const previous = store.latestIteration(ns.id);
    const iteration = await engine.locked(ns.id, async () => {
      let planned;
      try {
        planned = await engine.planIteration(ns, { recipes, origins: [...recipes.keys()], reason: previous ? 'local build (new bundles)' : 'local build' });
      } catch (error) {
        if (error instanceof BuildSetError) throw new CommandError(`cannot plan the bundles: ${error.message}`);
        throw error;
      }
      const waves = (plan as BuildSetPlan | null)?.waves ?? [];
      waves.forEach((wave, i) => wave.forEach((pkgbase) => dispatcher.waves.set(pkgbase, i + 1)));
      const carried = store.builds(planned.id).filter((b) => b.reused_from !== null && b.state === 'built');
      progress.planned({ namespace: ns.name, iteration: planned.number, arch, waves, carried: carried.map((b) => b.pkgbase) });
      for (const cycle of planned.cycles) {
        const edges = cycle.cut_edges.map((e) => `${e.from} → ${e.to}`).join(', ');
        progress.note(`dependency cycle ${cycle.members.join(' ⇄ ')}: building in the order ${cycle.build_order.join(', ')}; ${edges} must come from the base OS${cycle.rebuild === 'once' ? ', then each member again against the others\' new packages' : ''}`);
      }
      await engine.settle(ns.id);
      return planned;
    });
    await dispatcher.idle();
    if (options.signal.aborted) {
      store.transaction(() => store.builds(iteration.id).forEach((b) => {
        const result = transition(b.state, { type: 'cancel' });
        if (result.outcome === 'moved') store.setState(b.id, result.state, result.reason);
      }));
    }
    return { namespace: ns.name, iteration: iteration.number, arch, builds: store.builds(iteration.id), repository: repositories.dir(ns.name, iteration.number, arch) };
  } finally {
    db.close();
  }
}

/** The QUARTERS_* variables the driver sees, as the server would set them for a pipeline. */
function driverVariables(options: LocalBuildOptions, at: { flavour: string; ns: string; iteration: number; build: BuildRow }): Record<string, string> {
  return {
    QUARTERS_FLAVOUR: at.flavour,
    QUARTERS_NAMESPACE: at.ns,
    QUARTERS_ITERATION: String(at.iteration),
    QUARTERS_BUILD_ID: String(at.build.id),
    QUARTERS_PKGBASE: at.build.pkgbase,
    QUARTERS_ARCH: at.build.arch,
    QUARTERS_TARGET_BRANCH: options.host.branch,
    ...(options.packager ? { QUARTERS_PACKAGER: options.packager } : {}),
    ...(options.allowUnverifiedDeps ? { QUARTERS_ALLOW_UNVERIFIED_DEPS: '1' } : {}),
    ...(at.flavour === 'debian' && options.debBuildOptions ? { QUARTERS_DEB_BUILD_OPTIONS: options.debBuildOptions } : {}),
    ...(at.flavour === 'debian' && options.debBuildProfiles?.length ? { QUARTERS_DEB_BUILD_PROFILES: options.debBuildProfiles.join(' ') } : {}),
  };
}
