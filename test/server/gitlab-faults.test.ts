/**
 * A whole build set (cairo → libpng → zlib, a push, then a second push that supersedes the first
 * iteration) driven to the end twice: once with GitLab answering every request, once with a seeded
 * schedule of faults on every route the server uses (429 with Retry-After, 500, slow answers, and
 * answers lost after GitLab acted, longer outages than the client retries, lost Pipeline Hooks). Both runs must end the same: the same builds in the same states,
 * one pipeline per build, nothing left running. GITLAB_FAULT_ROUNDS runs more seeds (soak).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SETTLED } from '../../src/core/build-state.js';
import { BUILD_ID_VARIABLE } from '../../src/server/gitlab/client.js';
import type { FaultSpec } from '../gitlab-double/faults.js';
import { pacmanDbEntries, pacmanPackage, upload } from './packages.js';
import { chain, EXECUTOR_TOKEN, JANE, srcinfo, startRig, WEBHOOK_SECRET, type Rig } from './server-harness.js';
import { seededRandom } from '../support/seeded-random.js';

const SEED = Number(process.env.GITLAB_FAULT_SEED ?? 20261203);
const ROUNDS = Number(process.env.GITLAB_FAULT_ROUNDS ?? 1);

/** Every route the server calls GitLab on in this build set's life. */
const ROUTES = [
  'GET /projects/:id',
  'GET /groups/:id/projects',
  'GET /projects/:id/repository/files/:path/raw',
  'GET /projects/:id/repository/files/:path',
  'GET /projects/:id/repository/tree',
  'GET /projects/:id/repository/compare',
  'GET /projects/:id/repository/commits/:sha',
  'POST /projects/:id/pipeline',
  'GET /projects/:id/pipelines',
  'GET /projects/:id/pipelines/:pipeline',
  'POST /projects/:id/pipelines/:pipeline/cancel',
  // The server asking who an upload's job is.
  'GET /job',
];

/** The faults one phase of the run meets: on most routes, one of GitLab's ways of failing, once or twice. */
function schedule(random: () => number, outages: boolean): FaultSpec[] {
  const kinds: Omit<FaultSpec, 'route'>[] = [
    { respond: 429, retryAfter: 0 },
    { respond: 429, retryAfter: 1 },
    { respond: 500 },
    { respond: 502 },
    { delayMs: 150 },
    // Slower than an attempt may take: the client gives up on it while GitLab still acts.
    { delayMs: 700 },
    // GitLab acts, the answer is lost.
    { respond: 500, phase: 'after' },
    { delayMs: 700, phase: 'after' },
  ];
  return ROUTES.filter(() => random() < 0.7).map((route) => ({ route, ...kinds[Math.floor(random() * kinds.length)]!, times: outages && random() < 0.2 ? 5 + Math.floor(random() * 3) : 1 + Math.floor(random() * 2) }));
}

interface BuildOutcome {
  pkgbase: string;
  state: string;
  /** Statuses of the GitLab pipelines that carry this build's id. */
  pipelines: string[];
}

interface EndState {
  /** The latest iteration's builds. */
  builds: BuildOutcome[];
  /**
   * Earlier iterations' builds that are not superseded with at most one, cancelled, pipeline. How many
   * iterations there are may differ: a push processed late (retried after GitLab failed) reads the
   * branch head, so it and a later push can make one iteration between them.
   */
  earlier: string[];
  /** Pipelines no build of the set owns, by project path and status. */
  strays: string[];
  /** Pipelines still pending or running in GitLab. */
  unfinished: string[];
  /** The packages in the set's latest repository. */
  repository: string[];
}

const VERSIONS: Record<string, string> = { zlib: '1.2-1', libpng: '1.0-1', cairo: '1.0-1' };

/** The job of a build's pipeline runs and uploads its package, as the executor does (retrying what the server could not check with GitLab). */
async function runAndUpload(rig: Rig, buildId: number, pkgbase: string, pipelineId: number): Promise<void> {
  const { token } = await rig.gitlab.state.startPipeline(pipelineId);
  const file = await pacmanPackage({ name: pkgbase, version: VERSIONS[pkgbase]!, packager: `${JANE.name} <${JANE.email}>` });
  for (let attempt = 1; ; attempt++) {
    const res = await upload(rig.url, buildId, file, { executor: EXECUTOR_TOKEN, job: token });
    if (res.ok) return;
    if (res.status < 500 || attempt === 5) throw new Error(`upload of ${file.filename} for build ${buildId}: ${res.status} ${await res.text()}`);
  }
}

/** What the set ended as, in terms that do not depend on ids. */
async function endState(rig: Rig, name: string): Promise<EndState> {
  const { store } = rig.server;
  const ns = store.namespaceByName(name)!;
  const pipelines = rig.gitlab.state.pipelinesOf();
  const buildIdOf = (p: (typeof pipelines)[number]): string | undefined => p.variables.find((v) => v.key === BUILD_ID_VARIABLE)?.value;
  const iterations = (rig.server.db.prepare('SELECT id, number FROM iterations WHERE namespace_id = ? ORDER BY number').all(ns.id) as { id: number; number: number }[]);
  const builds = iterations.flatMap((it) => store.builds(it.id).map((b) => ({
    iteration: it.number,
    latest: it.number === iterations.at(-1)!.number,
    pkgbase: b.pkgbase,
    state: b.state,
    pipelines: pipelines.filter((p) => buildIdOf(p) === String(b.id)).map((p) => p.status).sort(),
    id: String(b.id),
  })));
  const owned = new Set(builds.map((b) => b.id));
  const projectOf = (p: (typeof pipelines)[number]): string => rig.gitlab.state.projects.get(p.projectId)?.pathWithNamespace ?? String(p.projectId);
  return {
    builds: builds.filter((b) => b.latest).map(({ pkgbase, state, pipelines: statuses }) => ({ pkgbase, state, pipelines: statuses })).sort((a, b) => a.pkgbase.localeCompare(b.pkgbase)),
    earlier: builds.filter((b) => !b.latest && (b.state !== 'superseded' || b.pipelines.length > 1 || b.pipelines.some((status) => status !== 'canceled')))
      .map((b) => `iteration ${b.iteration} ${b.pkgbase}: ${b.state}, pipelines ${JSON.stringify(b.pipelines)}`),
    strays: pipelines.filter((p) => !owned.has(buildIdOf(p) ?? '')).map((p) => `${projectOf(p)} ${p.status}`),
    unfinished: pipelines.filter((p) => !['success', 'failed', 'canceled'].includes(p.status)).map((p) => `${projectOf(p)} ${p.status}`),
    repository: await pacmanDbEntries(Buffer.from(await (await fetch(`${rig.url}/repos/${name}/latest/x86_64/quarters.db`)).arrayBuffer())),
  };
}

/**
 * Runs the set from the first push to the end: each phase meets its own faults (none when `random`
 * is null); pipelines of the latest iteration are finished in GitLab, and the reconcile loop runs,
 * until every build has settled.
 */
async function runBuildSet(random: (() => number) | null): Promise<{ rig: Rig; end: EndState; faults: Map<string, number> }> {
  const rig = await startRig({ gitlabRetry: { baseDelayMs: 5, maxDelayMs: 20, attemptTimeoutMs: 400, landingWaitMs: 1_500, maxElapsedMs: 10_000 } });
  const armed: { route: string; handle: { readonly hits: number } }[] = [];
  const phase = (outages = true): void => {
    if (random) for (const fault of schedule(random, outages)) armed.push({ route: fault.route, handle: rig.gitlab.faults.inject(fault) });
  };
  // The operator's first sync is called directly here: no outage longer than the client's retries.
  phase(false);
  const { zlib } = await chain(rig);
  phase();
  await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }), JANE));
  await rig.server.pipelines.reconcile();
  phase();
  // A second push while zlib's first pipeline runs: a new iteration, the first one's pipeline cancelled.
  await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.2-1' }) }), JANE));
  const ns = rig.server.store.namespaceByName('auto-zlib')!;
  for (let wave = 0; wave < 40; wave++) {
    await rig.gitlab.state.settled();
    await rig.server.drain();
    await rig.server.pipelines.reconcile();
    await rig.server.drain();
    const builds = rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id);
    if (builds.every((b) => SETTLED.includes(b.state))) break;
    phase();
    // Now and then GitLab's Pipeline Hooks of a wave are lost: only the reconcile poll sees those pipelines finish.
    const hooksLost = random !== null && random() < 0.3;
    if (hooksLost) rig.gitlab.setPipelineHook(undefined);
    for (const build of builds) {
      if (build.pipeline_id === null) continue;
      const pipeline = rig.gitlab.state.pipeline(build.pipeline_id);
      if (!pipeline || ['success', 'failed', 'canceled'].includes(pipeline.status)) continue;
      await runAndUpload(rig, build.id, build.pkgbase, pipeline.id);
      await rig.gitlab.state.finishPipeline(pipeline.id, 'success');
    }
    if (hooksLost) rig.gitlab.setPipelineHook({ url: `${rig.url}/webhooks/gitlab`, secret: WEBHOOK_SECRET, jobEvents: true });
  }
  // A last pass, as the reconcile timer would make: it cancels what a lost answer let slip through.
  await rig.server.pipelines.reconcile();
  await rig.gitlab.state.settled();
  await rig.server.drain();
  rig.gitlab.faults.clear();
  const faults = new Map<string, number>();
  for (const { route, handle } of armed) if (handle.hits) faults.set(route, (faults.get(route) ?? 0) + handle.hits);
  return { rig, end: await endState(rig, 'auto-zlib'), faults };
}

describe('a build set under GitLab faults', () => {
  const rigs: Rig[] = [];
  afterEach(async () => {
    for (const rig of rigs.splice(0)) await rig.close();
  });

  it(`ends as without faults (${ROUNDS} seeded schedule${ROUNDS === 1 ? '' : 's'} from ${SEED})`, async () => {
    const clean = await runBuildSet(null);
    rigs.push(clean.rig);
    // The reference: iteration 1 superseded (zlib's pipeline cancelled), iteration 2 built through.
    expect(clean.end).toEqual({
      builds: [
        { pkgbase: 'cairo', state: 'built', pipelines: ['success'] },
        { pkgbase: 'libpng', state: 'built', pipelines: ['success'] },
        { pkgbase: 'zlib', state: 'built', pipelines: ['success'] },
      ],
      earlier: [],
      strays: [],
      unfinished: [],
      repository: ['cairo-1.0-1', 'libpng-1.0-1', 'zlib-1.2-1'],
    });
    const fired = new Map<string, number>();
    let total = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const faulty = await runBuildSet(seededRandom(SEED + round));
      rigs.push(faulty.rig);
      for (const [route, hits] of faulty.faults) {
        fired.set(route, (fired.get(route) ?? 0) + hits);
        total += hits;
      }
      expect(faulty.end, `seed ${SEED + round}`).toEqual(clean.end);
      await faulty.rig.close();
      rigs.pop();
    }
    console.log(`gitlab faults: ${ROUNDS} schedule(s) from seed ${SEED}, ${total} faults fired: ${JSON.stringify(Object.fromEntries(fired))}`);
  }, 60_000 * ROUNDS + 30_000);
});
