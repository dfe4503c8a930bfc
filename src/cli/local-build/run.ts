/**
 * `quarters build`'s engine: plans the bundles with the graph engine into a new iteration of a local
 * build set in the server's store, then builds ready builds (dependencies built) up to `jobs` at a
 * time, each in a clean container that sees the build set's repository, adding each build's
 * packages to that repository. States move through the same state machine the server uses, so a
 * failure marks its dependants dependency-failed with the root cause.
 */
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { propagate, selectForDispatch, transition, type BuildEvent, type BuildNode } from '../../core/build-state.js';
import { planBuildSet, UnknownSourceError, type BuildSetPlan } from '../../core/graph/plan.js';
import { sha256File } from '../../executor/upload.js';
import { checkArtifactName } from '../../server/artifact-name.js';
import { isBuildSetName } from '../../server/build-sets.js';
import { BuildStore, type BuildRow, type NamespaceRow, type NewBuild } from '../../server/build-store.js';
import { openDatabase } from '../../server/database.js';
import { iterationBuilds } from '../../server/iteration-plan.js';
import { addCarriedBuilds, Repositories, syncDir } from '../../server/repository.js';
import type { IndexedRecipe } from '../../server/source-index.js';
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
  /** Passed to the driver: build with --nodeps where pacman cannot check a dependency (Arch on a Debian base). */
  allowUnverifiedDeps: boolean;
  progress: Progress;
  signal: AbortSignal;
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
  return join(dataDir, 'logs', namespace, String(iteration), build.arch, `${build.pkgbase}.log`);
}

function plan(bundles: Bundle[], arch: string): BuildSetPlan {
  try {
    return planBuildSet({ flavour: bundles[0]!.flavour, sources: bundles.map((b) => b.recipe) }, { arch, origins: bundles.map((b) => b.recipe.pkgbase) });
  } catch (error) {
    if (error instanceof UnknownSourceError) throw new CommandError(`cannot plan the bundles on ${arch}: ${error.message}`);
    throw error;
  }
}

/** The local build set to add an iteration to: the named one (which must be local) or a new one. */
function namespaceFor(store: BuildStore, options: LocalBuildOptions, origins: string[]): NamespaceRow {
  const name = options.name ?? `local-${options.bundles[0]!.recipe.pkgbase}-${Date.now().toString(36)}`;
  if (!isBuildSetName(name)) throw new CommandError(`"${name}" is not a build set name: letters, digits, . _ + - (up to 100), starting with a letter or digit`);
  const existing = store.namespaceByName(name);
  if (existing && existing.kind !== 'local') throw new CommandError(`build set "${name}" exists and is a ${existing.kind} build set of the server; choose another --name`);
  if (existing) {
    store.updateNamespaceOrigin(existing.id, origins, options.packager);
    return store.namespaceById(existing.id)!;
  }
  return store.createNamespace({ name, origin: JSON.stringify(origins), kind: 'local', packager: options.packager, target_branch: options.host.branch, mr_project_id: null, mr_iid: null });
}

/** Plans and builds; resolves when every build has settled (or the signal stopped the run). */
export async function runLocalBuild(options: LocalBuildOptions): Promise<LocalBuildResult> {
  const { bundles, host, progress } = options;
  const arch = host.arch;
  const flavour = bundles[0]!.flavour;
  const thePlan = plan(bundles, arch);
  const db = openDatabase(options.dataDir);
  try {
    const store = new BuildStore(db);
    const repositories = new Repositories(options.dataDir, flavour);
    const ns = namespaceFor(store, options, bundles.map((b) => `${b.recipe.pkgbase}@${host.branch}`));
    const recipes = new Map<string, IndexedRecipe>(bundles.map((b) => [b.recipe.pkgbase, {
      pkgbase: b.recipe.pkgbase, branch: host.branch, projectId: 0, projectPath: b.dir, dir: '', sha: b.digest, isDefault: true, recipe: b.recipe,
    }]));
    // Only finished builds carry over: a local build left building belongs to a run that died.
    const previous = store.latestIteration(ns.id);
    const previousBuilt = previous ? store.builds(previous.id).filter((b) => b.state === 'built') : [];
    const builds = withoutClosingEdges(iterationBuilds(arch, thePlan, recipes, previousBuilt, options.packager), thePlan, progress);
    const findings = { cycles: thePlan.cycles.map((c) => ({ arch, members: c.members })), unresolved: thePlan.unresolved.map((u) => ({ arch, ...u })) };
    const iteration = store.addIteration(ns.id, previous ? 'local build (new bundles)' : 'local build', findings, builds);
    const carried = store.builds(iteration.id).filter((b) => b.reused_from !== null && b.state === 'built');
    await addCarriedBuilds(repositories, store, ns.name, iteration.number, carried);
    progress.planned({ namespace: ns.name, iteration: iteration.number, arch, waves: thePlan.waves, carried: carried.map((b) => b.pkgbase) });

    const wave = new Map(thePlan.packages.map((p) => [p.pkgbase, p.wave + 1]));
    const bundleOf = new Map(bundles.map((b) => [b.recipe.pkgbase, b]));
    const repository = repositories.dir(ns.name, iteration.number, arch);
    const move = (build: BuildRow, event: BuildEvent): void => {
      const result = transition(build.state, event);
      if (result.outcome === 'moved') store.setState(build.id, result.state, result.reason);
    };
    const running = new Map<number, Promise<void>>();

    const start = (build: BuildRow): void => {
      move(build, { type: 'dispatch' });
      move(store.build(build.id)!, { type: 'pipeline-running' });
      progress.started({ pkgbase: build.pkgbase, wave: wave.get(build.pkgbase)! });
      const logPath = logPathOf(options.dataDir, ns.name, iteration.number, build);
      const began = Date.now();
      const packages: string[] = [];
      const run = async (): Promise<void> => {
        await mkdir(dirname(logPath), { recursive: true });
        const log = createWriteStream(logPath);
        let outcome: { built: true } | { built: false; reason: string };
        try {
          outcome = await buildInContainer(host, {
            name: `ql-${process.pid}-b${build.id}`,
            bundle: bundleOf.get(build.pkgbase)!,
            repository: (await stat(join(repository, flavour === 'pkgbuild' ? 'quarters.db' : 'Packages')).catch(() => null)) ? repository : null,
            variables: driverVariables(options, { flavour, ns: ns.name, iteration: iteration.number, build }),
            log,
            driverLogDir: logPath.replace(/\.log$/, ''),
            signal: options.signal,
            collect: async (outputDir, files) => {
              await collect(repositories, store, { namespace: ns.name, iteration: iteration.number, build, flavour }, outputDir, files);
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
        const current = store.build(build.id)!;
        if (outcome.built) move(current, { type: 'pipeline-succeeded' });
        else if (options.signal.aborted) move(current, { type: 'pipeline-canceled' });
        else move(current, { type: 'pipeline-failed', reason: outcome.reason });
        const after = store.build(build.id)!;
        progress.finished({
          pkgbase: build.pkgbase, wave: wave.get(build.pkgbase)!, state: after.state === 'built' ? 'built' : after.state === 'cancelled' ? 'cancelled' : 'failed',
          reason: after.reason, seconds: (Date.now() - began) / 1000, logPath, packages,
        });
      };
      running.set(build.id, run().finally(() => running.delete(build.id)));
    };

    for (;;) {
      const current = store.builds(iteration.id);
      const nodes: BuildNode[] = current.map((b) => ({ id: b.id, label: `${b.pkgbase}/${b.arch}`, state: b.state, reason: b.reason, dependsOn: JSON.parse(b.depends_on) as number[] }));
      const changes = propagate(nodes);
      if (changes.length) store.transaction(() => changes.forEach((c) => store.setState(c.id, c.to, c.reason)));
      for (const c of changes) if (c.to === 'dependency-failed' && c.from !== c.to) progress.skipped(current.find((b) => b.id === c.id)!.pkgbase, c.reason ?? 'a dependency failed');
      if (!options.signal.aborted) {
        const settled = store.builds(iteration.id);
        for (const id of selectForDispatch(settled, options.jobs)) start(settled.find((b) => b.id === id)!);
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    if (options.signal.aborted) {
      store.transaction(() => store.builds(iteration.id).forEach((b) => move(b, { type: 'cancel' })));
    }
    return { namespace: ns.name, iteration: iteration.number, arch, builds: store.builds(iteration.id), repository };
  } finally {
    db.close();
  }
}

/**
 * The members of a dependency cycle build in the order the planner gives once its closing edges are
 * removed; those edges have to be satisfied by what the base OS already has.
 */
function withoutClosingEdges(builds: NewBuild[], thePlan: BuildSetPlan, progress: Progress): NewBuild[] {
  const position = new Map(builds.map((b, i) => [b.pkgbase, i]));
  for (const cycle of thePlan.cycles) {
    progress.note(`dependency cycle ${cycle.members.join(' ⇄ ')}: building in the order ${cycle.buildOrder.join(', ')}; ${cycle.closingEdges.map((e) => `${e.from} → ${e.to}`).join(', ')} must come from the base OS`);
    for (const edge of cycle.closingEdges) {
      const from = builds[position.get(edge.from)!]!;
      from.dependsOn = from.dependsOn.filter((d) => d !== position.get(edge.to));
    }
  }
  return builds;
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
  };
}

/** Moves a build's output into the pool and the build set's repository, then records it (as an upload does). */
async function collect(repositories: Repositories, store: BuildStore, at: { namespace: string; iteration: number; build: BuildRow; flavour: Bundle['flavour'] }, outputDir: string, files: string[]): Promise<void> {
  const added: { poolPath: string; filename: string; sha256: string; size: number }[] = [];
  for (const filename of files) {
    const name = checkArtifactName(filename, at.flavour, at.build.arch);
    if (!name.ok) throw new CommandError(`the build's output cannot go into the repository: ${name.reason}`);
    const source = join(outputDir, filename);
    const pool = repositories.poolPath(at.build.id, filename);
    await mkdir(dirname(pool), { recursive: true });
    await copyFile(source, `${pool}.part`);
    await rename(`${pool}.part`, pool);
    await syncDir(dirname(pool));
    added.push({ poolPath: pool, filename, sha256: await sha256File(pool), size: (await stat(pool)).size });
  }
  await repositories.add(at.namespace, at.iteration, at.build.arch, added);
  for (const a of added) store.putArtifact(at.build.id, { filename: a.filename, sha256: a.sha256, size: a.size, jobId: 0 });
}
