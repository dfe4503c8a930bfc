/** The GitLab client against the GitLab double over real HTTP, faults included. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGitLabDouble, type DoubleProject, type GitLabDouble } from '../../../test/gitlab-double/index.js';
import { createLogger } from '../../common/log.js';
import { BUILD_ID_VARIABLE, createGitLabClient, noteMarkerTag, type GitLabCallObservation, type GitLabClient, type GitLabClientOptions } from './client.js';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { GitLabApiError, GitLabResponseError, GitLabUnavailableError, PipelineRefMovedError } from './errors.js';

let double: GitLabDouble;
let zlib: DoubleProject;
let observations: GitLabCallObservation[];
let sleeps: number[];

/** A client with fast, recorded backoff (no real waiting between attempts). */
function client(overrides: Partial<GitLabClientOptions> = {}): GitLabClient {
  return createGitLabClient({
    url: double.url,
    token: double.token,
    retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 30_000, attemptTimeoutMs: 2_000 },
    observer: (o) => observations.push(o),
    random: () => 0.5,
    sleep: async (ms) => { sleeps.push(ms); },
    ...overrides,
  });
}

beforeAll(async () => {
  double = await startGitLabDouble();
});
afterAll(async () => double.close());

let counter = 0;
beforeEach(() => {
  counter += 1;
  zlib = double.state.addProject({ path: `arch${counter}/packages/zlib`, files: { PKGBUILD: 'pkgname=zlib\n', '.SRCINFO': 'pkgbase = zlib\n', 'keys/pgp/k.asc': 'KEY\n' } });
  double.faults.clear();
  observations = [];
  sleeps = [];
});

describe('reading projects and repositories', () => {
  it('gets a project by path and lists a group\'s projects across pages', async () => {
    const gitlab = client();
    expect(await gitlab.getProject(zlib.pathWithNamespace)).toEqual({
      id: zlib.id, name: 'zlib', path: zlib.pathWithNamespace, defaultBranch: 'main', webUrl: `${double.url}/${zlib.pathWithNamespace}`, archived: false,
    });
    const group = `many${counter}`;
    for (let i = 0; i < 103; i += 1) double.state.addProject({ path: `${group}/${i < 100 ? '' : 'sub/'}pkg${i}` });
    double.state.addProject({ path: `${group}/retired`, archived: true });
    expect(await gitlab.listGroupProjects(group)).toHaveLength(100);
    expect(await gitlab.listGroupProjects(group, { includeArchived: true })).toHaveLength(101);
    const all = await gitlab.listGroupProjects(group, { includeSubgroups: true });
    expect(all).toHaveLength(103);
    expect(new Set(all.map((p) => p.path)).size).toBe(103);
    expect(observations.filter((o) => o.route === 'groups/:id/projects').length).toBe(5);
  });

  it('reads a file at a ref, null when absent; an unknown project is a GitLabApiError', async () => {
    const gitlab = client();
    const before = zlib.repository.branches.get('main')!;
    double.state.pushFiles(zlib, { PKGBUILD: 'pkgname=zlib\npkgrel=2\n' });
    expect(await gitlab.readFile(zlib.id, 'PKGBUILD', before)).toBe('pkgname=zlib\n');
    expect(await gitlab.readFile(zlib.pathWithNamespace, 'PKGBUILD', 'main')).toBe('pkgname=zlib\npkgrel=2\n');
    expect(await gitlab.readFile(zlib.id, 'keys/pgp/k.asc', 'main')).toBe('KEY\n');
    double.state.pushFiles(zlib, { 'data.bin': 'zlib\u0000\u0001\n' });
    expect(await gitlab.readFile(zlib.id, 'data.bin', 'main')).toBe('zlib\u0000\u0001\n');
    expect(await gitlab.readFile(zlib.id, 'missing', 'main')).toBeNull();
    const error = await gitlab.readFile('nobody/nothing', 'PKGBUILD', 'main').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitLabApiError);
    expect(error).toMatchObject({ status: 404, gitlabMessage: '404 Project Not Found', route: 'projects/:id/repository/files/:file_path/raw' });
    expect(observations.filter((o) => o.status === 404)).toHaveLength(2);
  });

  it('lists a tree (empty for a missing directory) and compares beyond 20 commits', async () => {
    const gitlab = client();
    expect((await gitlab.listTree(zlib.id, '', 'main')).map((e) => `${e.type}:${e.path}`)).toEqual(['tree:keys', 'blob:.SRCINFO', 'blob:PKGBUILD']);
    expect((await gitlab.listTree(zlib.id, 'keys', 'main', { recursive: true })).map((e) => e.path)).toEqual(['keys/pgp', 'keys/pgp/k.asc']);
    expect(await gitlab.listTree(zlib.id, 'nope', 'main')).toEqual([]);
    const push = double.state.push(zlib, { commits: Array.from({ length: 25 }, (_, i) => ({ files: { [`patch-${i}.diff`]: `${i}\n` }, message: `patch ${i}` })) });
    const comparison = await gitlab.compare(zlib.id, push.before, push.after);
    expect(comparison.commits.map((c) => c.sha)).toEqual(push.commits.map((c) => c.id));
    expect(comparison.changes).toHaveLength(25);
    expect(comparison.changes[0]).toEqual({ oldPath: 'patch-0.diff', newPath: 'patch-0.diff', newFile: true, deletedFile: false, renamedFile: false });
    expect((await gitlab.getCommit(zlib.id, push.after)).title).toBe('patch 24');
    expect((await gitlab.getCommit(zlib.id, 'main')).sha).toBe(push.after);
  });
});

describe('pipelines', () => {
  const request = (buildId: string) => ({ ref: 'main', sha: zlib.repository.branches.get('main')!, buildId, variables: { QUARTERS_PKGBASE: 'zlib', QUARTERS_ARCH: 'x86_64' } });

  it('creates a pipeline with env-var variables and reads it, its variables and its jobs back', async () => {
    const gitlab = client();
    const pipeline = await gitlab.createPipeline(zlib.id, 'main', { QUARTERS_BUILD_ID: 'b1', QUARTERS_ARCH: 'x86_64' });
    expect(pipeline).toMatchObject({ projectId: zlib.id, ref: 'main', sha: zlib.repository.branches.get('main'), status: 'pending' });
    expect(double.state.pipeline(pipeline.id).variables).toEqual([
      { key: 'QUARTERS_BUILD_ID', value: 'b1', variable_type: 'env_var' },
      { key: 'QUARTERS_ARCH', value: 'x86_64', variable_type: 'env_var' },
    ]);
    expect(await gitlab.pipelineVariables(zlib.id, pipeline.id)).toEqual({ QUARTERS_BUILD_ID: 'b1', QUARTERS_ARCH: 'x86_64' });
    const [job] = await gitlab.pipelineJobs(zlib.id, pipeline.id);
    expect(job).toMatchObject({ pipelineId: pipeline.id, projectId: zlib.id, status: 'pending', name: 'build' });
    await double.state.finishPipeline(pipeline.id, 'failed');
    expect((await gitlab.getPipeline(zlib.id, pipeline.id)).status).toBe('failed');
    expect((await gitlab.retryPipeline(zlib.id, pipeline.id)).status).toBe('pending');
    expect((await gitlab.cancelPipeline(zlib.id, pipeline.id)).status).toBe('canceled');
    const unknownRef = await gitlab.createPipeline(zlib.id, 'nope', {}).catch((e: unknown) => e);
    expect(unknownRef).toMatchObject({ status: 400, gitlabMessage: '{"base":["Reference not found"]}' });
  });

  it('dispatches one pipeline per build: a second dispatch finds the first', async () => {
    const gitlab = client();
    const first = await gitlab.dispatchPipeline(zlib.id, request('build-1'));
    const again = await gitlab.dispatchPipeline(zlib.id, request('build-1'));
    const other = await gitlab.dispatchPipeline(zlib.id, request('build-2'));
    expect(first.created).toBe(true);
    expect(again).toEqual({ pipeline: first.pipeline, created: false });
    expect(other.pipeline.id).not.toBe(first.pipeline.id);
    expect(double.state.pipelinesOf(zlib)).toHaveLength(2);
    expect(double.state.pipeline(first.pipeline.id).variables).toContainEqual({ key: BUILD_ID_VARIABLE, value: 'build-1', variable_type: 'env_var' });
    expect(await gitlab.findPipeline(zlib.id, request('x').sha, 'build-3')).toBeNull();
  });

  it('never creates a second pipeline when the create times out or fails after GitLab acted on it', async () => {
    const gitlab = client({ retry: { maxAttempts: 3, attemptTimeoutMs: 400 } });
    double.faults.inject({ route: 'POST /projects/:id/pipeline', delayMs: 1_500, phase: 'after' });
    const timedOut = await gitlab.dispatchPipeline(zlib.id, request('slow'));
    expect(timedOut.created).toBe(true);
    expect(observations.find((o) => o.route === 'projects/:id/pipeline')).toMatchObject({ status: null, failure: 'timeout' });
    double.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 502, phase: 'after' });
    const lost = await gitlab.dispatchPipeline(zlib.id, request('lost'));
    expect(lost.created).toBe(true);
    expect(double.state.pipelinesOf(zlib).map((p) => p.variables.find((v) => v.key === BUILD_ID_VARIABLE)!.value)).toEqual(['slow', 'lost']);
  });

  it('waits for a create that GitLab carries out after the attempt timed out, instead of creating a second', async () => {
    const gitlab = client({ retry: { maxAttempts: 3, attemptTimeoutMs: 300, landingWaitMs: 5_000 } });
    // GitLab holds the request 1.2 s, longer than the attempt is given, then creates the pipeline anyway.
    double.faults.inject({ route: 'POST /projects/:id/pipeline', delayMs: 1_200 });
    const { pipeline, created } = await gitlab.dispatchPipeline(zlib.id, request('late'));
    expect(created).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(double.state.pipelinesOf(zlib).map((p) => p.id)).toEqual([pipeline.id]);
  });

  it('keeps the first of two pipelines of one build and cancels the orphan', async () => {
    const gitlab = client();
    const sha = zlib.repository.branches.get('main')!;
    const variables = [{ key: BUILD_ID_VARIABLE, value: 'twice', variable_type: 'env_var' as const }];
    const first = double.state.createPipeline(zlib, 'main', sha, variables);
    const orphan = double.state.createPipeline(zlib, 'main', sha, variables);
    const { pipeline, created } = await gitlab.dispatchPipeline(zlib.id, request('twice'));
    expect({ id: pipeline.id, created }).toEqual({ id: first.id, created: false });
    expect(double.state.pipeline(orphan.id).status).toBe('canceled');
    expect(await gitlab.cancelOrphanPipelines(zlib.id, sha, 'twice', first.id)).toEqual([]);
  });

  it('creates the pipeline again when a 5xx left no trace of it', async () => {
    const gitlab = client();
    const fault = double.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 500, times: 2 });
    const { pipeline, created } = await gitlab.dispatchPipeline(zlib.id, request('retry-me'));
    expect(created).toBe(true);
    expect(fault.hits).toBe(2);
    expect(double.state.pipelinesOf(zlib).map((p) => p.id)).toEqual([pipeline.id]);
  });

  it('cancels and reports a pipeline created at another commit because the branch moved', async () => {
    const gitlab = client();
    const planned = request('moved');
    double.state.pushFiles(zlib, { PKGBUILD: 'moved on\n' });
    const error = await gitlab.dispatchPipeline(zlib.id, planned).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineRefMovedError);
    expect(double.state.pipelinesOf(zlib).map((p) => p.status)).toEqual(['canceled']);
  });
});

describe('adopting only the server\'s own pipelines', () => {
  const MALLORY = { id: 66, username: 'mallory', name: 'Mallory', email: 'mallory@example.org' };
  const request = (buildId: string) => ({ ref: 'main', sha: zlib.repository.branches.get('main')!, buildId, variables: {} });
  const claim = (buildId: string) => [{ key: BUILD_ID_VARIABLE, value: buildId, variable_type: 'env_var' as const }];

  it('asks GitLab who its token is once', async () => {
    const gitlab = client();
    const asked = () => double.requests.filter((r) => r.url === '/api/v4/user').length;
    const before = asked();
    expect(await gitlab.currentUser()).toMatchObject({ id: 1, username: 'quarters-bot' });
    expect(await gitlab.currentUser()).toMatchObject({ id: 1, username: 'quarters-bot' });
    expect(asked() - before).toBe(1);
  });

  it('ignores pipelines that claim the build but another user or another source made, and never cancels them', async () => {
    const lines: string[] = [];
    const log = createLogger({ name: 'test', level: 'debug', destination: new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } }) });
    const gitlab = client({ log });
    const sha = zlib.repository.branches.get('main')!;
    // Another project member, through the API with their own token, as GitLab records it.
    const token = double.addAccessToken(MALLORY);
    const res = await fetch(`${double.apiUrl}/projects/${zlib.id}/pipeline`, {
      method: 'POST', headers: { 'PRIVATE-TOKEN': token, 'content-type': 'application/json' }, body: JSON.stringify({ ref: 'main', variables: claim('b7') }),
    });
    expect(res.status).toBe(201);
    const impostor = await res.json() as { id: number; user: { username: string } };
    expect(impostor.user.username).toBe('mallory');
    // The server's own user, but not through the API (a push or the web form with the variable set).
    const pushed = double.state.createPipeline(zlib, 'main', sha, claim('b7'), 'push');
    expect(await gitlab.findPipelines(zlib.id, sha, 'b7')).toEqual([]);
    expect(await gitlab.findPipelines(zlib.id, sha, 'b7')).toEqual([]);
    expect(lines.filter((l) => l.includes('not created by this server'))).toHaveLength(2);

    double.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 502 });
    const { pipeline, created } = await gitlab.dispatchPipeline(zlib.id, request('b7'));
    expect(created).toBe(true);
    expect([impostor.id, pushed.id]).not.toContain(pipeline.id);
    expect(double.state.pipeline(pipeline.id).user.username).toBe('quarters-bot');
    expect(await gitlab.cancelOrphanPipelines(zlib.id, sha, 'b7', pipeline.id)).toEqual([]);
    expect(double.state.pipeline(impostor.id).status).toBe('pending');
    expect(double.state.pipeline(pushed.id).status).toBe('pending');
    expect((await gitlab.dispatchPipeline(zlib.id, request('b7'))).pipeline.id).toBe(pipeline.id);
  });
});

describe('retries, timeouts and errors', () => {
  it('retries a 429 after Retry-After, and the logical call succeeds', async () => {
    const gitlab = client();
    const fault = double.faults.inject({ route: 'GET /projects/:id', respond: 429, retryAfter: 2, times: 2 });
    expect((await gitlab.getProject(zlib.id)).id).toBe(zlib.id);
    expect(fault.hits).toBe(2);
    expect(sleeps).toEqual([2_000, 2_000]);
    expect(observations.map((o) => [o.route, o.status, o.attempt])).toEqual([['projects/:id', 429, 1], ['projects/:id', 429, 2], ['projects/:id', 200, 3]]);
  });

  it('retries a 429 even for pipeline creation, which GitLab refused before acting', async () => {
    const gitlab = client();
    double.faults.inject({ route: 'POST /projects/:id/pipeline', respond: 429, times: 1 });
    await gitlab.createPipeline(zlib.id, 'main', {});
    expect(double.state.pipelinesOf(zlib)).toHaveLength(1);
    expect(sleeps).toEqual([50]);
  });

  it('backs off exponentially with full jitter, and gives up after the bounded attempts with a typed error', async () => {
    const gitlab = client();
    const fault = double.faults.inject({ route: '*', respond: 500, times: Infinity });
    const error = await gitlab.getPipeline(zlib.id, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitLabUnavailableError);
    expect(error).toMatchObject({ attempts: 4, lastFailure: 500, mayHaveTakenEffect: true, route: 'projects/:id/pipelines/:pipeline_id' });
    expect((error as Error).message).toMatch(/after 4 attempt\(s\); last failure: status 500/);
    expect(fault.hits).toBe(4);
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('stops retrying when the time budget would be exceeded', async () => {
    const gitlab = client({ retry: { maxAttempts: 10, maxElapsedMs: 1_500 } });
    double.faults.inject({ route: '*', respond: 429, retryAfter: 1, times: Infinity });
    const error = await gitlab.getProject(zlib.id).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'GitLabUnavailableError', lastFailure: 429, mayHaveTakenEffect: false });
    // The first 1 s wait fits the 1.5 s budget; a second would end past it.
    expect(sleeps).toEqual([1_000]);
    expect(error).toMatchObject({ attempts: 2 });
  });

  it('abandons a slow attempt after the attempt timeout and retries it', async () => {
    const gitlab = client({ retry: { attemptTimeoutMs: 500 } });
    double.faults.inject({ route: 'GET /projects/:id/repository/files/:file_path/raw', delayMs: 1_500, times: 1 });
    expect(await gitlab.readFile(zlib.id, 'PKGBUILD', 'main')).toBe('pkgname=zlib\n');
    expect(observations.map((o) => [o.status, o.failure])).toEqual([[null, 'timeout'], [200, undefined]]);
  });

  it('reports a timeout that never clears as GitLabUnavailableError', async () => {
    const gitlab = client({ retry: { attemptTimeoutMs: 80, maxAttempts: 2 } });
    double.faults.inject({ route: 'GET /projects/:id', delayMs: 300, times: 2 });
    const error = await gitlab.getProject(zlib.id).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'GitLabUnavailableError', attempts: 2, lastFailure: 'timeout' });
  });

  it('reports a refused connection as GitLabUnavailableError', async () => {
    const gone = await startGitLabDouble();
    const url = gone.url;
    await gone.close();
    const gitlab = client({ url, retry: { maxAttempts: 2 } });
    const error = await gitlab.getProject(1).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'GitLabUnavailableError', attempts: 2, lastFailure: 'network' });
  });

  it('refuses an unusable url, token or retry policy up front', () => {
    expect(() => createGitLabClient({ url: 'gitlab.example.com', token: 't' })).toThrow(/http\(s\) URL, got "gitlab.example.com"/);
    expect(() => createGitLabClient({ url: double.url, token: ' ' })).toThrow(/token is empty/);
    expect(() => createGitLabClient({ url: double.url, token: 't', retry: { maxAttempts: 0 } })).toThrow(/retry.maxAttempts must be/);
  });

  it('keeps a call working when the observer throws', async () => {
    const gitlab = client({ observer: () => { throw new Error('metrics broke'); } });
    expect((await gitlab.getProject(zlib.id)).id).toBe(zlib.id);
  });

  it('reports a 2xx answer that is not GitLab\'s documented shape as GitLabResponseError', async () => {
    // A proxy's login page in front of GitLab answers 200 with HTML.
    const proxy = new Hono()
      .get('/api/v4/projects/1', (c) => c.body('{"id": 1,', 200, { 'content-type': 'application/json' }))
      .get('*', (c) => c.html('<html>Sign in</html>'));
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: proxy.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    try {
      const gitlab = client({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const error = await gitlab.getPipeline(1, 2).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitLabResponseError);
      expect((error as Error).message).toMatch(/GET projects\/:id\/pipelines\/:pipeline_id does not have the expected shape/);
      const truncated = await gitlab.getProject(1).catch((e: unknown) => e);
      expect(truncated).toBeInstanceOf(GitLabResponseError);
      expect((truncated as Error).message).toMatch(/not valid JSON/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('does not retry a 4xx', async () => {
    const gitlab = createGitLabClient({ url: double.url, token: 'not-the-token', observer: (o) => observations.push(o) });
    const error = await gitlab.getProject(zlib.id).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'GitLabApiError', status: 401, gitlabMessage: '401 Unauthorized' });
    expect(observations).toHaveLength(1);
  });
});

describe('job tokens', () => {
  it('finds the running job of a job token; null once the job finished or for an unknown token', async () => {
    const gitlab = client();
    const { pipeline } = await gitlab.dispatchPipeline(zlib.id, { ref: 'main', sha: zlib.repository.branches.get('main')!, buildId: 'jt', variables: {} });
    const [doubleJob] = double.state.jobsOf(pipeline.id);
    expect(await gitlab.jobForToken(doubleJob!.token)).toBeNull();
    const token = await double.state.startJob(doubleJob!.id, { id: 42, description: 'runner-a' });
    expect(await gitlab.jobForToken(token)).toEqual({
      jobId: doubleJob!.id, name: 'build', stage: 'build', status: 'running', allowFailure: false, pipelineId: pipeline.id, projectId: zlib.id, ref: 'main', sha: pipeline.sha,
      createdAt: doubleJob!.createdAt, startedAt: expect.any(String), runner: { id: 42, description: 'runner-a' },
    });
    await double.state.finishJob(doubleJob!.id, 'success');
    expect(await gitlab.jobForToken(token)).toBeNull();
    expect(await gitlab.jobForToken('glcbt-unknown')).toBeNull();
    const jobRequests = double.requests.filter((r) => r.url.startsWith('/api/v4/job'));
    expect(jobRequests.every((r) => r.auth === 'job-token' && !r.url.includes('token'))).toBe(true);
  });

  it('keeps tokens out of URLs, logs and error messages', async () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } });
    const log = createLogger({ name: 'test', level: 'debug', destination });
    const gitlab = client({ log });
    const { pipeline } = await gitlab.dispatchPipeline(zlib.id, { ref: 'main', sha: zlib.repository.branches.get('main')!, buildId: 'sec', variables: {} });
    const { token: jobToken } = await double.state.startPipeline(pipeline.id);
    double.faults.inject({ route: '*', respond: 503, times: Infinity });
    const errors = await Promise.all([
      gitlab.jobForToken(jobToken).catch((e: unknown) => e),
      gitlab.getProject(zlib.id).catch((e: unknown) => e),
    ]);
    expect(lines.length).toBeGreaterThan(0);
    const everything = [...lines, ...errors.map((e) => `${(e as Error).message} ${JSON.stringify(e)}`), ...double.requests.map((r) => r.url)].join('\n');
    expect(everything).not.toContain(double.token);
    expect(everything).not.toContain(jobToken);
  });
});

describe('merge request notes', () => {
  it('keeps exactly one note per marker across updates, leaving other notes alone', async () => {
    const gitlab = client();
    double.state.pushFiles(zlib, { PKGBUILD: 'pkgrel=2\n' }, { branch: 'feature' });
    const mergeRequest = double.state.addMergeRequest(zlib, { sourceBranch: 'feature' });
    double.state.addNote(zlib, mergeRequest.iid, 'LGTM');
    const first = await gitlab.upsertMergeRequestNote(zlib.id, mergeRequest.iid, 'rebuild-count', 'Rebuilds: x86_64 3');
    const second = await gitlab.upsertMergeRequestNote(zlib.id, mergeRequest.iid, 'rebuild-count', 'Rebuilds: x86_64 4');
    const third = await gitlab.upsertMergeRequestNote(zlib.id, mergeRequest.iid, 'rebuild-count', 'Rebuilds: x86_64 5, aarch64 5');
    const same = await gitlab.upsertMergeRequestNote(zlib.id, mergeRequest.iid, 'rebuild-count', 'Rebuilds: x86_64 5, aarch64 5');
    expect([first.action, second.action, third.action, same.action]).toEqual(['created', 'updated', 'updated', 'unchanged']);
    expect(new Set([first.note.id, second.note.id, third.note.id, same.note.id]).size).toBe(1);
    const notes = double.state.mergeRequestNotes(zlib, mergeRequest.iid);
    expect(notes.map((n) => n.body)).toEqual(['LGTM', `Rebuilds: x86_64 5, aarch64 5\n\n${noteMarkerTag('rebuild-count')}`]);
    await gitlab.upsertMergeRequestNote(zlib.id, mergeRequest.iid, 'other', 'Another kind');
    expect(double.state.mergeRequestNotes(zlib, mergeRequest.iid)).toHaveLength(3);
    expect(() => noteMarkerTag('bad marker -->')).toThrow(/may contain only/);
  });
});

describe('commit statuses', () => {
  it('sets a status with its name, ref, target URL and description, lists the latest per name, and reports GitLab refusing a repeated state', async () => {
    const gitlab = client();
    const sha = zlib.repository.branches.get('main')!;
    const set = await gitlab.setCommitStatus(zlib.id, sha, { state: 'running', name: 'quarters/x86_64', ref: 'main', targetUrl: 'https://q.example/ui/namespaces/auto-zlib', description: '0/3 built' });
    expect(set).toMatchObject({ sha, ref: 'main', status: 'running', name: 'quarters/x86_64', targetUrl: 'https://q.example/ui/namespaces/auto-zlib', description: '0/3 built' });
    await gitlab.setCommitStatus(zlib.id, sha, { state: 'pending', name: 'quarters/aarch64' });
    const refused = await gitlab.setCommitStatus(zlib.id, sha, { state: 'running', name: 'quarters/x86_64' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GitLabApiError);
    expect(refused).toMatchObject({ status: 400, gitlabMessage: expect.stringContaining('Cannot transition status via :run from :running') as string });
    await gitlab.setCommitStatus(zlib.id, sha, { state: 'success', name: 'quarters/x86_64', description: '3/3 built' });
    expect((await gitlab.commitStatuses(zlib.id, sha)).map((s) => [s.name, s.status])).toEqual([['quarters/x86_64', 'success'], ['quarters/aarch64', 'pending']]);
    expect((await gitlab.commitStatuses(zlib.id, sha, { name: 'quarters/aarch64' })).map((s) => s.status)).toEqual(['pending']);
    expect(observations.map((o) => o.route)).toContain('projects/:id/statuses/:sha');
    expect(observations.map((o) => o.route)).toContain('projects/:id/repository/commits/:sha/statuses');
  });
});
