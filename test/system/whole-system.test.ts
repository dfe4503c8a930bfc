/**
 * The whole system, joined as a deployment joins it: a push to a package project in the GitLab
 * double → the quarters server plans and dispatches a pipeline → a GitLab Runner runs its job
 * through the real quarters-executor bundle with the CI template's script → makepkg builds in an
 * nspawn container on the Arch-on-Debian base → the executor uploads to the server over HTTP →
 * the Pipeline Hook settles the build → the build set's repository serves the package.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import type { ArchRecipe } from '../support/arch-recipe.js';
import { reportSkip } from '../support/capabilities.js';
import { PACKAGER, startSystemRig, systemRigSkipReason, type BuildView, type SystemRig } from '../support/system-rig.js';

const skip = reportSkip(systemRigSkipReason(), 'the whole system (server, GitLab double, runner, executor)');

/** How long one build set may take here: a 2-core machine shared with other work. */
const SETTLE_MS = 480_000;

/** A package shipping one file that names its version. */
function shipping(pkgbase: string, version: string, extra: Partial<ArchRecipe> = {}): ArchRecipe {
  return {
    pkgbase,
    version,
    package: [`mkdir -p "$pkgdir/usr/share/${pkgbase}"`, `echo "${pkgbase} ${version}" > "$pkgdir/usr/share/${pkgbase}/version"`],
    ...extra,
  };
}

/** A file of a build set's repository, from the server, as bytes. */
async function repoFile(rig: SystemRig, namespace: string, file: string): Promise<Buffer> {
  const response = await fetch(`${rig.url}/repos/${namespace}/latest/x86_64/${file}`);
  expect(response.status, `GET /repos/${namespace}/latest/x86_64/${file}`).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** The `desc` entry of a package in a pacman database (a tar archive, gzipped as repo-add writes it, or not). */
async function dbEntry(compressed: Buffer, entry: string): Promise<string> {
  // tar detects compression only in files it can seek, not on a pipe.
  const db = compressed[0] === 0x1f && compressed[1] === 0x8b ? gunzipSync(compressed) : compressed;
  const listed = await execa('tar', ['-tf', '-'], { input: db });
  expect(listed.stdout.split('\n'), 'the entries of quarters.db').toContain(`${entry}/desc`);
  return (await execa('tar', ['-xOf', '-', `${entry}/desc`], { input: db })).stdout;
}

/** A field of a pacman desc file (`%NAME%` followed by its value lines). */
function descField(desc: string, name: string): string | undefined {
  const match = new RegExp(`^%${name}%\\n([^\\n]*)`, 'm').exec(desc);
  return match?.[1];
}

/** Checks that the repository lists the build's package and serves it with the sha256 the API shows. */
async function expectPublished(rig: SystemRig, namespace: string, build: BuildView, version: string): Promise<void> {
  expect(build.artifacts.map((a) => a.filename)).toEqual([`${build.pkgbase}-${version}-any.pkg.tar.zst`]);
  const [artifact] = build.artifacts;
  const desc = await dbEntry(await repoFile(rig, namespace, 'quarters.db'), `${build.pkgbase}-${version}`);
  expect(descField(desc, 'FILENAME')).toBe(artifact!.filename);
  expect(descField(desc, 'SHA256SUM')).toBe(artifact!.sha256);
  const pkg = await repoFile(rig, namespace, artifact!.filename);
  expect(createHash('sha256').update(pkg).digest('hex')).toBe(artifact!.sha256);
  expect(pkg.length).toBe(artifact!.size);
  const pkginfo = (await execa('tar', ['--zstd', '-xOf', '-', '.PKGINFO'], { input: pkg })).stdout;
  expect(pkginfo).toMatch(new RegExp(`^pkgver = ${version.replace(/\./g, '\\.')}$`, 'm'));
  expect(pkginfo).toContain(`packager = ${PACKAGER.name} <${PACKAGER.email}>`);
  const shipped = (await execa('tar', ['--zstd', '-xOf', '-', `usr/share/${build.pkgbase}/version`], { input: pkg })).stdout;
  expect(shipped).toBe(`${build.pkgbase} ${version}`);
}

describe.skipIf(skip)('the whole system: push → pipeline → runner → executor → upload → repository', () => {
  let rig: SystemRig;
  const times: [string, number][] = [];
  const fileStart = Date.now();
  const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await work();
    } finally {
      times.push([label, Date.now() - start]);
    }
  };

  beforeAll(async () => {
    rig = await timed('rig start (double, server, executor with the Arch base loaded, runner)', () => startSystemRig());
  }, 900_000); // a cold base cache means debootstrap: minutes
  afterAll(async () => {
    await timed('teardown', async () => rig?.close());
    const lines = [...times, ['whole file', Date.now() - fileStart] as [string, number]].map(([label, ms]) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${label}`);
    process.stderr.write(`whole-system test times:\n${lines.join('\n')}\n`);
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

  it('builds a two-package chain in dependency order: qb is dispatched only after qa is built', async () => {
    await timed('case 2: chain qa ← qb', async () => {
      const [qa] = await rig.addArchPackages(shipping('qa', '1.0-1'), shipping('qb', '1.0-1', { depends: ['qa'] }));
      // TODO(repo-fetch): once the executor fetches the build set's repository from the server, give qb
      // build: ['grep -qx "qa 2.0-1" /usr/share/qa/version'] and assert that it builds: "qb's build() fails
      // unless it sees qa's new version" (it needs qa 2.0-1 installed from the build set repository).
      await rig.pushVersion(qa!, shipping('qa', '2.0-1'));

      const builds = await rig.waitForSettled('auto-qa', SETTLE_MS * 2);
      expect(Object.fromEntries(builds.map((b) => [b.pkgbase, b.state])), rig.report()).toEqual({ qa: 'built', qb: 'built' });
      const qaBuild = builds.find((b) => b.pkgbase === 'qa')!;
      const qbBuild = builds.find((b) => b.pkgbase === 'qb')!;

      // Order: qb's pipeline was created after qa's had finished, and its job ran after qa's.
      const qaPipeline = rig.gitlab.state.pipeline(qaBuild.pipeline_id!);
      const qbPipeline = rig.gitlab.state.pipeline(qbBuild.pipeline_id!);
      expect(Date.parse(qbPipeline.createdAt)).toBeGreaterThanOrEqual(Date.parse(qaPipeline.finishedAt!));
      const qaJob = rig.runner.job(qaPipeline.jobIds[0]!)!;
      const qbJob = rig.runner.job(qbPipeline.jobIds[0]!)!;
      expect(qbJob.startedAt).toBeGreaterThanOrEqual(qaJob.finishedAt!);
      expect([qaJob.outcome, qbJob.outcome], rig.report()).toEqual(['success', 'success']);

      await expectPublished(rig, 'auto-qa', qaBuild, '2.0-1');
      // qb was not changed: the rebuild is of its current version.
      await expectPublished(rig, 'auto-qa', qbBuild, '1.0-1');
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
