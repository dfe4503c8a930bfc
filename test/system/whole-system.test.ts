/**
 * The whole system, joined as a deployment joins it: a push to a package project in the GitLab
 * double → the quarters server plans and dispatches a pipeline → a GitLab Runner runs its job
 * through the real quarters-executor bundle with the CI template's script → makepkg builds in an
 * nspawn container on the Arch-on-Debian base → the executor uploads to the server over HTTP →
 * the Pipeline Hook settles the build → the build set's repository serves the package.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { archBundleFiles } from '../support/arch-recipe.js';
import { reportSkip } from '../support/capabilities.js';
import { chainRecipes, cycleRecipes, expectPublished, packageFile, shipping, waitUntil } from '../support/system-packages.js';
import { PACKAGER, startSystemRig, systemRigSkipReason, type SystemRig } from '../support/system-rig.js';
import { stepTimes } from '../support/step-times.js';

const skip = reportSkip(systemRigSkipReason(), 'the whole system (server, GitLab double, runner, executor)');

const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');

/** How long one build set may take here: a 2-core machine shared with other work. */
const SETTLE_MS = 480_000;

describe.skipIf(skip)('the whole system: push → pipeline → runner → executor → upload → repository', () => {
  let rig: SystemRig;
  const steps = stepTimes();
  const timed = steps.timed;

  beforeAll(async () => {
    rig = await timed('rig start (double, server, executor with the Arch base loaded, runner)', () => startSystemRig());
  }, 900_000); // a cold base cache means debootstrap: minutes
  afterAll(async () => {
    await timed('teardown', async () => rig?.close());
    steps.report('whole-system test times');
  }, 300_000);

  it('builds a package pushed to its default branch and publishes it in the build set repository', async () => {
    await timed('case 1: one package', async () => {
      const [project] = await rig.addArchPackages(shipping('qhello', '1.0-1'));
      await rig.pushVersion(project!, shipping('qhello', '1.0-2'));

      const builds = await rig.waitForSettled('auto-qhello', SETTLE_MS);
      expect(builds.map((b) => [b.pkgbase, b.state]), rig.report()).toEqual([['qhello', 'built']]);
      const [build] = builds;

      // The pipeline the server created, at the pushed commit, and the job the runner ran for it.
      const [pipeline] = rig.gitlab.state.pipelinesOf(project!);
      expect(build!.pipeline_id).toBe(pipeline!.id);
      expect(pipeline!.sha).toBe(project!.repository.branches.get('main'));
      expect(Object.fromEntries(pipeline!.variables.map((v) => [v.key, v.value]))).toMatchObject({
        QUARTERS_SERVER_URL: rig.url, QUARTERS_BUILD_ID: String(build!.id), QUARTERS_NAMESPACE: 'auto-qhello', QUARTERS_PKGBASE: 'qhello',
      });
      expect(pipeline!.status, rig.report()).toBe('success');
      const [job] = rig.gitlab.state.jobsOf(pipeline!.id);
      const record = rig.runner.job(job!.id)!;
      expect(record.outcome, record.trace).toBe('success');
      expect(record.trace).toMatch(/\$ quarters-build fetch\n[^]*\$ quarters-build build\n[^]*Finished making: qhello 1\.0-2/);
      expect(record.trace).toMatch(/quarters: uploaded qhello-1\.0-2-any\.pkg\.tar\.zst/);

      await expectPublished(rig, 'auto-qhello', build!, '1.0-2');
    });
  }, 600_000);

  it('rebuilds a three-package chain, each build on top of the last: a dependant builds only against its dependency\'s new package', async () => {
    await timed('case 2: chain qa ← qb ← qc', async () => {
      const [qa] = await rig.addArchPackages(...chainRecipes('1.0-1'));
      await rig.pushVersion(qa!, chainRecipes('2.0-1')[0]!);

      const builds = await rig.waitForSettled('auto-qa', SETTLE_MS * 2);
      expect(Object.fromEntries(builds.map((b) => [b.pkgbase, b.state])), rig.report()).toEqual({ qa: 'built', qb: 'built', qc: 'built' });
      const [qaBuild, qbBuild, qcBuild] = ['qa', 'qb', 'qc'].map((p) => builds.find((b) => b.pkgbase === p)!);

      // In order: each pipeline was created after the build job before it had finished, and its job ran after.
      // (The origin's pipeline itself stays running while quarters' commit statuses, jobs of it, say the set is.)
      const pipelines = [qaBuild!, qbBuild!, qcBuild!].map((b) => rig.gitlab.state.pipeline(b.pipeline_id!));
      const jobs = pipelines.map((p) => rig.runner.job(p.jobIds[0]!)!);
      for (const i of [1, 2]) {
        const before = rig.gitlab.state.job(pipelines[i - 1]!.jobIds[0]!);
        expect(Date.parse(pipelines[i]!.createdAt)).toBeGreaterThanOrEqual(Date.parse(before.finishedAt!));
        expect(jobs[i]!.startedAt).toBeGreaterThanOrEqual(jobs[i - 1]!.finishedAt!);
      }
      // Each dependant's job fetched the build set's repository as of its iteration from the server and installed from it.
      expect(jobs[1]!.trace, jobs[1]!.trace).toContain(`quarters: the build set's repository ${rig.url}/repos/auto-qa/1/x86_64/: 1 package`);
      expect(jobs[2]!.trace, jobs[2]!.trace).toContain(`quarters: the build set's repository ${rig.url}/repos/auto-qa/1/x86_64/: 2 packages`);
      await expectPublished(rig, 'auto-qa', qaBuild!, '2.0-1');
      await expectPublished(rig, 'auto-qa', qbBuild!, '1.0-1');
      await expectPublished(rig, 'auto-qa', qcBuild!, '1.0-1');
      // qb's package carries what it saw of qa in its container: the new qa; qc's build() checked that it got that qb.
      expect(await packageFile(rig, 'auto-qa', qbBuild!, 'usr/share/qb/saw-qa')).toBe('qa 2.0-1');
      // Every build reported what it used.
      for (const b of builds) expect(b.resource_usage?.wall_seconds, `${b.pkgbase}: ${JSON.stringify(b.resource_usage)}`).toBeGreaterThan(0);
    });
  }, 1_200_000);

  it('builds the same chain with quarters build, through the same engine', async () => {
    await timed('case 2b: the chain with quarters build', async () => {
      const root = await mkdtemp(join(tmpdir(), 'quarters-system-bundles-'));
      try {
        const dirs = [];
        for (const recipe of chainRecipes('2.0-1')) {
          const dir = join(root, recipe.pkgbase);
          await mkdir(dir);
          for (const [name, text] of Object.entries(archBundleFiles(recipe))) await writeFile(join(dir, name), text);
          dirs.push(dir);
        }
        const dataDir = join(root, 'data');
        const result = await execa('node', [CLI, 'build', ...dirs.reverse(), '--data-dir', dataDir, '--name', 'local-chain', '--jobs', '2', '--packager', `${PACKAGER.name} <${PACKAGER.email}>`], {
          reject: false, env: { QUARTERS_EXECUTOR_CONFIG: rig.executor.configFile, QUARTERS_ALLOW_UNVERIFIED_DEPS: '1' },
        });
        expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
        expect(result.stderr).toMatch(/wave 1: built qa[^]*wave 2: built qb[^]*wave 3: built qc/);
        const qb = join(dataDir, 'repos', 'local-chain', '1', 'x86_64', 'qb-1.0-1-any.pkg.tar.zst');
        expect((await execa('tar', ['--zstd', '-xOf', qb, 'usr/share/qb/saw-qa'])).stdout).toBe('qa 2.0-1');
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }, 600_000);

  it('recovers a failure with a GitLab retry: the dependants wait, then build', async () => {
    await timed('case 3: failure, GitLab retry', async () => {
      const [ra] = await rig.addArchPackages(shipping('ra', '1.0-1'), shipping('rb', '1.0-1', { depends: ['ra'] }));
      // The runner host goes down under ra's first job, mid-build.
      let interrupted = 0;
      rig.interruptWhen = (job) => (job.projectPath.endsWith('/ra') && interrupted++ === 0 ? /\$ quarters-build build\n/ : null);
      await rig.pushVersion(ra!, shipping('ra', '2.0-1'));
      let builds = await rig.waitForSettled('auto-ra', SETTLE_MS);
      expect(Object.fromEntries(builds.map((b) => [b.pkgbase, b.state])), rig.report()).toEqual({ ra: 'failed', rb: 'dependency-failed' });
      const raBuild = builds.find((b) => b.pkgbase === 'ra')!;
      expect(builds.find((b) => b.pkgbase === 'rb')!.reason).toContain(`pipeline ${raBuild.pipeline_id} failed`);
      const [first] = rig.gitlab.state.jobsOf(raBuild.pipeline_id!);
      expect(rig.runner.job(first!.id)!.failureReason).toBe('runner_system_failure');
      // The failed build still reported what it used.
      expect(raBuild.resource_usage, rig.report()).not.toBeNull();

      // Retry in GitLab (the pipeline's Retry button): a new job of the same pipeline.
      await rig.gitlab.state.retryPipeline(raBuild.pipeline_id!);
      await waitUntil(async () => (await rig.builds('auto-ra')).find((b) => b.pkgbase === 'ra')!.state !== 'failed', 60_000);
      builds = await rig.waitForSettled('auto-ra', SETTLE_MS);
      expect(Object.fromEntries(builds.map((b) => [b.pkgbase, b.state])), rig.report()).toEqual({ ra: 'built', rb: 'built' });
      expect(builds.find((b) => b.pkgbase === 'ra')!.pipeline_id).toBe(raBuild.pipeline_id);
      expect(rig.gitlab.state.jobsOf(raBuild.pipeline_id!, true)).toHaveLength(2);
      await expectPublished(rig, 'auto-ra', builds.find((b) => b.pkgbase === 'ra')!, '2.0-1');
    });
  }, 1_200_000);

  it('builds a push whose commit was indexed already, once however often it is delivered', async () => {
    await timed('case 4: already indexed, delivered three times', async () => {
      const [sa] = await rig.addArchPackages(shipping('sa', '1.0-1'));
      const push = rig.gitlab.state.pushFiles(sa!, archBundleFiles(shipping('sa', '1.1-1')), { author: { name: PACKAGER.name, email: PACKAGER.email } });
      // `quarters index sync` (or an earlier attempt) read the commit before the hook arrived.
      await rig.server.index.syncAll();
      const body = JSON.stringify(rig.gitlab.pushHookBody(push, PACKAGER));
      expect(await rig.deliver('Push Hook', body, { 'X-Gitlab-Event-UUID': 'sa-1', 'Idempotency-Key': 'sa-1' })).toBe(202);
      // The same delivery again (GitLab retrying after a timeout), and a manual redelivery with a new id.
      expect(await rig.deliver('Push Hook', body, { 'X-Gitlab-Event-UUID': 'sa-1', 'Idempotency-Key': 'sa-1' })).toBe(200);
      expect(await rig.deliver('Push Hook', body, { 'X-Gitlab-Event-UUID': 'sa-2', 'Idempotency-Key': 'sa-2' })).toBe(202);
      const builds = await rig.waitForSettled('auto-sa', SETTLE_MS);
      await rig.server.drain();
      expect(builds.map((b) => [b.pkgbase, b.state]), rig.report()).toEqual([['sa', 'built']]);
      expect(rig.gitlab.state.pipelinesOf(sa!)).toHaveLength(1);
      expect(rig.server.store.iterations(rig.server.store.namespaceByName('auto-sa')!.id)).toHaveLength(1);
      await expectPublished(rig, 'auto-sa', builds[0]!, '1.1-1');
    });
  }, 600_000);

  it('builds a two-package dependency cycle: the first member against the distribution, the second on top of it', async () => {
    await timed('case 5: cycle ca ⇄ cb', async () => {
      const [ca] = await rig.addArchPackages(...cycleRecipes('1.0-1'));
      await rig.pushVersion(ca!, cycleRecipes('1.0-2')[0]!);
      const builds = await rig.waitForSettled('auto-ca', SETTLE_MS * 2);
      expect(Object.fromEntries(builds.map((b) => [b.pkgbase, b.state])), rig.report()).toEqual({ ca: 'built', cb: 'built' });
      const ns = rig.server.store.namespaceByName('auto-ca')!;
      const [cycle] = rig.server.store.latestIteration(ns.id)!.cycles;
      expect(cycle).toMatchObject({ members: ['ca', 'cb'], rebuild: 'none' });
      const [first, second] = cycle!.build_order;
      expect(cycle!.cut_edges).toEqual([{ from: first, to: second }]);
      // The first member saw nothing of the other (its dependency came from the distribution, here: none);
      // the second was built against the first's new package.
      const saw = async (pkgbase: string) => packageFile(rig, 'auto-ca', builds.find((b) => b.pkgbase === pkgbase)!, `usr/share/${pkgbase}/saw`);
      expect(await saw(first!)).toBe('nothing');
      expect(await saw(second!)).toBe(`${first} ${first === 'ca' ? '1.0-2' : '1.0-1'}`);
    });
  }, 1_200_000);

  it('runs the jobs of two build sets at once, each in its own runner slot', async () => {
    await timed('case 3: two packages at once', async () => {
      const [qx, qy] = await rig.addArchPackages(shipping('qx', '1.0-1'), shipping('qy', '1.0-1'));
      await rig.pushVersion(qx!, shipping('qx', '1.0-2'));
      await rig.pushVersion(qy!, shipping('qy', '1.0-2'));
      const [xBuilds, yBuilds] = await Promise.all([rig.waitForSettled('auto-qx', SETTLE_MS), rig.waitForSettled('auto-qy', SETTLE_MS)]);
      expect([...xBuilds, ...yBuilds].map((b) => [b.pkgbase, b.state]), rig.report()).toEqual([['qx', 'built'], ['qy', 'built']]);

      const jobs = [xBuilds[0]!, yBuilds[0]!].map((b) => rig.runner.job(rig.gitlab.state.pipeline(b.pipeline_id!).jobIds[0]!)!);
      // They overlapped, in distinct CI_CONCURRENT_IDs; each is its project's only job, so both have CI_CONCURRENT_PROJECT_ID 0.
      expect(jobs[0]!.startedAt).toBeLessThan(jobs[1]!.finishedAt!);
      expect(jobs[1]!.startedAt).toBeLessThan(jobs[0]!.finishedAt!);
      expect(jobs.map((j) => j.concurrentId).sort()).toEqual([0, 1]);
      expect(jobs.map((j) => j.concurrentProjectId)).toEqual([0, 0]);
      await expectPublished(rig, 'auto-qx', xBuilds[0]!, '1.0-2');
      await expectPublished(rig, 'auto-qy', yBuilds[0]!, '1.0-2');
    });
  }, 600_000);
});
