/**
 * A GitLab REST v4 double for tests: a Hono app on 127.0.0.1 (ephemeral port) holding GitLab's
 * state in memory. See README.md for what it implements and where it simplifies GitLab.
 */
import { serve, type ServerType } from '@hono/node-server';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createApp, API_PREFIX, type RecordedRequest } from './app.js';
import { Faults } from './faults.js';
import { jobHookBody, mergeRequestHookBody, pipelineHookBody, pushHookBody, webhookSender, type HookDelivery, type HookTarget, type MergeRequestAction } from './hooks.js';
import type { ShapeContext } from './shapes.js';
import { ADMIN_USER, GitLabState, type DoubleJob, type DoubleMergeRequest, type DoublePipeline, type DoubleProject, type DoubleUser, type PushResult } from './state.js';

export { GitLabState, DoubleError, ADMIN_USER, pipelineStatusOf } from './state.js';
export type { StateEvent, StateListener, DoubleCommitStatus, CommitStatusState, DoubleProject, DoublePipeline, DoubleJob, DoubleNote, DoubleMergeRequest, DoubleGroup, DoubleUser, PushResult, AddProjectOptions, JobSpec, PipelineVariable, PipelineStatus, JobStatus } from './state.js';
export type { CommitInput, CommitAuthor, RepoCommit } from './repository.js';
export { NULL_SHA } from './repository.js';
export type { FaultSpec } from './faults.js';
export type { HookDelivery, HookTarget, MergeRequestAction } from './hooks.js';
export { PUSH_HOOK_COMMIT_LIMIT } from './hooks.js';
export type { RecordedRequest } from './app.js';

/** The default access token the double accepts. */
export const DOUBLE_TOKEN = 'glpat-quarters-double-token';

export interface GitLabDoubleOptions {
  /** Access tokens accepted in `PRIVATE-TOKEN` or `Authorization: Bearer`, all acting as ADMIN_USER; defaults to [DOUBLE_TOKEN]. */
  tokens?: string[];
  /** Where to POST Pipeline Hooks (and Job Hooks, with `jobEvents`) as pipelines and jobs change (settable later with setPipelineHook). */
  pipelineHook?: HookTarget;
}

export interface GitLabDouble {
  /** `http://127.0.0.1:PORT`: the `host` for @gitbeaker/rest (`/api/v4` is under it). */
  url: string;
  /** `url` + `/api/v4`. */
  apiUrl: string;
  /** The first accepted access token. */
  token: string;
  state: GitLabState;
  faults: Faults;
  /** Every request served, in order. */
  requests: RecordedRequest[];
  /** Every webhook POSTed, in order, with the receiver's status. */
  hookDeliveries: HookDelivery[];
  setPipelineHook(target: HookTarget | undefined): void;
  /** Makes an access token for `user` (another member of the projects, say) and returns it. */
  addAccessToken(user: DoubleUser, token?: string): string;
  /** The Push Hook body GitLab would send for `push` (from state.push / state.pushFiles). */
  pushHookBody(push: PushResult, user?: DoubleUser): ReturnType<typeof pushHookBody>;
  /** The Pipeline Hook body for a pipeline's current state. */
  pipelineHookBody(pipeline: DoublePipeline): ReturnType<typeof pipelineHookBody>;
  /** The Job Hook body for a job's current state. */
  jobHookBody(job: DoubleJob): ReturnType<typeof jobHookBody>;
  /** The Merge Request Hook body GitLab would send for `action` on a merge request (`oldrev` for an `update` by a push). */
  mergeRequestHookBody(project: DoubleProject, mergeRequest: DoubleMergeRequest, action: MergeRequestAction, options?: { oldrev?: string; user?: DoubleUser }): ReturnType<typeof mergeRequestHookBody>;
  /** Waits for queued webhooks, then stops the server. */
  close(): Promise<void>;
}

/** Starts the double on 127.0.0.1 with an ephemeral port. */
export async function startGitLabDouble(options: GitLabDoubleOptions = {}): Promise<GitLabDouble> {
  const tokens = options.tokens ?? [DOUBLE_TOKEN];
  if (tokens.length === 0) throw new Error('double: at least one access token is needed');
  const state = new GitLabState();
  const faults = new Faults();
  const requests: RecordedRequest[] = [];
  const hookDeliveries: HookDelivery[] = [];
  let hookTarget = options.pipelineHook;
  const ctx: ShapeContext = { baseUrl: '', state };
  for (const token of tokens) state.accessTokens.set(token, ADMIN_USER);
  const app = createApp(ctx, { faults, requests });

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  ctx.baseUrl = `http://127.0.0.1:${port}`;
  state.listeners.push(webhookSender(ctx, () => hookTarget, hookDeliveries));

  return {
    url: ctx.baseUrl,
    apiUrl: ctx.baseUrl + API_PREFIX,
    token: tokens[0]!,
    state,
    faults,
    requests,
    hookDeliveries,
    setPipelineHook: (target) => { hookTarget = target; },
    addAccessToken: (user, token = `glpat-${randomBytes(12).toString('hex')}`) => {
      state.accessTokens.set(token, user);
      return token;
    },
    pushHookBody: (push, user) => pushHookBody(ctx, push, user),
    pipelineHookBody: (pipeline) => pipelineHookBody(ctx, pipeline, state.project(pipeline.projectId)),
    jobHookBody: (job) => jobHookBody(ctx, job, state.pipeline(job.pipelineId), state.project(job.projectId)),
    mergeRequestHookBody: (project, mergeRequest, action, hookOptions) => mergeRequestHookBody(ctx, project, mergeRequest, action, hookOptions),
    close: async () => {
      await state.settled();
      await new Promise<void>((resolve, reject) => {
        // Keep-alive sockets would hold close() open; the double has no requests worth finishing.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}
