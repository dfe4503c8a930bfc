/**
 * The server's GitLab client: the few calls quarters makes, in the domain's words, over
 * @gitbeaker/rest with quarters' own transport (retries, timeouts, metrics; see transport.ts).
 */
import { Branches, Commits, Groups, MergeRequestNotes, MergeRequests, Pipelines, Projects, Repositories, RepositoryFiles, Jobs, Users } from '@gitbeaker/rest';
import type { z } from 'zod';
import type { Logger } from '../../common/log.js';
import { GitLabApiError, GitLabResponseError, GitLabUnavailableError, PipelineRefMovedError } from './errors.js';
import { DEFAULT_RETRY_POLICY, nextDelayMs, type RetryPolicy } from './retry-policy.js';
import {
  branchSchema, commitSchema, commitStatusSchema, mergeRequestSchema, comparisonSchema, currentUserSchema, jobSchema, noteSchema, pipelineOriginSchema, pipelineSchema, pipelineVariableSchema, projectSchema, treeEntrySchema,
  type Commit, type CommitStatus, type CommitStatusState, type Comparison, type Job, type MergeRequest, type MergeRequestNote, type Pipeline, type Project, type TreeEntry,
} from './schemas.js';
import { retryingRequesterFn, type GitLabObserver, type TransportOptions } from './transport.js';

export type { Commit, CommitStatus, CommitStatusState, Comparison, FileChange, Job, MergeRequest, MergeRequestNote, Pipeline, PipelineStatus, Project, TreeEntry } from './schemas.js';
export type { GitLabCallObservation, GitLabObserver } from './transport.js';
export type { RetryPolicy } from './retry-policy.js';

/** A project by numeric id or full path (`arch/packages/zlib`). */
export type ProjectRef = number | string;

/** The pipeline variable that ties a pipeline to the build quarters dispatched it for. */
export const BUILD_ID_VARIABLE = 'QUARTERS_BUILD_ID';

export interface DispatchRequest {
  /** Branch or tag to run the pipeline on; GitLab runs it at the ref's head. */
  ref: string;
  /** The commit the build is for; a pipeline created at another commit is cancelled and reported. */
  sha: string;
  buildId: string;
  /** Further pipeline variables (QUARTERS_*); QUARTERS_BUILD_ID is added. */
  variables: Record<string, string>;
}

/** A commit status to set: `name` tells it apart from other systems' (GitLab's `context`). */
export interface CommitStatusRequest {
  state: CommitStatusState;
  name: string;
  /** The branch the status is for. */
  ref?: string;
  targetUrl?: string;
  /** Short; GitLab refuses more than 255 characters. */
  description?: string;
}

/** A file a commit writes (`update`: it exists at the start commit). */
export interface FileWrite {
  path: string;
  content: string;
}

export interface CommitRequest {
  /** The branch to commit to; made from `startSha` (which must then be given) when it does not exist. */
  branch: string;
  startSha?: string;
  message: string;
  files: readonly FileWrite[];
  author?: { name: string; email: string };
}

export interface MergeRequestRequest {
  sourceBranch: string;
  targetBranch: string;
  title: string;
  description: string;
  /** Delete the source branch once merged. */
  removeSourceBranch?: boolean;
}

export interface NoteUpsert {
  note: MergeRequestNote;
  action: 'created' | 'updated' | 'unchanged';
}

/** What the quarters server asks of GitLab. */
export interface GitLabClient {
  /** The project, by id or full path. */
  getProject(project: ProjectRef): Promise<Project>;
  /** Every project of a group (all pages), with its subgroups' when asked; archived ones only when asked. Projects merely shared with the group are left out. */
  listGroupProjects(group: ProjectRef, options?: { includeSubgroups?: boolean; includeArchived?: boolean }): Promise<Project[]>;
  /** A file's text at a ref, or null when the file does not exist there. */
  readFile(project: ProjectRef, path: string, ref: string): Promise<string | null>;
  /** The entries under `path` (`''` for the root) at a ref, all pages; empty when GitLab finds no such directory, or no such ref (it answers both alike). */
  listTree(project: ProjectRef, path: string, ref: string, options?: { recursive?: boolean }): Promise<TreeEntry[]>;
  /** One commit, by sha, branch or tag (so also: the commit a ref points at now). */
  getCommit(project: ProjectRef, ref: string): Promise<Commit>;
  /**
   * Commits and file changes from `from` to `to` (the compare API; not limited to 20 commits like a Push
   * Hook). The changes are from the merge base of the two to `to`, or with `straight`, from `from` itself.
   */
  compare(project: ProjectRef, from: string, to: string, options?: { straight?: boolean }): Promise<Comparison>;
  /** Creates a pipeline on `ref` with env-var variables. Not retried after an ambiguous failure: use dispatchPipeline for builds. */
  createPipeline(project: ProjectRef, ref: string, variables: Record<string, string>): Promise<Pipeline>;
  /** The user the client's token acts as (`GET /user`, asked once). */
  currentUser(): Promise<{ id: number; username: string }>;
  /** The first of findPipelines, or null. */
  findPipeline(project: ProjectRef, sha: string, buildId: string): Promise<Pipeline | null>;
  /**
   * Every pipeline at `sha` whose QUARTERS_BUILD_ID is `buildId` and that this client made (created through
   * the API, `source` `api`, by the token's user), oldest first. Anyone who may create pipelines can set
   * that variable: a pipeline someone else made with it is left out (and logged once), never adopted or cancelled.
   */
  findPipelines(project: ProjectRef, sha: string, buildId: string): Promise<Pipeline[]>;
  /**
   * Cancels the pipelines of a build other than `keep` (orphans: a create whose answer was lost and
   * that landed after another was made). Returns the ids cancelled.
   */
  cancelOrphanPipelines(project: ProjectRef, sha: string, buildId: string, keep: number): Promise<number[]>;
  /** The build's pipeline: the one already created for it if any, else a new one; never two for one build, as long as one build is dispatched by one caller at a time. */
  dispatchPipeline(project: ProjectRef, request: DispatchRequest): Promise<{ pipeline: Pipeline; created: boolean }>;
  getPipeline(project: ProjectRef, pipelineId: number): Promise<Pipeline>;
  cancelPipeline(project: ProjectRef, pipelineId: number): Promise<Pipeline>;
  retryPipeline(project: ProjectRef, pipelineId: number): Promise<Pipeline>;
  /** A pipeline's variables as a map. */
  pipelineVariables(project: ProjectRef, pipelineId: number): Promise<Record<string, string>>;
  /** A pipeline's current jobs (retried ones left out). */
  pipelineJobs(project: ProjectRef, pipelineId: number): Promise<Job[]>;
  /** A job's log (its trace) as text; null when GitLab has none for it (404). */
  jobLog(project: ProjectRef, jobId: number): Promise<string | null>;
  /** The running job a CI_JOB_TOKEN belongs to, or null when GitLab does not accept the token (unknown, or the job is not running). */
  jobForToken(jobToken: string): Promise<Job | null>;
  /**
   * Creates or edits the one note on a merge request that carries `marker` (hidden in an HTML comment).
   * Two concurrent upserts of one marker could both create: callers serialise per merge request.
   */
  upsertMergeRequestNote(project: ProjectRef, mergeRequestIid: number, marker: string, body: string): Promise<NoteUpsert>;
  /** A branch's head commit, or null when the project has no such branch. */
  branchHead(project: ProjectRef, branch: string): Promise<string | null>;
  /** Creates one commit of file updates (the Commits API with actions). Not sent again after an ambiguous failure: look for the branch first. */
  createCommit(project: ProjectRef, request: CommitRequest): Promise<Commit>;
  /** The merge requests (any state) from `sourceBranch`, newest first, into `targetBranch` when given. */
  mergeRequestsFrom(project: ProjectRef, sourceBranch: string, targetBranch?: string): Promise<MergeRequest[]>;
  /** Opens a merge request. Not sent again after an ambiguous failure: look for it with mergeRequestsFrom first. */
  createMergeRequest(project: ProjectRef, request: MergeRequestRequest): Promise<MergeRequest>;
  /**
   * Sets a commit status (`POST /projects/:id/statuses/:sha`). GitLab refuses (400) a state the status
   * cannot move to from its current one, e.g. `running` twice: callers send transitions only.
   */
  setCommitStatus(project: ProjectRef, sha: string, status: CommitStatusRequest): Promise<CommitStatus>;
  /** The latest status of each name on a commit (all pages), optionally of one name only. */
  commitStatuses(project: ProjectRef, sha: string, options?: { name?: string }): Promise<CommitStatus[]>;
}

export interface GitLabClientOptions {
  /** GitLab's base URL, e.g. `https://gitlab.example.com` (`/api/v4` is added). */
  url: string;
  /** Access token, sent as `PRIVATE-TOKEN`. */
  token: string;
  retry?: Partial<RetryPolicy>;
  /** Told of every HTTP attempt (status, latency, route), e.g. for Prometheus. */
  observer?: GitLabObserver;
  log?: Logger;
  /** For tests: the jitter source (default Math.random). */
  random?: () => number;
  /** For tests: how to wait between attempts (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
}

const NOTE_MARKER = /^[A-Za-z0-9_.:-]+$/;

/** The hidden HTML comment that identifies quarters' note of one kind on a merge request. */
export function noteMarkerTag(marker: string): string {
  if (!NOTE_MARKER.test(marker)) throw new RangeError(`note marker "${marker}" may contain only letters, digits and _ . : -`);
  return `<!-- quarters:${marker} -->`;
}

function parse<S extends z.ZodType>(schema: S, value: unknown, call: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const [method = 'GET', route = call] = call.split(' ');
    throw new GitLabResponseError(method, route, result.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  }
  return result.data;
}

const isNotFound = (error: unknown, what: string) => error instanceof GitLabApiError && error.status === 404 && error.gitlabMessage === `404 ${what} Not Found`;

/** Creates the client. Nothing is sent until a method is called. Throws RangeError for an unusable url, token or retry policy. */
export function createGitLabClient(options: GitLabClientOptions): GitLabClient {
  if (!/^https?:\/\/[^/]/.test(options.url)) throw new RangeError(`the GitLab url must be an http(s) URL, got "${options.url}"`);
  if (options.token.trim() === '') throw new RangeError('the GitLab token is empty');
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  for (const [key, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < (key === 'maxAttempts' ? 1 : 0)) throw new RangeError(`retry.${key} must be a finite number ≥ ${key === 'maxAttempts' ? 1 : 0}, got ${value}`);
  }
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const transport = (repeatable: boolean): TransportOptions => ({ policy, repeatable, observer: options.observer, log: options.log, random, sleep });
  const host = options.url.replace(/\/+$/, '');
  const resource = { host, token: options.token, requesterFn: retryingRequesterFn(transport(true)), queryTimeout: null };
  const projects = new Projects(resource);
  const groups = new Groups(resource);
  const files = new RepositoryFiles(resource);
  const repositories = new Repositories(resource);
  const commits = new Commits(resource);
  const pipelines = new Pipelines(resource);
  const jobs = new Jobs(resource);
  const notes = new MergeRequestNotes(resource);
  const users = new Users(resource);
  const branches = new Branches(resource);
  const mergeRequests = new MergeRequests(resource);
  // Like pipelines, commits and merge requests are made once: a retry after an unknown outcome could make two.
  const onceResource = { ...resource, requesterFn: retryingRequesterFn(transport(false)) };
  const commitsOnce = new Commits(onceResource);
  const mergeRequestsOnce = new MergeRequests(onceResource);
  /** GET /user's answer; forgotten when it failed, so that the next call asks again. */
  let me: Promise<{ id: number; username: string }> | undefined;
  /** Pipelines claiming a build that are not ours, already logged (`project:pipeline`). */
  const foreignLogged = new Set<string>();
  // Creating a pipeline twice makes two builds: that call is sent once unless GitLab refused it (429).
  const pipelinesOnce = new Pipelines({ ...resource, requesterFn: retryingRequesterFn(transport(false)) });
  const jobTokenRequester = retryingRequesterFn(transport(true));
  const perPage = 100;

  /** Looks for the build's pipeline now, then again until `waitMs` (real time: the lost request lands in real time) has passed. */
  const lookForLanding = async (project: ProjectRef, request: DispatchRequest, waitMs: number): Promise<Pipeline | null> => {
    const deadline = performance.now() + waitMs;
    for (let pause = 100; ; pause = Math.min(pause * 2, 2_000)) {
      const found = await client.findPipeline(project, request.sha, request.buildId);
      const left = deadline - performance.now();
      if (found || left <= 0) return found;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
    }
  };

  const client: GitLabClient = {
    async getProject(project) {
      return parse(projectSchema, await projects.show(project), 'GET projects/:id');
    },

    async listGroupProjects(group, { includeSubgroups = false, includeArchived = false } = {}) {
      const filter = { includeSubgroups, withShared: false, ...(includeArchived ? {} : { archived: false }) };
      const list = await groups.allProjects(group, { ...filter, perPage, orderBy: 'id', sort: 'asc' } as never);
      return parse(projectSchema.array(), list, 'GET groups/:id/projects');
    },

    async readFile(project, path, ref) {
      try {
        // As a stream, so the text arrives as stored whatever Content-Type GitLab gives the file.
        const body: unknown = await files.showRaw(project, path, ref, { asStream: true } as never);
        return await new Response(body as ReadableStream).text();
      } catch (error) {
        if (isNotFound(error, 'File')) return null;
        throw error;
      }
    },

    async listTree(project, path, ref, { recursive = false } = {}) {
      try {
        const list = await repositories.allRepositoryTrees(project, { path, ref, recursive, perPage });
        return parse(treeEntrySchema.array(), list, 'GET projects/:id/repository/tree');
      } catch (error) {
        if (isNotFound(error, 'Tree')) return [];
        throw error;
      }
    },

    async getCommit(project, ref) {
      return parse(commitSchema, await commits.show(project, ref), 'GET projects/:id/repository/commits/:sha');
    },

    async compare(project, from, to, { straight = false } = {}) {
      return parse(comparisonSchema, await repositories.compare(project, from, to, straight ? { straight } : {}), 'GET projects/:id/repository/compare');
    },

    async createPipeline(project, ref, variables) {
      const list = Object.entries(variables).map(([key, value]) => ({ key, value, variable_type: 'env_var' }));
      return parse(pipelineSchema, await pipelinesOnce.create(project, ref, { variables: list } as never), 'POST projects/:id/pipeline');
    },

    currentUser() {
      me ??= users.showCurrentUser().then(
        (user) => parse(currentUserSchema, user, 'GET user'),
        (error: unknown) => { me = undefined; throw error; },
      );
      return me;
    },

    async findPipeline(project, sha, buildId) {
      return (await client.findPipelines(project, sha, buildId))[0] ?? null;
    },

    async findPipelines(project, sha, buildId) {
      const list = parse(pipelineSchema.array(), await pipelines.all(project, { sha, orderBy: 'id', sort: 'asc', perPage }), 'GET projects/:id/pipelines');
      const found: Pipeline[] = [];
      for (const pipeline of list) {
        const variables = await client.pipelineVariables(project, pipeline.id);
        if (variables[BUILD_ID_VARIABLE] !== buildId) continue;
        // The variable is a claim anyone with API access can make: ours only if we created it through the API.
        const origin = parse(pipelineOriginSchema, await pipelines.show(project, pipeline.id), 'GET projects/:id/pipelines/:pipeline_id');
        const self = await client.currentUser();
        if (origin.source === 'api' && origin.userId === self.id) {
          found.push(pipeline);
          continue;
        }
        const key = `${project}:${pipeline.id}`;
        if (!foreignLogged.has(key)) {
          if (foreignLogged.size >= 10_000) foreignLogged.clear();
          foreignLogged.add(key);
          options.log?.warn({ project, pipeline: pipeline.id, buildId, source: origin.source, user: origin.username, self: self.username },
            'ignoring a pipeline that claims a build but was not created by this server (not adopted, not cancelled)');
        }
      }
      return found;
    },

    async cancelOrphanPipelines(project, sha, buildId, keep) {
      const cancelled: number[] = [];
      for (const orphan of (await client.findPipelines(project, sha, buildId)).filter((p) => p.id !== keep)) {
        if (!['created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'scheduled', 'manual'].includes(orphan.status)) continue;
        options.log?.warn({ project, pipeline: orphan.id, keep, buildId }, 'cancelling a second pipeline of one build (a lost create landed late)');
        await client.cancelPipeline(project, orphan.id);
        cancelled.push(orphan.id);
      }
      return cancelled;
    },

    async dispatchPipeline(project, request) {
      const existing = await client.findPipelines(project, request.sha, request.buildId);
      if (existing.length) {
        if (existing.length > 1) await client.cancelOrphanPipelines(project, request.sha, request.buildId, existing[0]!.id);
        return { pipeline: existing[0]!, created: false };
      }
      const started = performance.now();
      for (let attempt = 1; ; attempt += 1) {
        try {
          const pipeline = await client.createPipeline(project, request.ref, { ...request.variables, [BUILD_ID_VARIABLE]: request.buildId });
          if (pipeline.sha !== request.sha) {
            await client.cancelPipeline(project, pipeline.id);
            throw new PipelineRefMovedError(project, request.ref, request.sha, pipeline.sha);
          }
          return { pipeline, created: true };
        } catch (error) {
          if (!(error instanceof GitLabUnavailableError) || !error.mayHaveTakenEffect) throw error;
          // The create may have happened. An answer (a 5xx) means GitLab is done with it: one look tells.
          // No answer (a timeout, a dropped connection) means it may still be under way: look until it has
          // had landingWaitMs to land, and never create another meanwhile.
          const unanswered = error.lastFailure === 'timeout' || error.lastFailure === 'network';
          const found = await lookForLanding(project, request, unanswered ? policy.landingWaitMs : 0);
          if (found) return { pipeline: found, created: true };
          const delay = nextDelayMs(policy, attempt, performance.now() - started, undefined, random);
          if (delay === undefined) throw error;
          options.log?.warn({ route: error.route, attempt, delayMs: delay }, 'creating a pipeline failed without a trace in GitLab; trying again');
          await sleep(delay);
        }
      }
    },

    async getPipeline(project, pipelineId) {
      return parse(pipelineSchema, await pipelines.show(project, pipelineId), 'GET projects/:id/pipelines/:pipeline_id');
    },

    async cancelPipeline(project, pipelineId) {
      return parse(pipelineSchema, await pipelines.cancel(project, pipelineId), 'POST projects/:id/pipelines/:pipeline_id/cancel');
    },

    async retryPipeline(project, pipelineId) {
      return parse(pipelineSchema, await pipelines.retry(project, pipelineId), 'POST projects/:id/pipelines/:pipeline_id/retry');
    },

    async pipelineVariables(project, pipelineId) {
      const list = parse(pipelineVariableSchema.array(), await pipelines.allVariables(project, pipelineId), 'GET projects/:id/pipelines/:pipeline_id/variables');
      return Object.fromEntries(list.map((v) => [v.key, v.value]));
    },

    async pipelineJobs(project, pipelineId) {
      const list = await jobs.all(project, { pipelineId, perPage } as never);
      return parse(jobSchema.array(), list, 'GET projects/:id/pipelines/:pipeline_id/jobs');
    },

    async jobLog(project, jobId) {
      try {
        const log = (await jobs.showLog(project, jobId)) as unknown;
        return typeof log === 'string' ? log : null;
      } catch (error) {
        if (error instanceof GitLabApiError && error.status === 404) return null;
        throw error;
      }
    },

    async jobForToken(jobToken) {
      // gitbeaker's Jobs.showConnectedJob refuses job-token auth (it looks for the header in the wrong place), so call GET /job directly.
      const requester = jobTokenRequester({ url: `${host}/api/v4`, headers: {}, authHeaders: { 'job-token': async () => jobToken } });
      try {
        const response = await requester.get('job');
        return parse(jobSchema, response.body, 'GET job');
      } catch (error) {
        if (error instanceof GitLabApiError && error.status === 401) return null;
        throw error;
      }
    },

    async upsertMergeRequestNote(project, mergeRequestIid, marker, body) {
      const tag = noteMarkerTag(marker);
      const text = `${body.replace(/\s+$/, '')}\n\n${tag}`;
      const list = await notes.all(project, mergeRequestIid, { sort: 'asc', orderBy: 'created_at', perPage } as never);
      const ours = parse(noteSchema.array(), list, 'GET projects/:id/merge_requests/:iid/notes').find((n) => !n.system && n.body.includes(tag));
      if (!ours) {
        const created = await notes.create(project, mergeRequestIid, text);
        return { note: parse(noteSchema, created, 'POST projects/:id/merge_requests/:iid/notes'), action: 'created' };
      }
      if (ours.body === text) return { note: ours, action: 'unchanged' };
      const edited = await notes.edit(project, mergeRequestIid, ours.id, { body: text });
      return { note: parse(noteSchema, edited, 'PUT projects/:id/merge_requests/:iid/notes/:note_id'), action: 'updated' };
    },

    async branchHead(project, branch) {
      try {
        return parse(branchSchema, await branches.show(project, branch), 'GET projects/:id/repository/branches/:branch').sha;
      } catch (error) {
        if (isNotFound(error, 'Branch')) return null;
        throw error;
      }
    },

    async createCommit(project, { branch, startSha, message, files, author }) {
      const actions = files.map((f) => ({ action: 'update' as const, filePath: f.path, content: f.content }));
      const options = { ...(startSha === undefined ? {} : { startSha }), ...(author ? { authorName: author.name, authorEmail: author.email } : {}) };
      return parse(commitSchema, await commitsOnce.create(project, branch, message, actions, options), 'POST projects/:id/repository/commits');
    },

    async mergeRequestsFrom(project, sourceBranch, targetBranch) {
      const list = await mergeRequests.all({ projectId: project, sourceBranch, ...(targetBranch === undefined ? {} : { targetBranch }), state: 'all', orderBy: 'created_at', sort: 'desc', perPage } as never);
      return parse(mergeRequestSchema.array(), list, 'GET projects/:id/merge_requests');
    },

    async createMergeRequest(project, { sourceBranch, targetBranch, title, description, removeSourceBranch = true }) {
      const created = await mergeRequestsOnce.create(project, sourceBranch, targetBranch, title, { description, removeSourceBranch });
      return parse(mergeRequestSchema, created, 'POST projects/:id/merge_requests');
    },

    async setCommitStatus(project, sha, { state, name, ref, targetUrl, description }) {
      const options = { name, ...(ref === undefined ? {} : { ref }), ...(targetUrl === undefined ? {} : { targetUrl }), ...(description === undefined ? {} : { description }) };
      return parse(commitStatusSchema, await commits.editStatus(project, sha, state, options), 'POST projects/:id/statuses/:sha');
    },

    async commitStatuses(project, sha, { name } = {}) {
      const list = await commits.allStatuses(project, sha, { ...(name === undefined ? {} : { name }), perPage } as never);
      return parse(commitStatusSchema.array(), list, 'GET projects/:id/repository/commits/:sha/statuses');
    },
  };
  return client;
}
