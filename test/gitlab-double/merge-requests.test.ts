/** The double's commits-with-actions and merge request routes, driven by the real @gitbeaker/rest client over HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gitlab } from '@gitbeaker/rest';
import { startGitLabDouble, type DoubleProject, type GitLabDouble } from './index.js';
import { failure } from './request-failure.js';


describe('commits with actions and merge requests', () => {
  let double: GitLabDouble;
  let api: InstanceType<typeof Gitlab>;
  let zlib: DoubleProject;

  beforeAll(async () => {
    double = await startGitLabDouble();
    api = new Gitlab({ host: double.url, token: double.token });
    zlib = double.state.addProject({ path: 'packages/zlib', files: { PKGBUILD: 'pkgrel=1\n', '.SRCINFO': '\tpkgrel = 1\n' } });
  });
  afterAll(async () => double.close());

  it('makes a branch and a commit from start_sha, with the given author', async () => {
    const base = zlib.repository.branches.get('main')!;
    const commit = await api.Commits.create(zlib.id, 'bump', 'Rebuild zlib', [
      { action: 'update', filePath: 'PKGBUILD', content: 'pkgrel=2\n' },
      { action: 'update', filePath: '.SRCINFO', content: Buffer.from('\tpkgrel = 2\n').toString('base64'), encoding: 'base64' },
    ], { startSha: base, authorName: 'Jane', authorEmail: 'jane@example.org' });
    expect(commit).toMatchObject({ title: 'Rebuild zlib', parent_ids: [base], author_name: 'Jane', author_email: 'jane@example.org' });
    const head = zlib.repository.commitAt('bump')!;
    expect(head.id).toBe(commit.id);
    expect(Object.fromEntries(head.files)).toEqual({ PKGBUILD: 'pkgrel=2\n', '.SRCINFO': '\tpkgrel = 2\n' });
    expect(zlib.repository.branches.get('main')).toBe(base);
    expect((await api.Branches.show(zlib.id, 'bump')).commit.id).toBe(commit.id);
  });

  it('answers as GitLab does to a commit it cannot make', async () => {
    const main = zlib.repository.branches.get('main')!;
    expect(await failure(api.Commits.create(zlib.id, 'bump', 'again', [{ action: 'update', filePath: 'PKGBUILD', content: 'x' }], { startSha: main })))
      .toEqual({ status: 400, description: "A branch called 'bump' already exists. Switch to that branch in order to make changes" });
    expect(await failure(api.Commits.create(zlib.id, 'other', 'm', [{ action: 'update', filePath: 'PKGBUILD', content: 'x' }])))
      .toEqual({ status: 400, description: 'You can only create or edit files when you are on a branch' });
    expect(await failure(api.Commits.create(zlib.id, 'other', 'm', [{ action: 'update', filePath: 'nope', content: 'x' }], { startBranch: 'main' })))
      .toEqual({ status: 400, description: "A file with this name doesn't exist" });
    expect(zlib.repository.branches.has('other')).toBe(false);
    expect((await failure(api.Branches.show(zlib.id, 'other'))).status).toBe(404);
  });

  it('opens a merge request, refuses a second open one for the same branches, and lists them by source branch and state', async () => {
    const created = await api.MergeRequests.create(zlib.id, 'bump', 'main', 'Rebuild zlib', { description: 'why', removeSourceBranch: true });
    expect(created).toMatchObject({ iid: 1, state: 'opened', source_branch: 'bump', target_branch: 'main', title: 'Rebuild zlib', description: 'why', sha: zlib.repository.branches.get('bump') });
    expect(await failure(api.MergeRequests.create(zlib.id, 'bump', 'main', 'again')))
      .toEqual({ status: 409, description: JSON.stringify(['Another open merge request already exists for this source branch: !1']) });
    expect((await failure(api.MergeRequests.create(zlib.id, 'missing', 'main', 't'))).status).toBe(422);
    expect((await api.MergeRequests.all({ projectId: zlib.id, sourceBranch: 'bump', state: 'opened' })).map((m) => m.iid)).toEqual([1]);
    expect(await api.MergeRequests.all({ projectId: zlib.id, sourceBranch: 'other' })).toEqual([]);
    const head = zlib.repository.branches.get('bump')!;
    double.state.finishMergeRequest(zlib, 1, 'merged');
    expect(zlib.repository.branches.get('main')).toBe(head);
    expect(zlib.repository.branches.has('bump')).toBe(false);
    expect(await api.MergeRequests.show(zlib.id, 1)).toMatchObject({ state: 'merged', sha: head });
    expect(await api.MergeRequests.all({ projectId: zlib.id, state: 'opened' })).toEqual([]);
    expect((await api.MergeRequests.all({ projectId: zlib.id, sourceBranch: 'bump', state: 'merged' })).map((m) => m.iid)).toEqual([1]);
    expect(double.mergeRequestHookBody(zlib, double.state.mergeRequest(zlib, 1), 'merge').object_attributes.last_commit).toMatchObject({ id: head });
  });

  it('merges with a merge commit, as GitLab\'s default method does: a new commit with both heads as parents and the source\'s files', async () => {
    const main = zlib.repository.branches.get('main')!;
    const commit = await api.Commits.create(zlib.id, 'bump-2', 'Rebuild zlib again', [{ action: 'update', filePath: 'PKGBUILD', content: 'pkgrel=3\n' }], { startSha: main });
    const created = await api.MergeRequests.create(zlib.id, 'bump-2', 'main', 'Rebuild zlib again', { removeSourceBranch: true });
    const merged = double.state.finishMergeRequest(zlib, created.iid, 'merged', { method: 'merge-commit' });
    const merge = zlib.repository.commitAt('main')!;
    expect(merge.parentIds).toEqual([main, commit.id]);
    expect(merge.id).not.toBe(commit.id);
    expect(Object.fromEntries(merge.files)).toEqual(Object.fromEntries(zlib.repository.commits.get(commit.id)!.files));
    expect(merged).toMatchObject({ mergedSha: commit.id, mergeCommitSha: merge.id });
    expect(await api.MergeRequests.show(zlib.id, created.iid)).toMatchObject({ state: 'merged', sha: commit.id, merge_commit_sha: merge.id });
    type Compared = { diffs: unknown[] };
    expect(((await api.Repositories.compare(zlib.id, commit.id, merge.id, { straight: true })) as unknown as Compared).diffs).toEqual([]);
    // A source that does not contain the target's head would need a conflict resolution the double does not do.
    zlib.repository.commit('side', { files: { README: 'x\n' } }, main);
    expect(() => zlib.repository.mergeCommit('main', 'side')).toThrow(/does not contain/);
  });
});
