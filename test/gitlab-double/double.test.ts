/** The double speaks GitLab's documented REST API to the real @gitbeaker/rest client over HTTP. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Gitlab } from '@gitbeaker/rest';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { startGitLabDouble, type GitLabDouble, type DoubleProject, NULL_SHA, PUSH_HOOK_COMMIT_LIMIT } from './index.js';
import { failure } from './request-failure.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../shared/fixtures/gitlab-webhooks/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;


let double: GitLabDouble;
let api: InstanceType<typeof Gitlab>;
let zlib: DoubleProject;

beforeAll(async () => {
  double = await startGitLabDouble();
  api = new Gitlab({ host: double.url, token: double.token });
});
afterAll(async () => double.close());

let projectCounter = 0;
beforeEach(() => {
  projectCounter += 1;
  zlib = double.state.addProject({
    path: `arch${projectCounter}/packages/zlib`,
    files: { PKGBUILD: 'pkgname=zlib\npkgver=1.3\n', '.SRCINFO': 'pkgbase = zlib\n\tpkgver = 1.3\n', 'keys/pgp/key.asc': 'KEY\n' },
  });
  double.faults.clear();
});

/** A raw request to the double, for headers and bodies gitbeaker hides. */
async function raw(path: string, init: RequestInit & { token?: string | null } = {}) {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set('private-token', init.token ?? double.token);
  const response = await fetch(double.apiUrl + path, { ...init, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as unknown };
}

describe('authentication', () => {
  it('answers 401 without a token, with a wrong one, and accepts PRIVATE-TOKEN and Authorization: Bearer', async () => {
    const missing = await raw(`/projects/${zlib.id}`, { token: null });
    expect(missing.status).toBe(401);
    expect(missing.json()).toEqual({ message: '401 Unauthorized' });
    expect(await failure(new Gitlab({ host: double.url, token: 'wrong' }).Projects.show(zlib.id))).toEqual({ status: 401, description: '401 Unauthorized' });
    const bearer = await new Gitlab({ host: double.url, oauthToken: double.token }).Projects.show(zlib.id);
    expect(bearer.id).toBe(zlib.id);
  });
});

describe('users', () => {
  it('answers GET /user with the token\'s user, and records that user on the pipelines it creates through the API', async () => {
    expect(await api.Users.showCurrentUser()).toMatchObject({ id: 1, username: 'quarters-bot', state: 'active', email: 'quarters@example.com', bot: false });
    const token = double.addAccessToken({ id: 42, username: 'someone', name: 'Some One', email: 'someone@example.org' });
    const theirs = new Gitlab({ host: double.url, token });
    expect(await theirs.Users.showCurrentUser()).toMatchObject({ id: 42, username: 'someone', web_url: `${double.url}/someone` });
    const pipeline = await theirs.Pipelines.create(zlib.id, 'main');
    expect(pipeline).toMatchObject({ source: 'api', user: { id: 42, username: 'someone' } });
    expect((await api.Pipelines.show(zlib.id, pipeline.id)).user).toMatchObject({ username: 'someone' });
    expect(await failure(new Gitlab({ host: double.url, token: 'wrong' }).Users.showCurrentUser())).toEqual({ status: 401, description: '401 Unauthorized' });
  });
});

describe('malformed requests', () => {
  it('answers 400 for a body that is not JSON, 404 for an unknown route, and caps per_page at 100', async () => {
    const badJson = await raw(`/projects/${zlib.id}/pipeline`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ref":' });
    expect(badJson.status).toBe(400);
    expect(badJson.json()).toEqual({ error: 'the request body is not valid JSON' });
    expect((await raw('/no/such/route')).json()).toEqual({ error: '404 Not Found' });
    const capped = await raw(`/projects/${zlib.id}/repository/tree?per_page=1000`);
    expect(capped.headers.get('x-per-page')).toBe('100');
  });
});

describe('projects', () => {
  it('shows a project by id and by URL-encoded path, 404 for an unknown one', async () => {
    const byId = await api.Projects.show(zlib.id);
    const byPath = await api.Projects.show(zlib.pathWithNamespace);
    expect(byPath).toEqual(byId);
    expect(byId).toMatchObject({ id: zlib.id, path: 'zlib', path_with_namespace: zlib.pathWithNamespace, default_branch: 'main', namespace: { kind: 'group', full_path: zlib.group.fullPath } });
    expect(double.requests.at(-1)!.url).toBe(`/api/v4/projects/${encodeURIComponent(zlib.pathWithNamespace)}`);
    expect(await failure(api.Projects.show('nobody/nothing'))).toEqual({ status: 404, description: '404 Project Not Found' });
  });

  it('lists group projects with include_subgroups, paginated with x-total, x-next-page and Link', async () => {
    const group = `grp${projectCounter}`;
    for (const name of ['a', 'b', 'c']) double.state.addProject({ path: `${group}/${name}` });
    double.state.addProject({ path: `${group}/sub/d` });
    const direct = await api.Groups.allProjects(group, { perPage: 2 });
    expect(direct.map((p) => p.name).sort()).toEqual(['a', 'b', 'c']);
    const all = await api.Groups.allProjects(group, { includeSubgroups: true, orderBy: 'name', sort: 'asc' });
    expect(all.map((p) => p.name)).toEqual(['a', 'b', 'c', 'd']);

    const page1 = await raw(`/groups/${group}/projects?include_subgroups=true&per_page=3&order_by=name&sort=asc`);
    expect(page1.headers.get('x-total')).toBe('4');
    expect(page1.headers.get('x-total-pages')).toBe('2');
    expect(page1.headers.get('x-next-page')).toBe('2');
    expect(page1.headers.get('x-page')).toBe('1');
    const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get('link')!)![1]!;
    expect(new URL(next).searchParams.get('include_subgroups')).toBe('true');
    const page2 = await raw(next.slice(double.apiUrl.length));
    expect((page2.json() as { name: string }[]).map((p) => p.name)).toEqual(['d']);
    expect(page2.headers.get('x-next-page')).toBe('');
    expect(page2.headers.get('link')).not.toContain('rel="next"');

    expect((await raw(`/groups/${group}/projects?per_page=zero`)).json()).toEqual({ error: 'per_page is invalid' });
    expect((await raw(`/groups/${group}/projects?order_by=size`)).status).toBe(400);
    expect(await failure(api.Groups.allProjects('no-such-group'))).toEqual({ status: 404, description: '404 Group Not Found' });
  });
});

describe('repository', () => {
  it('reads raw files and file metadata at a ref, with URL-encoded paths', async () => {
    expect(await api.RepositoryFiles.showRaw(zlib.id, 'keys/pgp/key.asc', 'main')).toBe('KEY\n');
    const file = await api.RepositoryFiles.show(zlib.id, '.SRCINFO', 'main');
    expect(file).toMatchObject({ file_name: '.SRCINFO', file_path: '.SRCINFO', encoding: 'base64', ref: 'main', size: 29 });
    expect(Buffer.from(file.content, 'base64').toString()).toBe('pkgbase = zlib\n\tpkgver = 1.3\n');
    expect(file.commit_id).toBe(zlib.repository.branches.get('main'));
    expect(await failure(api.RepositoryFiles.showRaw(zlib.id, 'missing', 'main'))).toEqual({ status: 404, description: '404 File Not Found' });
    expect(await failure(api.RepositoryFiles.showRaw(zlib.id, 'PKGBUILD', 'no-such-branch'))).toEqual({ status: 404, description: '404 Commit Not Found' });
    expect((await raw(`/projects/${zlib.id}/repository/files/PKGBUILD`)).json()).toEqual({ error: 'ref is missing' });
    expect((await raw(`/projects/${zlib.id}/repository/files/PKGBUILD/raw`)).text).toBe('pkgname=zlib\npkgver=1.3\n');
  });

  it('reads a file at an older commit after a push', async () => {
    const first = zlib.repository.branches.get('main')!;
    double.state.pushFiles(zlib, { PKGBUILD: 'pkgname=zlib\npkgver=1.4\n' });
    expect(await api.RepositoryFiles.showRaw(zlib.id, 'PKGBUILD', first)).toBe('pkgname=zlib\npkgver=1.3\n');
    expect(await api.RepositoryFiles.showRaw(zlib.id, 'PKGBUILD', 'main')).toBe('pkgname=zlib\npkgver=1.4\n');
  });

  it('lists the tree at a path, recursively, paginated', async () => {
    const top = await api.Repositories.allRepositoryTrees(zlib.id, { ref: 'main' });
    expect(top.map((e) => [e.type, e.path])).toEqual([['tree', 'keys'], ['blob', '.SRCINFO'], ['blob', 'PKGBUILD']]);
    const sub = await api.Repositories.allRepositoryTrees(zlib.id, { ref: 'main', path: 'keys', recursive: true });
    expect(sub.map((e) => e.path)).toEqual(['keys/pgp', 'keys/pgp/key.asc']);
    const page = await raw(`/projects/${zlib.id}/repository/tree?ref=main&recursive=true&per_page=2&page=2`);
    expect(page.headers.get('x-total')).toBe('5');
    expect((page.json() as { path: string }[]).map((e) => e.path)).toEqual(['.SRCINFO', 'PKGBUILD']);
    expect(await failure(api.Repositories.allRepositoryTrees(zlib.id, { ref: 'main', path: 'nope' }))).toEqual({ status: 404, description: '404 Tree Not Found' });
    expect(await failure(api.Repositories.allRepositoryTrees(zlib.id, { ref: 'no-such-ref' }))).toEqual({ status: 404, description: '404 Tree Not Found' });
  });

  it('force-pushes: the hook lists the new history since the merge base; compare goes through the merge base unless straight', async () => {
    const project = double.state.addProject({ path: 'packages/forced', files: { 'a.txt': 'a1\n' } });
    const base = project.repository.branches.get('main')!;
    const old = double.state.push(project, { commits: [{ files: { 'a.txt': 'a2\n', 'b.txt': 'b\n' } }] });
    const forced = double.state.push(project, { force: true, from: base, commits: [{ files: { 'c.txt': 'c\n' } }] });
    expect(forced.before).toBe(old.after);
    expect(project.repository.commitAt(forced.after)!.parentIds).toEqual([base]);
    expect(forced.commits.map((c) => c.id)).toEqual([forced.after]);
    expect(double.pushHookBody(forced)).toMatchObject({ before: old.after, after: forced.after, total_commits_count: 1 });
    type Diffs = { diffs: { new_path: string; deleted_file: boolean }[]; commits: { id: string }[] };
    const viaBase = await api.Repositories.compare(project.id, forced.before, forced.after) as unknown as Diffs;
    expect(viaBase.commits.map((c) => c.id)).toEqual([forced.after]);
    expect(viaBase.diffs.map((d) => d.new_path)).toEqual(['c.txt']);
    const straight = await api.Repositories.compare(project.id, forced.before, forced.after, { straight: true }) as unknown as Diffs;
    expect(straight.diffs.map((d) => [d.new_path, d.deleted_file])).toEqual([['a.txt', false], ['b.txt', true], ['c.txt', false]]);
    // A rewind: the branch goes back to an ancestor; the hook lists no commit.
    const rewound = double.state.push(project, { force: true, from: base, commits: [] });
    expect(rewound).toMatchObject({ before: forced.after, after: base, commits: [] });
    expect(double.pushHookBody(rewound)).toMatchObject({ total_commits_count: 0, commits: [] });
  });

  it('compares two commits: commits oldest first, diffs with new, deleted and renamed files', async () => {
    const before = zlib.repository.branches.get('main')!;
    const push = double.state.push(zlib, {
      commits: [
        { files: { PKGBUILD: 'pkgname=zlib\npkgver=1.4\n', 'zlib.install': 'post_install() {}\n' } },
        { files: { 'keys/pgp/key.asc': null, 'keys/pgp/renamed.asc': 'KEY\n', '.SRCINFO': null } },
      ],
    });
    // gitbeaker's compare typing does not survive its camelize generics; the documented shape is asserted here.
    const comparison = await api.Repositories.compare(zlib.id, before, 'main') as unknown as {
      commit: { id: string }; commits: { id: string }[];
      diffs: { old_path: string; new_path: string; new_file: boolean; deleted_file: boolean; renamed_file: boolean; diff: string }[];
    };
    expect(comparison.commits.map((c) => c.id)).toEqual(push.commits.map((c) => c.id));
    expect(comparison.commit.id).toBe(push.after);
    const diffs = comparison.diffs.map((d) => ({ old_path: d.old_path, new_path: d.new_path, new_file: d.new_file, deleted_file: d.deleted_file, renamed_file: d.renamed_file }));
    expect(diffs).toEqual([
      { old_path: '.SRCINFO', new_path: '.SRCINFO', new_file: false, deleted_file: true, renamed_file: false },
      { old_path: 'PKGBUILD', new_path: 'PKGBUILD', new_file: false, deleted_file: false, renamed_file: false },
      { old_path: 'keys/pgp/key.asc', new_path: 'keys/pgp/renamed.asc', new_file: false, deleted_file: false, renamed_file: true },
      { old_path: 'zlib.install', new_path: 'zlib.install', new_file: true, deleted_file: false, renamed_file: false },
    ]);
    expect(comparison.diffs.find((d) => d.new_path === 'PKGBUILD')!.diff).toContain('+pkgver=1.4');
    expect(comparison).toMatchObject({ compare_timeout: false, compare_same_ref: false });
    expect((await raw(`/projects/${zlib.id}/repository/compare?from=${before}`)).json()).toEqual({ error: 'to is missing' });
    expect(await failure(api.Repositories.compare(zlib.id, before, 'no-such-branch'))).toEqual({ status: 404, description: '404 Ref Not Found' });
  });

  it('shows a commit and lists branches', async () => {
    const push = double.state.pushFiles(zlib, { 'new.txt': 'x\n' }, { branch: 'feature', message: 'Add new.txt\n\nBody' });
    const commit = await api.Commits.show(zlib.id, push.after);
    expect(commit).toMatchObject({ id: push.after, short_id: push.after.slice(0, 8), title: 'Add new.txt', parent_ids: [push.before === NULL_SHA ? zlib.repository.branches.get('main') : push.before] });
    expect(await failure(api.Commits.show(zlib.id, 'f'.repeat(40)))).toEqual({ status: 404, description: '404 Commit Not Found' });
    const branches = await api.Branches.all(zlib.id);
    expect(branches.map((b) => [b.name, b.default])).toEqual([['feature', false], ['main', true]]);
    expect((await api.Branches.show(zlib.id, 'feature')).commit.id).toBe(push.after);
  });
});

describe('pipelines', () => {
  const variables = [{ key: 'QUARTERS_BUILD_ID', value: '42', variable_type: 'env_var' as const }];

  it('creates a pipeline (201) with variables the test can read back, at the ref\'s head', async () => {
    const created = await raw(`/projects/${zlib.id}/pipeline`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ref: 'main', variables }) });
    expect(created.status).toBe(201);
    const pipeline = created.json() as { id: number; sha: string; status: string; ref: string; source: string };
    expect(pipeline).toMatchObject({ ref: 'main', sha: zlib.repository.branches.get('main'), status: 'pending', source: 'api' });
    expect(double.state.pipeline(pipeline.id).variables).toEqual(variables);
    expect(await api.Pipelines.allVariables(zlib.id, pipeline.id)).toEqual(variables);
    const viaGitbeaker = await api.Pipelines.create(zlib.id, 'main', { variables } as never);
    expect(double.state.pipeline(viaGitbeaker.id).variables).toEqual(variables);
  });

  it('rejects a missing ref, an unknown ref and malformed variables with 400', async () => {
    const post = (body: unknown) => raw(`/projects/${zlib.id}/pipeline`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({})).json()).toEqual({ error: 'ref is missing' });
    const unknown = await post({ ref: 'nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toEqual({ message: { base: ['Reference not found'] } });
    expect((await post({ ref: 'main', variables: [{ key: 'A', value: 'b', variable_type: 'secret' }] })).json()).toEqual({ error: 'variables[variable_type] does not have a valid value' });
    expect(await failure(api.Pipelines.create(9_999_999, 'main'))).toEqual({ status: 404, description: '404 Project Not Found' });
    const withoutCi = double.state.addProject({ path: `noci${projectCounter}/pkg`, files: { PKGBUILD: '' }, ciJobs: [] });
    expect(await failure(api.Pipelines.create(withoutCi.id, 'main'))).toEqual({ status: 400, description: '{"base":["Missing CI config file"]}' });
  });

  it('lists pipelines filtered by sha, ref and status, ordered and sorted', async () => {
    const first = await api.Pipelines.create(zlib.id, 'main');
    const push = double.state.pushFiles(zlib, { PKGBUILD: 'pkgver=2\n' });
    const second = await api.Pipelines.create(zlib.id, 'main');
    await double.state.finishPipeline(second.id, 'success');
    expect((await api.Pipelines.all(zlib.id)).map((p) => p.id)).toEqual([second.id, first.id]);
    expect((await api.Pipelines.all(zlib.id, { sort: 'asc' })).map((p) => p.id)).toEqual([first.id, second.id]);
    expect((await api.Pipelines.all(zlib.id, { sha: push.after })).map((p) => p.id)).toEqual([second.id]);
    expect((await api.Pipelines.all(zlib.id, { status: 'pending' })).map((p) => p.id)).toEqual([first.id]);
    expect((await api.Pipelines.all(zlib.id, { ref: 'other' }))).toEqual([]);
    expect((await raw(`/projects/${zlib.id}/pipelines?status=bogus`)).json()).toEqual({ error: 'status does not have a valid value' });
    const shown = await api.Pipelines.show(zlib.id, second.id);
    expect(shown).toMatchObject({ id: second.id, status: 'success', sha: push.after, before_sha: push.before });
    expect(shown.finished_at).not.toBeNull();
    expect(await failure(api.Pipelines.show(zlib.id, 1))).toEqual({ status: 404, description: '404 Not found' });
    expect((await raw(`/projects/${zlib.id}/pipelines/abc`)).json()).toEqual({ error: 'pipeline_id is invalid' });
  });

  it('runs jobs: a running job has a token GET /job accepts; it stops working when the job finishes', async () => {
    const pipeline = await api.Pipelines.create(zlib.id, 'main');
    const [job] = double.state.jobsOf(pipeline.id);
    expect(job!.status).toBe('pending');
    expect((await raw('/job', { token: null, headers: { 'job-token': job!.token } })).status).toBe(401);
    const token = await double.state.startJob(job!.id);
    for (const headers of [{ 'job-token': token }, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
      const answer = await raw('/job', { token: null, headers });
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ id: job!.id, status: 'running', pipeline: { id: pipeline.id, project_id: zlib.id, ref: 'main', sha: pipeline.sha, status: 'running' } });
    }
    expect((await raw(`/job?job_token=${token}`, { token: null })).status).toBe(200);
    expect((await api.Pipelines.show(zlib.id, pipeline.id)).status).toBe('running');
    await double.state.finishJob(job!.id, 'success');
    expect((await raw('/job', { token: null, headers: { 'job-token': token } })).json()).toEqual({ message: '401 Unauthorized' });
    expect((await api.Pipelines.show(zlib.id, pipeline.id)).status).toBe('success');
  });

  it('cancels a pipeline (200) and retries it (201): failed jobs are replaced, the old ones kept as retried', async () => {
    const pipeline = await api.Pipelines.create(zlib.id, 'main');
    const canceled = await raw(`/projects/${zlib.id}/pipelines/${pipeline.id}/cancel`, { method: 'POST' });
    expect(canceled.status).toBe(200);
    expect(canceled.json()).toMatchObject({ id: pipeline.id, status: 'canceled' });
    const retried = await api.Pipelines.retry(zlib.id, pipeline.id);
    expect(retried.status).toBe('pending');
    const { job } = await double.state.startPipeline(pipeline.id);
    await double.state.finishJob(job.id, 'failed');
    expect((await api.Pipelines.show(zlib.id, pipeline.id)).status).toBe('failed');
    await api.Pipelines.retry(zlib.id, pipeline.id);
    const current = await api.Jobs.all(zlib.id, { pipelineId: pipeline.id });
    expect(current.map((j) => j.status)).toEqual(['pending']);
    const withRetried = await api.Jobs.all(zlib.id, { pipelineId: pipeline.id, includeRetried: true } as never);
    expect(withRetried.map((j) => j.status)).toEqual(['pending', 'failed', 'canceled']);
    expect((await api.Jobs.all(zlib.id, { pipelineId: pipeline.id, scope: ['failed'] } as never)).length).toBe(0);
    await double.state.finishPipeline(pipeline.id, 'success');
    const nothingToRetry = await raw(`/projects/${zlib.id}/pipelines/${pipeline.id}/retry`, { method: 'POST' });
    expect(nothingToRetry.status).toBe(201);
    expect(nothingToRetry.json()).toMatchObject({ status: 'success' });
  });
});

describe('merge request notes', () => {
  it('creates (201), lists (newest first by default) and edits notes', async () => {
    double.state.pushFiles(zlib, { PKGBUILD: 'pkgrel=2\n' }, { branch: 'feature' });
    const mergeRequest = double.state.addMergeRequest(zlib, { sourceBranch: 'feature' });
    const first = await api.MergeRequestNotes.create(zlib.id, mergeRequest.iid, 'first');
    const second = await api.MergeRequestNotes.create(zlib.id, mergeRequest.iid, 'second');
    expect(first).toMatchObject({ body: 'first', noteable_type: 'MergeRequest', noteable_iid: mergeRequest.iid, system: false, author: { username: 'quarters-bot' } });
    expect((await api.MergeRequestNotes.all(zlib.id, mergeRequest.iid)).map((n) => n.body)).toEqual(['second', 'first']);
    expect((await api.MergeRequestNotes.all(zlib.id, mergeRequest.iid, { sort: 'asc' })).map((n) => n.body)).toEqual(['first', 'second']);
    const edited = await api.MergeRequestNotes.edit(zlib.id, mergeRequest.iid, first.id, { body: 'first, edited' });
    expect(edited).toMatchObject({ id: first.id, body: 'first, edited' });
    expect(double.state.mergeRequestNotes(zlib, mergeRequest.iid).map((n) => n.body)).toEqual(['first, edited', 'second']);
    expect(second.id).toBeGreaterThan(first.id);
    const post = await raw(`/projects/${zlib.id}/merge_requests/${mergeRequest.iid}/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.json()).toEqual({ error: 'body is missing' });
    expect(await failure(api.MergeRequestNotes.all(zlib.id, 999))).toEqual({ status: 404, description: '404 MergeRequest Not Found' });
    expect(await failure(api.MergeRequestNotes.edit(zlib.id, mergeRequest.iid, 123456, { body: 'x' }))).toEqual({ status: 404, description: '404 Not found' });
  });
});

describe('commit statuses', () => {
  it('sets a status (201) by name, moves it pending → running → success, and lists the latest per name', async () => {
    const sha = zlib.repository.branches.get('main')!;
    const pending = await api.Commits.editStatus(zlib.id, sha, 'pending', { name: 'quarters/x86_64', targetUrl: 'https://q.example/ui/namespaces/ns', description: '0/3 built' });
    expect(pending).toMatchObject({ sha, ref: 'main', status: 'pending', name: 'quarters/x86_64', target_url: 'https://q.example/ui/namespaces/ns', description: '0/3 built', allow_failure: false });
    expect(pending.author).toMatchObject({ username: 'quarters-bot' });
    const running = await api.Commits.editStatus(zlib.id, sha, 'running', { name: 'quarters/x86_64', description: '1/3 built' });
    // The open status of that name moved on: same id, the target URL kept.
    expect(running).toMatchObject({ id: pending.id, status: 'running', target_url: 'https://q.example/ui/namespaces/ns', description: '1/3 built' });
    await api.Commits.editStatus(zlib.id, sha, 'running', { context: 'quarters/aarch64' });
    const done = await api.Commits.editStatus(zlib.id, sha, 'success', { name: 'quarters/x86_64' });
    expect(done).toMatchObject({ id: pending.id, status: 'success' });
    expect(done.finished_at).not.toBeNull();
    // A finished status is not reopened: the next one is a new status, and it is the latest.
    const again = await api.Commits.editStatus(zlib.id, sha, 'running', { name: 'quarters/x86_64' });
    expect(again.id).not.toBe(pending.id);
    const latest = await api.Commits.allStatuses(zlib.id, sha);
    expect(latest.map((s) => [s.name, s.status])).toEqual([['quarters/aarch64', 'running'], ['quarters/x86_64', 'running']]);
    expect((await api.Commits.allStatuses(zlib.id, sha, { all: true })).map((s) => s.status)).toEqual(['success', 'running', 'running']);
    expect((await api.Commits.allStatuses(zlib.id, sha, { name: 'quarters/aarch64' })).map((s) => s.name)).toEqual(['quarters/aarch64']);
  });

  it('refuses what GitLab refuses: the same open state twice, pending after running, bad states, unknown commits, long fields', async () => {
    const sha = zlib.repository.branches.get('main')!;
    await api.Commits.editStatus(zlib.id, sha, 'pending', { name: 'ctx' });
    expect(await failure(api.Commits.editStatus(zlib.id, sha, 'pending', { name: 'ctx' }))).toEqual({
      status: 400, description: 'Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via "enqueue")',
    });
    await api.Commits.editStatus(zlib.id, sha, 'running', { name: 'ctx' });
    expect(await failure(api.Commits.editStatus(zlib.id, sha, 'running', { name: 'ctx' }))).toMatchObject({ status: 400, description: expect.stringContaining('via :run from :running') as string });
    expect(await failure(api.Commits.editStatus(zlib.id, sha, 'pending', { name: 'ctx' }))).toMatchObject({ status: 400, description: expect.stringContaining('via :enqueue from :running') as string });
    // A finished state may be set straight away: a new status starts and finishes.
    expect(await api.Commits.editStatus(zlib.id, sha, 'failed', { name: 'other' })).toMatchObject({ status: 'failed', name: 'other' });
    expect(await api.Commits.editStatus(zlib.id, sha, 'canceled')).toMatchObject({ status: 'canceled', name: 'default' });

    const bad = await raw(`/projects/${zlib.id}/statuses/${sha}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'error' }) });
    expect([bad.status, bad.json()]).toEqual([400, { error: 'state does not have a valid value' }]);
    const missing = await raw(`/projects/${zlib.id}/statuses/${sha}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([missing.status, missing.json()]).toEqual([400, { error: 'state is missing' }]);
    expect(await failure(api.Commits.editStatus(zlib.id, 'f'.repeat(40), 'pending'))).toEqual({ status: 404, description: '404 Commit Not Found' });
    expect(await failure(api.Commits.allStatuses(zlib.id, 'f'.repeat(40)))).toEqual({ status: 404, description: '404 Commit Not Found' });
    const long = await raw(`/projects/${zlib.id}/statuses/${sha}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'pending', name: 'long', description: 'x'.repeat(256) }) });
    expect([long.status, long.json()]).toEqual([400, { message: { description: ['is too long (maximum is 255 characters)'] } }]);
  });
});

describe('webhooks', () => {
  let receiver: ServerType;
  let received: { headers: Record<string, string>; body: Record<string, unknown> }[];
  let receiverUrl: string;

  beforeAll(async () => {
    const app = new Hono().post('/webhooks/gitlab', async (c) => {
      received.push({ headers: Object.fromEntries(c.req.raw.headers), body: await c.req.json() });
      return c.json({ ok: true }, 202);
    });
    receiver = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/gitlab`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  beforeEach(() => {
    received = [];
  });

  it('POSTs a Pipeline Hook shaped like GitLab\'s on every status change, with the secret and event headers', async () => {
    double.setPipelineHook({ url: receiverUrl, secret: 'hook-secret' });
    try {
      const pipeline = await api.Pipelines.create(zlib.id, 'main', { variables: [{ key: 'QUARTERS_BUILD_ID', value: '7' }] } as never);
      await double.state.settled();
      await double.state.startPipeline(pipeline.id);
      await double.state.finishPipeline(pipeline.id, 'failed');
      expect(received.map((r) => (r.body.object_attributes as { status: string }).status)).toEqual(['pending', 'running', 'failed']);
      const hook = received[1];
      expect(hook!.headers).toMatchObject({ 'x-gitlab-event': 'Pipeline Hook', 'x-gitlab-token': 'hook-secret', 'content-type': 'application/json' });
      expect(hook!.headers['x-gitlab-event-uuid']).toMatch(/^[0-9a-f-]{36}$/);
      expect(hook!.headers['idempotency-key']).toBe(hook!.headers['x-gitlab-event-uuid']);
      const expected = fixture('pipeline.json');
      expect(Object.keys(hook!.body).sort()).toEqual(Object.keys(expected).filter((k) => k !== 'source_pipeline').sort());
      expect(Object.keys(hook!.body.object_attributes as object).sort()).toEqual(expect.arrayContaining(Object.keys(expected.object_attributes as object)));
      expect(hook!.body.object_attributes).toMatchObject({ id: pipeline.id, sha: pipeline.sha, variables: [{ key: 'QUARTERS_BUILD_ID', value: '7' }] });
      expect((hook!.body.object_attributes as { created_at: string }).created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
      expect(Object.keys((hook!.body.builds as object[])[0]!).sort()).toEqual(Object.keys((expected.builds as object[])[0]!).sort());
      expect(double.hookDeliveries.slice(-3).map((d) => d.status)).toEqual([202, 202, 202]);
      expect(new Set(received.map((r) => r.headers['x-gitlab-webhook-uuid'])).size).toBe(1);
    } finally {
      double.setPipelineHook(undefined);
    }
  });

  it('sends Job Hooks before the Pipeline Hook of the same change when the webhook asks for job events', async () => {
    double.setPipelineHook({ url: receiverUrl, secret: 'hook-secret', jobEvents: true });
    try {
      const pipeline = await api.Pipelines.create(zlib.id, 'main');
      await double.state.settled();
      const { job } = await double.state.startPipeline(pipeline.id);
      await double.state.finishJob(job.id, 'failed');
      await api.Pipelines.retry(zlib.id, pipeline.id);
      await double.state.settled();
      const seen = received.map((r) => {
        const body = r.body as { build_id?: number; build_status?: string; object_attributes?: { status: string } };
        return `${r.headers['x-gitlab-event']}:${body.build_status ?? body.object_attributes!.status}`;
      });
      expect(seen).toEqual([
        'Job Hook:pending', 'Pipeline Hook:pending',
        'Job Hook:running', 'Pipeline Hook:running',
        'Job Hook:failed', 'Pipeline Hook:failed',
        'Job Hook:pending', 'Pipeline Hook:pending',
      ]);
      const failed = received[4]!.body as Record<string, unknown>;
      expect(failed).toMatchObject({ object_kind: 'build', build_id: job.id, pipeline_id: pipeline.id, project_id: zlib.id, sha: pipeline.sha, build_failure_reason: 'script_failure', retries_count: 0 });
      expect((received[6]!.body as { retries_count: number; build_id: number })).toMatchObject({ retries_count: 1 });
      expect((received[6]!.body as { build_id: number }).build_id).not.toBe(job.id);
    } finally {
      double.setPipelineHook(undefined);
    }
  });

  it('builds a Merge Request Hook body shaped like GitLab\'s; merging moves the target branch', () => {
    const opened = double.state.pushFiles(zlib, { PKGBUILD: 'pkgrel=2\n' }, { branch: 'rebuild' });
    const mergeRequest = double.state.addMergeRequest(zlib, { sourceBranch: 'rebuild', title: 'Rebuild zlib' });
    const update = double.state.pushFiles(zlib, { PKGBUILD: 'pkgrel=3\n' }, { branch: 'rebuild' });
    const body = double.mergeRequestHookBody(zlib, mergeRequest, 'update', { oldrev: opened.after });
    const expected = fixture('merge_request.json');
    expect(Object.keys(body).sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(body.object_attributes)).toEqual(expect.arrayContaining(Object.keys(expected.object_attributes as object)));
    expect(Object.keys(body.object_attributes.last_commit!).sort()).toEqual(Object.keys((expected.object_attributes as { last_commit: object }).last_commit).sort());
    expect(body.object_attributes).toMatchObject({ iid: mergeRequest.iid, action: 'update', oldrev: opened.after, source_branch: 'rebuild', target_branch: 'main', state: 'opened', last_commit: { id: update.after } });
    double.state.finishMergeRequest(zlib, mergeRequest.iid, 'merged');
    expect(zlib.repository.branches.get('main')).toBe(update.after);
    expect(double.mergeRequestHookBody(zlib, mergeRequest, 'merge').object_attributes).toMatchObject({ state: 'merged', state_id: 3, action: 'merge' });
    expect(() => double.state.addMergeRequest(zlib, { sourceBranch: 'no-such-branch' })).toThrow(/no branch/);
  });

  it('builds a Push Hook body shaped like GitLab\'s, with at most 20 commits and the total count', () => {
    const push = double.state.push(zlib, { commits: Array.from({ length: 23 }, (_, i) => ({ files: { PKGBUILD: `pkgrel=${i}\n` }, message: `rel ${i}` })) });
    const body = double.pushHookBody(push);
    const expected = fixture('push.json');
    expect(Object.keys(body)).toEqual(expect.arrayContaining(Object.keys(expected)));
    expect(Object.keys(body.project)).toEqual(expect.arrayContaining(Object.keys(expected.project as object)));
    expect(Object.keys(body.commits[0]!).sort()).toEqual(Object.keys((expected.commits as object[])[0]!).sort());
    expect(body.total_commits_count).toBe(23);
    expect(body.commits).toHaveLength(PUSH_HOOK_COMMIT_LIMIT);
    expect(body.commits.at(-1)!.id).toBe(push.after);
    expect(body.commits[0]!.message).toBe('rel 3');
    expect(body).toMatchObject({ before: push.before, after: push.after, ref: 'refs/heads/main', project_id: zlib.id, checkout_sha: push.after });
    expect(body.commits.at(-1)!.modified).toEqual(['PKGBUILD']);
  });
});

describe('fault switches', () => {
  it('answers 429 with Retry-After the next N times on the matching route only, then serves normally', async () => {
    const fault = double.faults.inject({ route: 'GET /projects/:id', respond: 429, retryAfter: 3, times: 2 });
    expect((await raw(`/projects/${zlib.id}/repository/tree?ref=main`)).status).toBe(200);
    for (let i = 0; i < 2; i += 1) {
      const limited = await raw(`/projects/${zlib.id}`);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('3');
    }
    expect((await raw(`/projects/${zlib.id}`)).status).toBe(200);
    expect(fault.hits).toBe(2);
  });

  it('answers 500, or serves after a delay', async () => {
    double.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 500 });
    expect(await failure(api.Pipelines.create(zlib.id, 'main'))).toEqual({ status: 500, description: '500 Internal Server Error' });
    expect(double.state.pipelinesOf(zlib)).toHaveLength(0);
    double.faults.inject({ route: '/projects/:id/repository/files/:file_path/raw', delayMs: 400 });
    const slow = fetch(`${double.apiUrl}/projects/${zlib.id}/repository/files/PKGBUILD/raw?ref=main`, { headers: { 'private-token': double.token }, signal: AbortSignal.timeout(100) });
    await expect(slow).rejects.toThrow(/timeout|aborted/i);
    expect(await api.RepositoryFiles.showRaw(zlib.id, 'PKGBUILD', 'main')).toBe('pkgname=zlib\npkgver=1.3\n');
  });

  it('refuses a malformed route', () => {
    expect(() => double.faults.inject({ route: 'projects', respond: 500 })).toThrow(/METHOD \/path/);
  });
});
