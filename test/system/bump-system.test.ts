/**
 * A mass rebuild with version bumps through the whole system: a chain qlib ← qapp ← qtool is built
 * for real after a push of qlib; `quarters ns bump` (the built CLI, over HTTP) opens merge requests
 * bumping qapp's and qtool's pkgrel in the GitLab double; the set's next iteration builds them from
 * the bump branches through the runner and the real executor in nspawn containers, qtool against the
 * bumped qapp; merging one merge request (with a merge commit, GitLab's default) and closing the other
 * (as GitLab's hooks say) is reflected in the set and in its repository, and the merge rebuilds nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { resolve } from 'node:path';
import { NULL_SHA, type DoubleMergeRequest, type DoubleProject } from '../gitlab-double/index.js';
import type { ArchRecipe } from '../support/arch-recipe.js';
import { archBundleFiles } from '../support/arch-recipe.js';
import { reportSkip } from '../support/capabilities.js';
import { dbEntry, descField, packageFile, repoFile, waitUntil } from '../support/system-packages.js';
import { API_TOKEN, PACKAGER, startSystemRig, systemRigSkipReason, type BuildView, type SystemRig } from '../support/system-rig.js';
import { stepTimes } from '../support/step-times.js';

const skip = reportSkip(systemRigSkipReason(), 'the whole system: a mass rebuild with version bumps');

const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');
const NAME = 'auto-qlib';
const REASON = 'soname bump';
const BRANCH = `quarters/bump/${NAME}/1`;
/** How long one build set's iteration may take here: a 2-core machine shared with other work. */
const SETTLE_MS = 600_000;

/**
 * A package shipping `usr/share/NAME/version` ("NAME pkgver-pkgrel", from makepkg's variables, so a
 * bumped recipe ships its new release) and, for each dependency, `usr/share/NAME/saw-DEP`: what
 * pacman had installed of it in the build's container.
 */
function recipe(pkgbase: string, version: string, depends: string[] = []): ArchRecipe {
  return {
    pkgbase, version, depends,
    package: [
      `mkdir -p "$pkgdir/usr/share/${pkgbase}"`,
      `echo "$pkgname $pkgver-$pkgrel" > "$pkgdir/usr/share/${pkgbase}/version"`,
      ...depends.map((dep) => `pacman -Q ${dep} > "$pkgdir/usr/share/${pkgbase}/saw-${dep}"`),
    ],
  };
}
const chain = (qlibVersion: string) => [recipe('qlib', qlibVersion), recipe('qapp', '1.0-1', ['qlib']), recipe('qtool', '1.0-1', ['qapp'])];

interface BumpView {
  state: string;
  branch: string;
  iteration: number;
  counts: Record<string, number>;
  repositories: { project: string; state: string; commit: string | null; packages: { pkgbase: string; from: string; to: string }[]; merge_request: { iid: number; url: string } | null }[];
}

describe.skipIf(skip)('the whole system: quarters ns bump → merge requests → bumped builds in containers → merge and close', () => {
  let rig: SystemRig;
  const projects = new Map<string, DoubleProject>();
  const steps = stepTimes();
  const timed = steps.timed;
  const bumpView = async (): Promise<BumpView> => {
    const response = await fetch(`${rig.url}/api/v1/namespaces/${NAME}/bump`);
    expect(response.status).toBe(200);
    return (await response.json()) as BumpView;
  };
  const latestIteration = () => rig.server.store.latestIteration(rig.server.store.namespaceByName(NAME)!.id)!.number;
  const byPkgbase = (builds: BuildView[]) => new Map(builds.map((b) => [b.pkgbase, b as BuildView & { ref: string; sha: string }]));
  const bumpMergeRequest = (pkgbase: string): DoubleMergeRequest => {
    const found = [...projects.get(pkgbase)!.mergeRequests.values()].filter((mr) => mr.sourceBranch === BRANCH);
    expect(found, `${pkgbase}'s merge requests from ${BRANCH}`).toHaveLength(1);
    return found[0]!;
  };
  /** The version of each package the set's latest repository lists. */
  const listed = async () => {
    const db = await repoFile(rig, NAME, 'quarters.db');
    const names = (await execa('bsdtar', ['-tf', '-'], { input: db })).stdout.split('\n');
    return names.filter((n) => n.endsWith('/desc')).map((n) => n.slice(0, -'/desc'.length)).sort();
  };

  beforeAll(async () => {
    rig = await timed('rig start', () => startSystemRig());
  }, 900_000);
  afterAll(async () => {
    await timed('teardown', async () => rig?.close());
    steps.report('bump-system test times');
  }, 300_000);

  it('builds the chain, bumps the two rebuilt packages with the CLI, builds the bumps in containers, and follows their merge and close', async () => {
    // 1. A push of qlib 2.0-1 makes the build set auto-qlib: qlib, then qapp, then qtool, built for real.
    await timed('iteration 1: qlib ← qapp ← qtool built', async () => {
      for (const [i, project] of (await rig.addArchPackages(...chain('1.0-1'))).entries()) projects.set(['qlib', 'qapp', 'qtool'][i]!, project);
      await rig.pushVersion(projects.get('qlib')!, chain('2.0-1')[0]!);
      const builds = byPkgbase(await rig.waitForSettled(NAME, SETTLE_MS));
      expect(Object.fromEntries([...builds].map(([p, b]) => [p, `${b.version} ${b.state}`])), rig.report()).toEqual({ qlib: '2.0-1 built', qapp: '1.0-1 built', qtool: '1.0-1 built' });
    });

    // 2. The packager asks for the bump with the built CLI, as from their own machine.
    const mainHeads = new Map([...projects].map(([p, project]) => [p, project.repository.branches.get('main')!]));
    await timed('quarters ns bump (CLI)', async () => {
      const result = await execa('node', [CLI, 'ns', 'bump', NAME, '--reason', REASON, '--server', rig.url, '--interval', '0.2'], { reject: false, env: { QUARTERS_API_TOKEN: API_TOKEN } });
      expect(result.stderr).toBe('');
      expect(result.exitCode, result.stdout).toBe(0);
      const lines = result.stdout.split('\n');
      expect(lines[0]).toBe(`${NAME}: bump of iteration 1 (${REASON}), branch ${BRANCH}, 2 repositories`);
      for (const pkgbase of ['qapp', 'qtool']) {
        expect(lines).toContain(`packages/${pkgbase}  opened !${bumpMergeRequest(pkgbase).iid} ${rig.gitlab.url}/packages/${pkgbase}/-/merge_requests/${bumpMergeRequest(pkgbase).iid}`);
      }
      expect(lines.at(-1)).toBe(`${NAME}: done: opened=2 merged=0 closed=0 failed=0 pending=0`);
    });

    // The origin, which its packager changed, is not bumped; the two rebuilds are, one commit on the bump branch each.
    const qlib = projects.get('qlib')!;
    expect(qlib.repository.branches.has(BRANCH)).toBe(false);
    expect([...qlib.mergeRequests.values()]).toEqual([]);
    const bumpCommits = new Map<string, string>();
    for (const pkgbase of ['qapp', 'qtool']) {
      const project = projects.get(pkgbase)!;
      const mr = bumpMergeRequest(pkgbase);
      const head = project.repository.commitAt(BRANCH)!;
      expect(mr).toMatchObject({ targetBranch: 'main', state: 'opened', title: `Rebuild ${pkgbase}: ${REASON}` });
      expect(mr.description).toContain(`| ${pkgbase} | 1 → 2 |`);
      // The reviewer follows the description's link to the build set: the server's page of it.
      const link = /\[auto-qlib\]\(([^)]+)\)/.exec(mr.description)?.[1];
      expect(link, mr.description).toBeDefined();
      const page = await fetch(link!);
      expect(`${page.status} ${page.headers.get('content-type')}`, link).toMatch(/^200 text\/html/);
      expect(await page.text()).toContain(NAME);
      expect(head.author).toEqual({ name: PACKAGER.name, email: PACKAGER.email });
      expect(head.parentIds).toEqual([mainHeads.get(pkgbase)]);
      const before = archBundleFiles(recipe(pkgbase, '1.0-1', pkgbase === 'qapp' ? ['qlib'] : ['qapp']));
      const after = archBundleFiles(recipe(pkgbase, '1.0-2', pkgbase === 'qapp' ? ['qlib'] : ['qapp']));
      expect(project.repository.commitAt('main')!.files.get('PKGBUILD')).toBe(before.PKGBUILD);
      expect(head.files.get('PKGBUILD')).toBe(after.PKGBUILD);
      expect(head.files.get('.SRCINFO')).toBe(after['.SRCINFO']);
      bumpCommits.set(pkgbase, head.id);
    }

    // GitLab tells of what the bump made: a Push Hook for each new branch, a Merge Request Hook for each merge request
    // opened (from the server's token's user). Neither is a change of the set: no new iteration, no build set of its own.
    for (const pkgbase of ['qapp', 'qtool']) {
      const project = projects.get(pkgbase)!;
      const push = { project, branch: BRANCH, before: NULL_SHA, after: bumpCommits.get(pkgbase)!, commits: [project.repository.commits.get(bumpCommits.get(pkgbase)!)!] };
      expect(await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push), { 'X-Gitlab-Event-UUID': `${pkgbase}-bump-push` })).toBeLessThan(300);
      expect(await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(project, bumpMergeRequest(pkgbase), 'open'), { 'X-Gitlab-Event-UUID': `${pkgbase}-bump-open` })).toBeLessThan(300);
    }
    await rig.server.drain();

    // 3. The next iteration builds the bumps from their branches: qlib carried over, qapp then qtool through runner and executor.
    await timed('iteration 2: the bumps built', async () => {
      expect(latestIteration()).toBe(2);
      const builds = byPkgbase(await rig.waitForSettled(NAME, SETTLE_MS));
      expect(Object.fromEntries([...builds].map(([p, b]) => [p, `${b.version} ${b.state}`])), rig.report()).toEqual({ qlib: '2.0-1 built', qapp: '1.0-2 built', qtool: '1.0-2 built' });
      for (const pkgbase of ['qapp', 'qtool']) {
        const build = builds.get(pkgbase)!;
        expect({ ref: build.ref, sha: build.sha }).toEqual({ ref: BRANCH, sha: bumpCommits.get(pkgbase) });
        const pipeline = rig.gitlab.state.pipeline(build.pipeline_id!);
        expect({ ref: pipeline.ref, sha: pipeline.sha, status: pipeline.status }).toEqual({ ref: BRANCH, sha: bumpCommits.get(pkgbase), status: 'success' });
        const job = rig.runner.job(pipeline.jobIds[0]!)!;
        expect(job.trace).toContain(`Finished making: ${pkgbase} 1.0-2`);
      }
      // qtool's job fetched the iteration's repository with the bumped qapp in it, and installed that.
      const qtoolJob = rig.runner.job(rig.gitlab.state.pipeline(builds.get('qtool')!.pipeline_id!).jobIds[0]!)!;
      expect(qtoolJob.trace).toContain(`quarters: the build set's repository ${rig.url}/repos/${NAME}/2/x86_64/: 2 packages`);
      expect(qtoolJob.startedAt).toBeGreaterThanOrEqual(rig.runner.job(rig.gitlab.state.pipeline(builds.get('qapp')!.pipeline_id!).jobIds[0]!)!.finishedAt!);

      // The set's repository holds the bumped packages (pkgrel one higher), and only those.
      expect(await listed()).toEqual(['qapp-1.0-2', 'qlib-2.0-1', 'qtool-1.0-2']);
      const db = await repoFile(rig, NAME, 'quarters.db');
      for (const pkgbase of ['qapp', 'qtool']) {
        const desc = await dbEntry(db, `${pkgbase}-1.0-2`);
        expect(descField(desc, 'VERSION')).toBe('1.0-2');
        expect(descField(desc, 'FILENAME')).toBe(`${pkgbase}-1.0-2-any.pkg.tar.zst`);
        const pkginfo = (await execa('bsdtar', ['-xOf', '-', '.PKGINFO'], { input: await repoFile(rig, NAME, `${pkgbase}-1.0-2-any.pkg.tar.zst`) })).stdout;
        expect(pkginfo).toMatch(/^pkgver = 1\.0-2$/m);
        expect(pkginfo).toContain(`packager = ${PACKAGER.name} <${PACKAGER.email}>`);
        expect(await packageFile(rig, NAME, builds.get(pkgbase)!, `usr/share/${pkgbase}/version`)).toBe(`${pkgbase} 1.0-2`);
      }
      // What each build's container had installed: qapp the set's qlib, qtool the bumped qapp.
      expect(await packageFile(rig, NAME, builds.get('qapp')!, 'usr/share/qapp/saw-qlib')).toBe('qlib 2.0-1');
      expect(await packageFile(rig, NAME, builds.get('qtool')!, 'usr/share/qtool/saw-qapp')).toBe('qapp 1.0-2');
    });

    // Asked again (the packager is unsure it went through): the same merge requests are found, nothing is made or built again.
    await timed('quarters ns bump again (CLI)', async () => {
      const posts = rig.gitlab.requests.filter((r) => r.method === 'POST').length;
      const pipelines = ['qapp', 'qtool'].map((p) => rig.gitlab.state.pipelinesOf(projects.get(p)!).length);
      const again = await execa('node', [CLI, 'ns', 'bump', NAME, '--reason', REASON, '--server', rig.url, '--interval', '0.2'], { reject: false, env: { QUARTERS_API_TOKEN: API_TOKEN } });
      expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
      expect(again.stdout.split('\n').at(-1)).toBe(`${NAME}: done: opened=2 merged=0 closed=0 failed=0 pending=0`);
      expect(rig.gitlab.requests.filter((r) => r.method === 'POST').length).toBe(posts);
      expect(latestIteration()).toBe(2);
      expect(['qapp', 'qtool'].map((p) => rig.gitlab.state.pipelinesOf(projects.get(p)!).length)).toEqual(pipelines);
      for (const pkgbase of ['qapp', 'qtool']) expect([...projects.get(pkgbase)!.mergeRequests.values()]).toHaveLength(1);
    });

    // 4. A reviewer merges qapp's merge request, with GitLab's default method (a merge commit), and closes qtool's;
    // GitLab sends the merge's push, the removal of the source branch, and the merge requests' hooks.
    await timed('merge and close: the set follows', async () => {
      const qapp = projects.get('qapp')!;
      const qtool = projects.get('qtool')!;
      const qappMainBefore = qapp.repository.branches.get('main')!;
      const merged = rig.gitlab.state.finishMergeRequest(qapp, bumpMergeRequest('qapp').iid, 'merged', { method: 'merge-commit' });
      const mergeCommit = qapp.repository.commitAt('main')!;
      expect(mergeCommit.parentIds).toEqual([qappMainBefore, bumpCommits.get('qapp')]);
      const push = { project: qapp, branch: 'main', before: qappMainBefore, after: mergeCommit.id, commits: [qapp.repository.commits.get(bumpCommits.get('qapp')!)!, mergeCommit] };
      expect(await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push), { 'X-Gitlab-Event-UUID': 'qapp-merge-push' })).toBeLessThan(300);
      const deletion = { project: qapp, branch: BRANCH, before: bumpCommits.get('qapp')!, after: NULL_SHA, commits: [] };
      expect(await rig.deliver('Push Hook', rig.gitlab.pushHookBody(deletion), { 'X-Gitlab-Event-UUID': 'qapp-branch-removed' })).toBeLessThan(300);
      expect(await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(qapp, merged, 'merge'), { 'X-Gitlab-Event-UUID': 'qapp-merge' })).toBeLessThan(300);
      const closed = rig.gitlab.state.finishMergeRequest(qtool, bumpMergeRequest('qtool').iid, 'closed');
      expect(await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(qtool, closed, 'close'), { 'X-Gitlab-Event-UUID': 'qtool-close' })).toBeLessThan(300);

      await waitUntil(async () => (await bumpView()).counts.opened === 0, 60_000);
      const view = await bumpView();
      expect(Object.fromEntries(view.repositories.map((r) => [r.project, r.state]))).toEqual({ 'packages/qapp': 'merged', 'packages/qtool': 'closed' });
      expect(view.counts).toEqual({ pending: 0, opened: 0, merged: 1, closed: 1, failed: 0 });

      // The merge's push made no build set of its own; the closed bump is dropped: qtool builds from main, unbumped,
      // against the merged qapp; qapp, merged with the files the set built, is not rebuilt.
      expect(rig.server.store.listNamespaces().map((n) => n.name)).toEqual([NAME]);
      await waitUntil(async () => byPkgbase(await rig.builds(NAME)).get('qtool')!.ref === 'main', 60_000);
      const builds = byPkgbase(await rig.waitForSettled(NAME, SETTLE_MS));
      expect(Object.fromEntries([...builds].map(([p, b]) => [p, `${b.version} ${b.state} ${b.ref}`])), rig.report()).toEqual({ qlib: '2.0-1 built main', qapp: '1.0-2 built main', qtool: '1.0-1 built main' });
      expect(builds.get('qapp')!.sha).toBe(mergeCommit.id);
      expect(rig.gitlab.state.pipelinesOf(qapp)).toHaveLength(2); // iteration 1's and the bump's: none for the merge
      expect(rig.gitlab.state.pipelinesOf(qtool)).toHaveLength(3); // iteration 1's, the bump's, and the unbumped one's
      expect(builds.get('qtool')!.sha).toBe(mainHeads.get('qtool'));
      expect(await listed()).toEqual(['qapp-1.0-2', 'qlib-2.0-1', 'qtool-1.0-1']);
      expect(await packageFile(rig, NAME, builds.get('qtool')!, 'usr/share/qtool/saw-qapp')).toBe('qapp 1.0-2');
      // Iteration 1's repository is as it was: its qtool 1.0-1, of the same file name, is the one built against qapp 1.0-1.
      const first = await fetch(`${rig.url}/repos/${NAME}/1/x86_64/qtool-1.0-1-any.pkg.tar.zst`);
      expect(first.status).toBe(200);
      expect((await execa('bsdtar', ['-xOf', '-', 'usr/share/qtool/saw-qapp'], { input: Buffer.from(await first.arrayBuffer()) })).stdout).toBe('qapp 1.0-1');
    });
  }, 1_800_000);
});
