/** Assembles the quarters server from its config: store, GitLab client, inbox worker, reconcile loop, HTTP app. */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { listenAddress, retentionPolicy, type ServerConfig } from '../core/server-config.js';
import { KeptGraphs } from '../core/graph/kept-graphs.js';
import type { Logger } from '../common/log.js';
import { apiRoutes, requireApiToken } from './api/routes.js';
import { ImageBuilder } from './images/builder.js';
import { imageRoutes } from './images/route.js';
import { ImageStore } from './store/image-store.js';
import { createApp } from './http/app.js';
import { BuildSetControl } from './build-sets/control.js';
import { BuildSetEngine, type Planner } from './build-sets/engine.js';
import { GitLabDispatcher } from './build-sets/gitlab-dispatcher.js';
import { PipelineTracker } from './build-sets/pipelines.js';
import { ProgressReporter, type ReportClock } from './build-sets/progress-reporter.js';
import { BuildSets } from './build-sets/planning.js';
import { BuildStore } from './store/build-store.js';
import { JobStore } from './store/job-store.js';
import { LiveFeed } from './http/live-feed.js';
import { eventsRoutes } from './api/events-route.js';
import { openDatabase, type Db } from './store/database.js';
import { WalCheckpointer } from './store/wal-checkpointer.js';
import { handleEvent } from './webhooks/events.js';
import { createGitLabClient, type GitLabClient, type RetryPolicy } from './gitlab/client.js';
import { noGitLab } from './gitlab/none.js';
import { Inbox, InboxWorker, MAX_ATTEMPTS } from './webhooks/inbox.js';
import { MergeRequests } from './webhooks/merge-requests.js';
import { Metrics } from './http/metrics.js';
import { RecipeTable, SourceIndex, type RecipeLayout } from './sources/source-index.js';
import { webhookRoutes } from './webhooks/route.js';
import { Repositories } from './artifacts/repository.js';
import { repoRoutes } from './artifacts/repos-route.js';
import { resourceUsageRoutes } from './artifacts/resource-usage-route.js';
import { uploadRoutes } from './artifacts/upload.js';
import { Signer } from './signing/signer.js';
import { DistributionRepositories } from './releases/distribution.js';
import { Releases } from './releases/releases.js';
import { releaseRoutes } from './releases/routes.js';
import { ReleaseStore } from './store/release-store.js';
import { SIGNING_KEY_PATH, signingKeyRoutes } from './signing/key-route.js';
import { webUiRoutes } from './web/routes.js';
import { Bumper } from './bumps/bumper.js';
import { bumpRoutes } from './bumps/routes.js';
import { BumpStore } from './store/bump-store.js';
import { GarbageCollector } from './retention/garbage-collector.js';
import { gcRoutes } from './retention/routes.js';
import { RetentionStore } from './store/retention-store.js';
import { GraphCache } from './web/graph-data.js';

export interface ServerOptions {
  log: Logger;
  /** How often the reconcile loop polls GitLab for builds whose hooks went missing (ms). */
  reconcileIntervalMs?: number;
  /** For tests: another GitLab client (the default talks to [gitlab] url). */
  gitlab?: GitLabClient;
  /** For tests: shorter backoffs for the GitLab client. */
  gitlabRetry?: Partial<RetryPolicy>;
  /** For tests: another planner (the default is the graph engine's planBuildSet over dependency graphs kept across iterations). */
  planner?: Planner;
  /** For tests: how build set progress is reported to GitLab (least interval between reports of one set; the clock). */
  progress?: { intervalMs?: number; clock?: ReportClock };
  /** For tests run from the sources: the command that runs the quarters CLI for image builds (default: node dist/cli/main.js). */
  imageCommand?: readonly string[];
  /** For tests: called before retention takes each directory away (a throw there is a crash mid-run). */
  gcBeforeRemoving?: (dir: string) => void | Promise<void>;
  /** For tests: the clock retention applies its policy by (ms since the epoch). */
  gcClock?: () => number;
}

/** A running (or ready to run) server. */
export interface QuartersServer {
  app: Hono;
  db: Db;
  repositories: Repositories;
  store: BuildStore;
  jobs: JobStore;
  recipes: RecipeTable;
  index: SourceIndex;
  engine: BuildSetEngine;
  buildSets: BuildSets;
  pipelines: PipelineTracker;
  control: BuildSetControl;
  progress: ProgressReporter;
  inbox: Inbox;
  worker: InboxWorker;
  metrics: Metrics;
  imageBuilder: ImageBuilder;
  /** The repositories' signing key ([signing]); null: repositories are not signed. */
  signer: Signer | null;
  /** The distribution's repositories ([repositories.NAME]) and the releases into them. */
  distribution: DistributionRepositories;
  releases: Releases;
  releaseStore: ReleaseStore;
  /** Release bumps of build sets (quarters ns bump). */
  bumper: Bumper;
  /** [retention]: `quarters gc`, and the periodic run when the table is given. */
  collector: GarbageCollector;
  /** Binds `listen` (or the given port) and starts the background loops; resolves to the URL. */
  start(port?: number): Promise<string>;
  /** Waits until every accepted event has been processed. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** The recipe layout the config names. */
export function layoutOf(config: ServerConfig): RecipeLayout {
  // Local-only mode reads no recipes from GitLab; the layout is never used there.
  if (!config.gitlab) return { kind: 'group', group: '' };
  return config.gitlab.packages_group !== undefined ? { kind: 'group', group: config.gitlab.packages_group } : { kind: 'tree', project: config.gitlab.tree_project! };
}

/** Creates the server (nothing listens until start()). */
export function createServer(config: ServerConfig, options: ServerOptions): QuartersServer {
  const { log } = options;
  const metrics = new Metrics();
  // Before anything else: a key the config names wrongly stops the start (SigningError naming the key).
  const signer = config.signing ? Signer.open(config.signing, config.data_dir) : null;
  if (signer) {
    const problem = signer.problem();
    if (problem) log.error({ fingerprint: signer.key.fingerprint, problem }, 'the signing key cannot sign: uploads are refused until it can (see /healthz)');
    else log.info({ fingerprint: signer.key.fingerprint, uid: signer.key.uid }, 'repositories are signed');
  }
  const db = openDatabase(config.data_dir);
  // Checkpoints run on a worker thread, not inside a commit on the event loop that answers webhooks.
  const checkpointer = WalCheckpointer.start(db, { onError: (message) => log.warn({ err: message }, 'WAL checkpoint failed') });
  const gitlabConfig = config.gitlab;
  const gitlab =
    options.gitlab ??
    (gitlabConfig === undefined ? noGitLab() : createGitLabClient({
      url: gitlabConfig.url,
      token: gitlabConfig.token,
      log,
      ...(options.gitlabRetry ? { retry: options.gitlabRetry } : {}),
      observer: (o) => {
        metrics.gitlabCalls.inc({ method: o.method, route: o.route, status: o.status === null ? (o.failure ?? 'error') : String(o.status) });
        metrics.gitlabLatency.observe({ method: o.method, route: o.route }, o.latencyMs / 1000);
      },
    }));
  const store = new BuildStore(db);
  const jobs = new JobStore(db);
  const feed = new LiveFeed(store);
  const recipes = new RecipeTable(db);
  const index = new SourceIndex(gitlab, recipes, layoutOf(config), config.build.flavour, log);
  const repositories = new Repositories(config.data_dir, config.build.flavour, signer);
  // Uploads and repository changes a crash or kill interrupted: nothing refers to them.
  const distribution = new DistributionRepositories(config.repositories, config.build.architectures, signer);
  const interrupted = repositories.removeInterruptedUploads() + repositories.removeInterruptedChanges() + distribution.removeInterruptedChanges();
  if (interrupted) log.info({ files: interrupted }, 'removed interrupted uploads and repository changes');
  const halfMade = store.deleteHalfMadeNamespaces();
  if (halfMade.length) log.warn({ namespaces: halfMade }, 'removed build sets a crash left without their first iteration; create them again');
  const releaseStore = new ReleaseStore(db);
  const releases = new Releases({ store, releases: releaseStore, repositories, distribution, flavour: config.build.flavour, log });
  const dispatcher = new GitLabDispatcher(store, gitlab, {
    flavour: config.build.flavour, treeLayout: config.gitlab?.tree_project !== undefined, publicUrl: config.public_url,
    debBuildOptions: config.build.deb_build_options, debBuildProfiles: config.build.deb_build_profiles, debBuildType: config.build.deb_build_type,
  }, log);
  const engine = new BuildSetEngine(store, repositories, options.planner ?? new KeptGraphs().plan, {
    flavour: config.build.flavour,
    architectures: config.build.architectures,
    maxInFlight: config.build.max_in_flight,
    cycleRebuild: config.build.cycle_rebuild,
    profiles: config.build.flavour === 'debian' ? config.build.deb_build_profiles : [],
  }, dispatcher, log);
  const buildSets = new BuildSets(engine, recipes, index, log);
  const bumps = new BumpStore(db);
  buildSets.branchOverrides = (namespaceId) => bumps.overrides(namespaceId);
  const bumper = new Bumper({ store, bumps, recipes, index, buildSets, gitlab, log }, {
    flavour: config.build.flavour, publicUrl: config.public_url, ...(options.gitlabRetry ? { retry: options.gitlabRetry } : {}),
  });
  const signing = signer ? { url: `${config.public_url.replace(/\/+$/, '')}${SIGNING_KEY_PATH}`, fingerprint: signer.key.fingerprint } : null;
  const progress = new ProgressReporter({ gitlab, store, publicUrl: config.public_url, flavour: config.build.flavour, signing, log, ...options.progress });
  const images = new ImageStore(db);
  const interruptedImages = images.failInterrupted();
  if (interruptedImages) log.warn({ images: interruptedImages }, 'images were being built when the server stopped: marked failed, request them again');
  const imageBuilder = new ImageBuilder({ store, images, repositories, dataDir: config.data_dir, specs: config.images, log, ...(options.imageCommand ? { command: options.imageCommand } : {}) });
  engine.onSettled = (namespaceId) => {
    // Without GitLab there is nowhere to report to.
    if (gitlabConfig) progress.changed(namespaceId);
    imageBuilder.settled(namespaceId);
  };
  const policy = retentionPolicy(config);
  const collector = new GarbageCollector({
    dataDir: config.data_dir, retention: new RetentionStore(db), engine, distribution, policy, log,
    ...(options.gcBeforeRemoving ? { beforeRemoving: options.gcBeforeRemoving } : {}), ...(options.gcClock ? { clock: options.gcClock } : {}),
  });
  const imageRouting = imageRoutes({ store, images, builder: imageBuilder, write: requireApiToken(config.api.tokens) });
  const pipelines = new PipelineTracker(engine, dispatcher, gitlab, log, (build) => progress.mayCarryStatuses(build));
  const control = new BuildSetControl(engine, dispatcher, gitlab, log);
  const mergeRequests = new MergeRequests({ gitlab, index, store, buildSets, control, progress, bumper, log });
  const inbox = new Inbox(db);
  const worker = new InboxWorker(inbox, (event) => handleEvent(event, { gitlab, index, recipes, buildSets, pipelines, mergeRequests, settings: { autoRebuild: config.build.auto_rebuild }, jobs, log }), log);
  metrics.gauge('quarters_inbox_depth', 'Webhook events accepted and not yet processed.', () => [{ labels: {}, value: inbox.depth() }]);
  metrics.gauge('quarters_inbox_set_aside', `Webhook events that failed ${MAX_ATTEMPTS} times and wait for an operator.`, () => [{ labels: {}, value: inbox.setAside() }]);
  metrics.gauge('quarters_builds', 'Builds of live iterations by state.', () => store.countByState().map((r) => ({ labels: { state: r.state }, value: r.n })));

  const app = createApp({
    db, log, metrics, dataDir: config.data_dir, minFreeBytes: config.min_free_mib * 1024 ** 2,
    problems: () => {
      const problem = signer?.problem();
      return problem ? [`${problem}; nothing is published until it can sign`] : [];
    },
    routes: [
      // Webhooks and uploads exist only with GitLab: a local-only server has neither route.
      ...(gitlabConfig && config.executor ? [
        // Woken after the answer is written: processing's synchronous work (planning) must not hold up GitLab's 202.
        webhookRoutes({ secret: gitlabConfig.webhook_secret, inbox, metrics, log, accepted: () => void setImmediate(() => void worker.wake()) }),
        uploadRoutes({ store, engine, repositories, gitlab, executorTokens: config.executor.tokens, flavour: config.build.flavour, metrics, log, recipes, jobs }),
        resourceUsageRoutes({ store, gitlab, executorTokens: config.executor.tokens, jobs, log }),
      ] : []),
      new Hono().route('/api/v1', apiRoutes({ store, jobs, buildSets, control, apiTokens: config.api.tokens, localOnly: !gitlabConfig, dataDir: config.data_dir, install: { publicUrl: config.public_url, flavour: config.build.flavour, architectures: config.build.architectures, signing } })).route('/api/v1', eventsRoutes({ store, feed })),
      new Hono().route('/api/v1', imageRouting.api),
      repoRoutes({ store, repositories }),
      imageRouting.files,
      signingKeyRoutes({ signer, publicUrl: config.public_url }),
      ...(gitlabConfig ? [bumpRoutes({ store, bumper, apiTokens: config.api.tokens })] : []),
      gcRoutes({ collector, apiTokens: config.api.tokens }),
      releaseRoutes({ store, releases, releaseStore, distribution, apiTokens: config.api.tokens, publicUrl: config.public_url, flavour: config.build.flavour, signing }),
      webUiRoutes({ store, jobs, images, graphs: new GraphCache(store), flavour: config.build.flavour, publicUrl: config.public_url, dataDir: config.data_dir, signing, ...(gitlabConfig ? { gitlab } : {}) }),
    ],
  });

  let http: ServerType | null = null;
  let timer: NodeJS.Timeout | null = null;
  let reconciling: Promise<void> | null = null;
  let gcTimer: NodeJS.Timeout | null = null;
  let collecting: Promise<unknown> | null = null;
  const collectGarbage = () => {
    collecting ??= collector
      .collect({ dryRun: false })
      .catch((error: unknown) => log.warn({ error: (error as Error).message }, 'retention failed; the next run finishes what this one started'))
      .finally(() => {
        collecting = null;
      });
  };
  const reconcile = () => {
    reconciling ??= pipelines
      .reconcile()
      .catch((error: unknown) => log.warn({ error: (error as Error).message }, 'reconcile failed'))
      // Events waiting for a retry are retried whether or not GitLab answered the reconcile.
      .then(() => worker.wake())
      .finally(() => {
        reconciling = null;
      });
    return reconciling;
  };

  return {
    app, db, repositories, store, jobs, recipes, index, engine, buildSets, pipelines, control, progress, inbox, worker, metrics, signer, distribution, releases, releaseStore, imageBuilder, bumper, collector,
    start: async (port) => {
      // Releases a crash interrupted, before any new one: published if the switch happened, interrupted if not.
      for (const r of await releases.recover()) log.warn({ release: r.id, repository: r.repository, state: r.state }, 'settled a release the server stopped during');
      if (!options.planner) {
        // The planner's dependency graphs of the index, built before the first push needs them: it then only updates them.
        const started = performance.now();
        try {
          const count = buildSets.preparePlanner();
          log.info({ recipes: count, ms: Math.round(performance.now() - started) }, 'built the dependency graphs of the index');
        } catch (error) {
          // Not fatal: the first iteration builds them, and says what is wrong with its build set.
          log.warn({ error: (error as Error).message }, 'cannot build the dependency graphs of the index yet');
        }
      }
      return new Promise((resolve) => {
        const { host, port: configured } = listenAddress(config);
        http = serve({ fetch: app.fetch, hostname: host, port: port ?? configured }, (info: AddressInfo) => {
          const url = `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`;
          log.info({ url }, 'quarters server listening');
          // Events accepted before a crash or restart are still in the inbox: process them now.
          void worker.wake();

          // Without GitLab there are no pipelines to poll.
          if (gitlabConfig) {
            // Build sets that moved while the server was down get their notes and statuses now.
            progress.catchUp();
            // Bumps a stop interrupted go on: their answer (202) was given.
            bumper.resumeInterrupted();
            void reconcile();
            timer = setInterval(() => void reconcile(), options.reconcileIntervalMs ?? 60_000);
          }
          // [retention] given: its policy applied now (finishing what a stopped run started) and every interval.
          if (policy.intervalMs !== null) {
            collectGarbage();
            gcTimer = setInterval(collectGarbage, policy.intervalMs);
          }
          resolve(url);
        });
      });
    },
    drain: () => worker.wake(),
    close: async () => {
      if (timer) clearInterval(timer);
      if (gcTimer) clearInterval(gcTimer);
      const closing = new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
      // Keep-alive connections would hold close() open.
      (http as { closeAllConnections?: () => void } | null)?.closeAllConnections?.();
      await closing;
      await worker.stop();
      await reconciling;
      await bumper.idle();
      await collecting;
      await progress.stop();
      imageBuilder.close();
      await imageBuilder.idle();
      await checkpointer?.stop();
      db.close();
      await signer?.close();
    },
  };
}
