/**
 * `quarters ns bump` against the GitLab double over real HTTP: 50 repositories bumped (one failing
 * midway, one losing its answer, GitLab rate-limiting), resumed with the built CLI, asked again
 * (nothing duplicated), and merge and close hooks reflected in the build set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NULL_SHA, type DoubleProject } from '../gitlab-double/index.js';
import { BUMP_CONCURRENCY } from '../../src/server/bumps/bumper.js';
import { BumpStore } from '../../src/server/store/bump-store.js';
import { API_TOKEN, srcinfo, startRig, type Rig } from './server-harness.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const NAME = 'soname-libfoo';
const REASON = 'rebuild against libfoo 2';
const BRANCH = `quarters/bump/${NAME}/1`;
const pkgbuild = (name: string) => `pkgname=${name}\npkgver=1.0\npkgrel=1\narch=(x86_64)\npackage() { :; }\n`;

describe('ns bump: a mass rebuild with version bumps', () => {
  let rig: Rig;
  const apps = new Map<string, DoubleProject>();
  const api = (method: string, path: string, body?: unknown) => fetch(`${rig.url}/api/v1${path}`, {
    method, headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const view = async () => (await (await api('GET', `/namespaces/${NAME}/bump`)).json()) as { state: string; counts: Record<string, number>; repositories: { project: string; state: string; error: string | null; commit: string | null; merge_request: { iid: number } | null; packages: { from: string; to: string }[] }[] };
  const latestBuilds = () => {
    const ns = rig.server.store.namespaceByName(NAME)!;
    const iteration = rig.server.store.latestIteration(ns.id)!;
    return { number: iteration.number, builds: new Map(rig.server.store.builds(iteration.id).map((b) => [b.pkgbase, b])) };
  };
  const bumpMergeRequests = (project: DoubleProject) => [...project.mergeRequests.values()].filter((mr) => mr.sourceBranch === BRANCH);

  beforeAll(async () => {
    rig = await startRig();
    rig.gitlab.state.addProject({ path: 'packages/libfoo', files: { PKGBUILD: pkgbuild('libfoo'), '.SRCINFO': srcinfo('libfoo') } });
    for (let i = 0; i < 50; i++) {
      const name = `app-${String(i).padStart(2, '0')}`;
      apps.set(name, rig.gitlab.state.addProject({ path: `packages/${name}`, files: { PKGBUILD: pkgbuild(name), '.SRCINFO': srcinfo(name, { depends: ['libfoo'] }) } }));
    }
    await rig.server.index.syncAll();
    const created = await api('POST', '/namespaces', { name: NAME, origin_changesets: ['libfoo@main'], packager: 'Jane Packager <jane@example.org>' });
    expect(created.status).toBe(201);
  }, 120_000);
  afterAll(async () => rig?.close());

  it('opens one merge request per repository, reports the one that failed, and builds the rest from their branches', async () => {
    const failing = apps.get('app-20')!;
    const lost = apps.get('app-30')!;
    // app-20's commit fails every time in this run; app-30's merge request is made but its answer lost; GitLab rate-limits some creates.
    const failure = rig.gitlab.faults.inject({ route: `POST /projects/${failing.id}/repository/commits`, respond: 500, times: Infinity });
    rig.gitlab.faults.inject({ route: `POST /projects/${lost.id}/merge_requests`, respond: 502, phase: 'after' });
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/merge_requests', respond: 429, retryAfter: 0, times: 3 });
    // Every other create takes a while, so that the repositories worked on at once can be counted.
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/merge_requests', delayMs: 30, times: Infinity });
    const creating = () => rig.gitlab.requests.filter((r) => r.status === 0 && r.method === 'POST' && /\/merge_requests$/.test(r.url)).length;
    let most = 0;
    const counter = setInterval(() => (most = Math.max(most, creating())), 5);

    const answer = await api('POST', `/namespaces/${NAME}/bump`, { reason: REASON });
    expect(answer.status).toBe(202);
    expect(await answer.json()).toMatchObject({ namespace: NAME, iteration: 1, reason: REASON, branch: BRANCH, maintainer: 'Jane Packager <jane@example.org>', state: 'running' });
    await rig.server.bumper.idle();
    clearInterval(counter);
    rig.gitlab.faults.clear();
    console.log(`bump: at most ${most} merge requests being created at once`);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(BUMP_CONCURRENCY);

    const done = await view();
    expect(done.state).toBe('done');
    expect(done.counts).toEqual({ pending: 0, opened: 49, merged: 0, closed: 0, failed: 1 });
    const failed = done.repositories.find((r) => r.state === 'failed')!;
    expect(failed.project).toBe('packages/app-20');
    expect(failed.error).toMatch(/status 500/);
    expect(failure.hits).toBeGreaterThan(1);
    expect(failing.repository.branches.has(BRANCH)).toBe(false);
    for (const [name, project] of apps) expect(bumpMergeRequests(project), name).toHaveLength(name === 'app-20' ? 0 : 1);

    // The next iteration builds the 49 bumped packages from their merge requests' branches, app-20 and the origin as before.
    const { number, builds } = latestBuilds();
    expect(number).toBe(2);
    for (const [name, project] of apps) {
      const build = builds.get(name)!;
      if (name === 'app-20') expect(build.ref).toBe('main');
      else expect({ ref: build.ref, sha: build.sha, version: build.version }).toEqual({ ref: BRANCH, sha: project.repository.branches.get(BRANCH), version: '1.0-2' });
    }
    expect(builds.get('libfoo')!.ref).toBe('main');
  }, 120_000);

  it('refuses another reason while the bump is open', async () => {
    const answer = await api('POST', `/namespaces/${NAME}/bump`, { reason: 'something else' });
    expect(answer.status).toBe(409);
    expect(await answer.json()).toMatchObject({ error: 'bump_in_progress' });
    expect((await api('POST', `/namespaces/${NAME}/bump`, { reason: 'two\nlines' })).status).toBe(400);
  });

  it.skipIf(!existsSync(CLI))('resumes with the CLI: the failed repository gets its merge request, nothing else is made twice', async () => {
    const requestsBefore = rig.gitlab.requests.filter((r) => r.method === 'POST' && /\/merge_requests$/.test(r.url.split('?')[0]!)).length;
    const result = await execa('node', [CLI, 'ns', 'bump', NAME, '--reason', REASON, '--server', rig.url, '--interval', '0.2'], { reject: false, env: { QUARTERS_API_TOKEN: API_TOKEN } });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${NAME}: bump of iteration 1 \\(${REASON}\\), branch ${BRANCH}, 50 repositories$`, 'm'));
    expect(result.stdout).toMatch(/^packages\/app-20 {2}opened !1 http:\/\/127\.0\.0\.1:\d+\/packages\/app-20\/-\/merge_requests\/1$/m);
    expect(result.stdout).toMatch(/: done: opened=50 merged=0 closed=0 failed=0 pending=0$/);
    const requestsAfter = rig.gitlab.requests.filter((r) => r.method === 'POST' && /\/merge_requests$/.test(r.url.split('?')[0]!)).length;
    expect(requestsAfter - requestsBefore).toBe(1);
    for (const [name, project] of apps) {
      const [mr] = bumpMergeRequests(project);
      expect(bumpMergeRequests(project), name).toHaveLength(1);
      expect(mr!.title).toBe(`Rebuild ${name}: ${REASON}`);
      expect(mr!.description).toContain(`| ${name} | 1 → 2 |`);
      expect(mr!.description).toContain(`[${NAME}](http://quarters.test/ui/namespaces/${NAME})`);
      const head = project.repository.commitAt(BRANCH)!;
      expect(head.files.get('PKGBUILD')).toBe(pkgbuild(name).replace('pkgrel=1', 'pkgrel=2'));
      expect(head.files.get('.SRCINFO')).toBe(srcinfo(name, { depends: ['libfoo'] }).replace('pkgrel = 1', 'pkgrel = 2'));
      expect(head.author).toEqual({ name: 'Jane Packager', email: 'jane@example.org' });
    }
    const { number, builds } = latestBuilds();
    expect(number).toBe(3);
    expect(builds.get('app-20')).toMatchObject({ ref: BRANCH, version: '1.0-2' });
  }, 120_000);

  it('is idempotent: asked again, it finds every merge request and plans nothing new', async () => {
    const before = latestBuilds().number;
    const posts = rig.gitlab.requests.filter((r) => r.method === 'POST').length;
    expect((await api('POST', `/namespaces/${NAME}/bump`, { reason: REASON })).status).toBe(202);
    await rig.server.bumper.idle();
    expect((await view()).counts).toMatchObject({ opened: 50, failed: 0 });
    expect(rig.gitlab.requests.filter((r) => r.method === 'POST').length).toBe(posts);
    expect(latestBuilds().number).toBe(before);
  });

  it('resumes at start-up a bump a stop interrupted, finding the merge request GitLab already has', async () => {
    // As if the server stopped after GitLab made app-10's merge request and before quarters recorded it.
    const bumps = new BumpStore(rig.server.db);
    const bump = bumps.latest(rig.server.store.namespaceByName(NAME)!.id)!;
    bumps.update(bump.id, apps.get('app-10')!.id, { state: 'pending', mr_iid: null, mr_url: null });
    expect((await view()).state).toBe('interrupted');
    const posts = rig.gitlab.requests.filter((r) => r.method === 'POST').length;
    await rig.restart();
    await rig.server.bumper.idle();
    const after = await view();
    expect(after).toMatchObject({ state: 'done', counts: { opened: 50, pending: 0 } });
    expect(after.repositories.find((r) => r.project === 'packages/app-10')!.merge_request).toMatchObject({ iid: 1 });
    expect(rig.gitlab.requests.filter((r) => r.method === 'POST').length).toBe(posts);
  }, 60_000);

  it('reflects merge and close hooks: a merged bump builds from the target branch, a closed one is dropped', async () => {
    const merged = apps.get('app-00')!;
    const closed = apps.get('app-01')!;
    const opened = apps.get('app-02')!;
    const bumpCommit = merged.repository.branches.get(BRANCH)!;
    const mainBefore = closed.repository.branches.get('main')!;

    // The open hook of a bump's merge request makes no merge request build set of its own.
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(opened, bumpMergeRequests(opened)[0]!, 'open'));
    expect(rig.server.store.listNamespaces().map((n) => n.name)).toEqual([NAME]);

    const mainOfMerged = merged.repository.branches.get('main')!;
    const mr = rig.gitlab.state.finishMergeRequest(merged, bumpMergeRequests(merged)[0]!.iid, 'merged');
    // GitLab may deliver the merge's push to main before the merge request's hook: the set builds that
    // very commit (on the bump branch), so the push starts no automatic rebuild and no new iteration.
    const iterationBefore = latestBuilds().number;
    const push = { project: merged, branch: 'main', before: mainOfMerged, after: bumpCommit, commits: [merged.repository.commits.get(bumpCommit)!] };
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push));
    expect(rig.server.store.listNamespaces().map((n) => n.name)).toEqual([NAME]);
    expect(latestBuilds().number).toBe(iterationBefore);
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(merged, mr, 'merge'));
    await rig.server.bumper.idle();
    let { builds } = latestBuilds();
    expect(builds.get('app-00')).toMatchObject({ ref: 'main', sha: bumpCommit, version: '1.0-2' });
    expect(merged.repository.branches.has(BRANCH)).toBe(false);

    const shut = rig.gitlab.state.finishMergeRequest(closed, bumpMergeRequests(closed)[0]!.iid, 'closed');
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(closed, shut, 'close'));
    ({ builds } = latestBuilds());
    expect(builds.get('app-01')).toMatchObject({ ref: 'main', sha: mainBefore, version: '1.0-1' });
    expect(builds.get('app-02')).toMatchObject({ ref: BRANCH });

    // A push to a bump branch under review (the merge request's update hook): the set builds its new head.
    const fix = rig.gitlab.state.pushFiles(opened, { 'README': 'reviewed\n' }, { branch: BRANCH });
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(opened, bumpMergeRequests(opened)[0]!, 'update', { oldrev: fix.before }));
    ({ builds } = latestBuilds());
    expect(builds.get('app-02')).toMatchObject({ ref: BRANCH, sha: fix.after });

    const states = Object.fromEntries((await view()).repositories.map((r) => [r.project, r.state]));
    expect(states['packages/app-00']).toBe('merged');
    expect(states['packages/app-01']).toBe('closed');
    expect((await view()).counts).toMatchObject({ opened: 48, merged: 1, closed: 1 });
    // The same hook again changes nothing.
    const number = latestBuilds().number;
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(closed, shut, 'close'));
    expect(latestBuilds().number).toBe(number);
  }, 60_000);

  it('takes a bump merged with a merge commit (GitLab\'s default method) as the bump: its push makes no build set of its own', async () => {
    // (That the build is carried over rather than made again, once built, is test/system/bump-system.test.ts's: here nothing builds.)
    const project = apps.get('app-03')!;
    const bumpCommit = project.repository.branches.get(BRANCH)!;
    const mainBefore = project.repository.branches.get('main')!;
    const mr = rig.gitlab.state.finishMergeRequest(project, bumpMergeRequests(project)[0]!.iid, 'merged', { method: 'merge-commit' });
    const merge = project.repository.commitAt('main')!;
    expect(merge.parentIds).toEqual([mainBefore, bumpCommit]);
    // The push of the merge commit first, the source branch's removal, then the merge request's hook.
    const push = { project, branch: 'main', before: mainBefore, after: merge.id, commits: [project.repository.commits.get(bumpCommit)!, merge] };
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push));
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody({ project, branch: BRANCH, before: bumpCommit, after: NULL_SHA, commits: [] }));
    expect(rig.server.store.listNamespaces().map((n) => n.name)).toEqual([NAME]);
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(project, mr, 'merge'));
    await rig.server.bumper.idle();
    expect(rig.server.store.listNamespaces().map((n) => n.name)).toEqual([NAME]);
    expect(latestBuilds().builds.get('app-03')).toMatchObject({ ref: 'main', sha: merge.id, version: '1.0-2' });
    // A push that changes the recipe after all is a change as any other: the automatic build set builds it.
    const changed = rig.gitlab.state.pushFiles(project, { PKGBUILD: pkgbuild('app-03').replace('pkgrel=1', 'pkgrel=3') }, {});
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(changed));
    expect(latestBuilds().builds.get('app-03')).toMatchObject({ ref: 'main', sha: changed.after });
  }, 60_000);
});
