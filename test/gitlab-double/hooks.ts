/**
 * Webhooks as GitLab sends them: the Pipeline Hook the double POSTs when a pipeline's status changes,
 * and the Push Hook body a test feeds to the server after a "push". Shapes follow GitLab's
 * "Webhook events" documentation (see ../../../shared/fixtures/gitlab-webhooks/).
 */
import { randomUUID } from 'node:crypto';
import { NULL_SHA, type RepoCommit } from './repository.js';
import type { DoubleJob, DoubleMergeRequest, DoublePipeline, DoubleProject, DoubleUser, PushResult, StateListener } from './state.js';
import { ADMIN_USER } from './state.js';
import { durationSeconds, runnerJson, type ShapeContext } from './shapes.js';

/** GitLab puts only the newest 20 commits of a push in the hook; `total_commits_count` has them all. */
export const PUSH_HOOK_COMMIT_LIMIT = 20;

/** Webhook timestamps are `YYYY-MM-DD HH:MM:SS UTC`, unlike the REST API's ISO 8601. */
function hookTime(iso: string | null): string | null {
  return iso === null ? null : `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** A user as webhooks embed one. */
function hookUser(user: DoubleUser) {
  return { id: user.id, name: user.name, username: user.username, avatar_url: null, email: user.email };
}

function hookProject(ctx: ShapeContext, project: DoubleProject) {
  const web = `${ctx.baseUrl}/${project.pathWithNamespace}`;
  const host = new URL(ctx.baseUrl).hostname;
  return {
    id: project.id,
    name: project.name,
    description: '',
    web_url: web,
    avatar_url: null,
    git_ssh_url: `git@${host}:${project.pathWithNamespace}.git`,
    git_http_url: `${web}.git`,
    namespace: project.group.name,
    visibility_level: 10,
    path_with_namespace: project.pathWithNamespace,
    default_branch: project.defaultBranch,
    ci_config_path: null,
    homepage: web,
    url: `git@${host}:${project.pathWithNamespace}.git`,
    ssh_url: `git@${host}:${project.pathWithNamespace}.git`,
    http_url: `${web}.git`,
  };
}

function hookCommit(ctx: ShapeContext, project: DoubleProject, commit: RepoCommit) {
  const parent = commit.parentIds[0] === undefined ? undefined : project.repository.commits.get(commit.parentIds[0]);
  const before = parent?.files ?? new Map<string, string>();
  return {
    id: commit.id,
    message: commit.message,
    title: commit.message.split('\n')[0]!,
    timestamp: commit.authoredAt.replace(/\.\d{3}Z$/, '+00:00'),
    url: `${ctx.baseUrl}/${project.pathWithNamespace}/-/commit/${commit.id}`,
    author: { name: commit.author.name, email: commit.author.email },
    added: [...commit.files.keys()].filter((p) => !before.has(p)),
    modified: [...commit.files.keys()].filter((p) => before.has(p) && before.get(p) !== commit.files.get(p)),
    removed: [...before.keys()].filter((p) => !commit.files.has(p)),
  };
}

/** The Push Hook body GitLab would send for a push the test made. */
export function pushHookBody(ctx: ShapeContext, push: PushResult, user: DoubleUser = ADMIN_USER) {
  const { project } = push;
  const web = `${ctx.baseUrl}/${project.pathWithNamespace}`;
  const deleted = push.after === NULL_SHA;
  return {
    object_kind: 'push',
    event_name: 'push',
    before: push.before,
    after: push.after,
    ref: `refs/heads/${push.branch}`,
    ref_protected: push.branch === project.defaultBranch,
    checkout_sha: deleted ? null : push.after,
    message: null,
    user_id: user.id,
    user_name: user.name,
    user_username: user.username,
    user_email: user.email,
    user_avatar: null,
    project_id: project.id,
    project: hookProject(ctx, project),
    commits: push.commits.slice(-PUSH_HOOK_COMMIT_LIMIT).map((c) => hookCommit(ctx, project, c)),
    total_commits_count: push.commits.length,
    push_options: {},
    repository: {
      name: project.name,
      url: `git@${new URL(ctx.baseUrl).hostname}:${project.pathWithNamespace}.git`,
      description: '',
      homepage: web,
      git_http_url: `${web}.git`,
      git_ssh_url: `git@${new URL(ctx.baseUrl).hostname}:${project.pathWithNamespace}.git`,
      visibility_level: 10,
    },
  };
}

/** What happened to a merge request, as `object_attributes.action` names it. */
export type MergeRequestAction = 'open' | 'reopen' | 'update' | 'close' | 'merge' | 'approved' | 'unapproved';

const MR_STATE_ID = { opened: 1, closed: 2, merged: 3 } as const;

/**
 * The Merge Request Hook body for a merge request's current state. For `update` after a push to
 * the source branch, pass `oldrev` (the branch's previous head), as GitLab does.
 */
export function mergeRequestHookBody(ctx: ShapeContext, project: DoubleProject, mergeRequest: DoubleMergeRequest, action: MergeRequestAction, options: { oldrev?: string; user?: DoubleUser } = {}) {
  const user = options.user ?? ADMIN_USER;
  // After a merge that removed the source branch, GitLab still knows the merge request's last head.
  const head = project.repository.commits.get(project.repository.branches.get(mergeRequest.sourceBranch) ?? mergeRequest.mergedSha ?? '');
  const { oldrev } = options;
  return {
    object_kind: 'merge_request',
    event_type: 'merge_request',
    user: hookUser(user),
    project: hookProject(ctx, project),
    repository: { name: project.name, url: `git@${new URL(ctx.baseUrl).hostname}:${project.pathWithNamespace}.git`, description: '', homepage: `${ctx.baseUrl}/${project.pathWithNamespace}` },
    object_attributes: {
      id: mergeRequest.id,
      iid: mergeRequest.iid,
      target_branch: mergeRequest.targetBranch,
      source_branch: mergeRequest.sourceBranch,
      source_project_id: project.id,
      author_id: mergeRequest.author.id,
      assignee_ids: [],
      assignee_id: null,
      reviewer_ids: [],
      title: mergeRequest.title,
      created_at: hookTime(mergeRequest.createdAt),
      updated_at: hookTime(mergeRequest.updatedAt),
      last_edited_at: null,
      last_edited_by_id: null,
      milestone_id: null,
      state_id: MR_STATE_ID[mergeRequest.state],
      state: mergeRequest.state,
      blocking_discussions_resolved: true,
      work_in_progress: false,
      draft: false,
      first_contribution: false,
      merge_status: 'can_be_merged',
      target_project_id: project.id,
      description: mergeRequest.description,
      prepared_at: hookTime(mergeRequest.createdAt),
      total_time_spent: 0,
      time_change: 0,
      human_total_time_spent: null,
      human_time_change: null,
      human_time_estimate: null,
      url: `${ctx.baseUrl}/${project.pathWithNamespace}/-/merge_requests/${mergeRequest.iid}`,
      source: hookProject(ctx, project),
      target: hookProject(ctx, project),
      last_commit: head ? (({ added: _a, modified: _m, removed: _r, ...commit }) => commit)(hookCommit(ctx, project, head)) : null,
      labels: [],
      action,
      ...(oldrev === undefined ? {} : { oldrev }),
      detailed_merge_status: mergeRequest.state === 'opened' ? 'mergeable' : 'not_open',
    },
    labels: [],
    changes: action === 'update' ? { updated_at: { previous: hookTime(mergeRequest.createdAt), current: hookTime(mergeRequest.updatedAt) } } : {},
    assignees: [],
    reviewers: [],
  };
}

/** The Job Hook body for a job's current state (GitLab's "Job events"; `object_kind` is `build`). */
export function jobHookBody(ctx: ShapeContext, job: DoubleJob, pipeline: DoublePipeline, project: DoubleProject) {
  const commit = project.repository.commits.get(pipeline.sha);
  const web = `${ctx.baseUrl}/${project.pathWithNamespace}`;
  const host = new URL(ctx.baseUrl).hostname;
  const retries = ctx.state.jobsOf(pipeline.id, true).filter((j) => j.retried && j.name === job.name && j.id < job.id).length;
  return {
    object_kind: 'build',
    ref: pipeline.ref,
    tag: pipeline.tag,
    before_sha: pipeline.beforeSha,
    sha: pipeline.sha,
    retries_count: retries,
    build_id: job.id,
    build_name: job.name,
    build_stage: job.stage,
    build_status: job.status,
    build_created_at: hookTime(job.createdAt),
    build_started_at: hookTime(job.startedAt),
    build_finished_at: hookTime(job.finishedAt),
    build_created_at_iso: job.createdAt,
    build_started_at_iso: job.startedAt,
    build_finished_at_iso: job.finishedAt,
    build_duration: durationSeconds(job.startedAt, job.finishedAt),
    build_queued_duration: durationSeconds(job.createdAt, job.startedAt),
    build_allow_failure: false,
    build_failure_reason: job.failureReason ?? 'unknown_failure',
    pipeline_id: pipeline.id,
    runner: runnerJson(job.runner),
    project_id: project.id,
    project_name: project.pathWithNamespace.split('/').join(' / '),
    user: hookUser(pipeline.user),
    commit: {
      id: pipeline.id,
      name: null,
      sha: pipeline.sha,
      message: commit?.message ?? '',
      author_name: commit?.author.name ?? '',
      author_email: commit?.author.email ?? '',
      author_url: `mailto:${commit?.author.email ?? ''}`,
      status: pipeline.status,
      duration: durationSeconds(pipeline.startedAt, pipeline.finishedAt),
      started_at: hookTime(pipeline.startedAt),
      finished_at: hookTime(pipeline.finishedAt),
      started_at_iso: pipeline.startedAt,
      finished_at_iso: pipeline.finishedAt,
    },
    repository: {
      name: project.name,
      url: `git@${host}:${project.pathWithNamespace}.git`,
      description: '',
      homepage: web,
      git_http_url: `${web}.git`,
      git_ssh_url: `git@${host}:${project.pathWithNamespace}.git`,
      visibility_level: 10,
    },
    project: hookProject(ctx, project),
    environment: null,
  };
}

/** The Pipeline Hook body for a pipeline's current state. */
export function pipelineHookBody(ctx: ShapeContext, pipeline: DoublePipeline, project: DoubleProject) {
  const commit = project.repository.commits.get(pipeline.sha);
  const jobs = ctx.state.jobsOf(pipeline.id);
  const user = hookUser(pipeline.user);
  return {
    object_kind: 'pipeline',
    object_attributes: {
      id: pipeline.id,
      iid: pipeline.iid,
      name: null,
      ref: pipeline.ref,
      tag: pipeline.tag,
      sha: pipeline.sha,
      before_sha: pipeline.beforeSha,
      source: pipeline.source,
      status: pipeline.status,
      detailed_status: pipeline.status === 'success' ? 'passed' : pipeline.status,
      stages: [...new Set(jobs.map((j) => j.stage))],
      created_at: hookTime(pipeline.createdAt),
      finished_at: hookTime(pipeline.finishedAt),
      duration: durationSeconds(pipeline.startedAt, pipeline.finishedAt),
      queued_duration: durationSeconds(pipeline.createdAt, pipeline.startedAt),
      variables: pipeline.variables.map((v) => ({ key: v.key, value: v.value })),
      url: `${ctx.baseUrl}/${project.pathWithNamespace}/-/pipelines/${pipeline.id}`,
    },
    merge_request: null,
    user,
    project: hookProject(ctx, project),
    commit: commit ? hookCommit(ctx, project, commit) : null,
    builds: jobs.map((job) => ({
      id: job.id,
      stage: job.stage,
      name: job.name,
      status: job.status,
      created_at: hookTime(job.createdAt),
      started_at: hookTime(job.startedAt),
      finished_at: hookTime(job.finishedAt),
      duration: durationSeconds(job.startedAt, job.finishedAt),
      queued_duration: durationSeconds(job.createdAt, job.startedAt),
      failure_reason: job.failureReason,
      when: 'on_success',
      manual: false,
      allow_failure: false,
      user,
      runner: runnerJson(job.runner),
      artifacts_file: { filename: null, size: null },
      environment: null,
    })),
  };
}

export interface HookTarget {
  url: string;
  /** Sent as `X-Gitlab-Token`. */
  secret?: string;
  /** Also send Job Hooks (a webhook with "Job events" ticked); Pipeline Hooks are always sent. */
  jobEvents?: boolean;
}

export interface HookDelivery {
  event: string;
  uuid: string;
  url: string;
  /** The receiver's status, or 0 when it could not be reached. */
  status: number;
  body: unknown;
}

/**
 * POSTs one webhook the way GitLab does (headers `X-Gitlab-Event`, `X-Gitlab-Token`, `X-Gitlab-Event-UUID`,
 * `Idempotency-Key`, and `X-Gitlab-Webhook-UUID`, which names the configured webhook, not the event).
 */
export async function deliverHook(target: HookTarget, event: string, body: unknown, instanceUrl: string, webhookUuid: string): Promise<HookDelivery> {
  const uuid = randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitLab/17.11.0',
    'x-gitlab-event': event,
    'x-gitlab-event-uuid': uuid,
    'x-gitlab-webhook-uuid': webhookUuid,
    'x-gitlab-instance': instanceUrl,
    'idempotency-key': uuid,
  };
  if (target.secret !== undefined) headers['x-gitlab-token'] = target.secret;
  let status = 0;
  try {
    const response = await fetch(target.url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    status = response.status;
    await response.arrayBuffer();
  } catch {
    status = 0;
  }
  return { event, uuid, url: target.url, status, body };
}

/** Sends the webhooks GitLab would for each state event to `target()` (Pipeline Hooks; Job Hooks when the target asks), recording deliveries. */
export function webhookSender(ctx: ShapeContext, target: () => HookTarget | undefined, deliveries: HookDelivery[]): StateListener {
  const webhookUuids = new WeakMap<HookTarget, string>();
  return async (event) => {
    const to = target();
    if (!to || (event.kind === 'job' && !to.jobEvents)) return;
    const [name, body] = event.kind === 'job'
      ? ['Job Hook', jobHookBody(ctx, event.job, event.pipeline, event.project)] as const
      : ['Pipeline Hook', pipelineHookBody(ctx, event.pipeline, event.project)] as const;
    // Let the API request that caused the change answer first, as GitLab's hook queue would.
    await new Promise((resolve) => setImmediate(resolve));
    if (!webhookUuids.has(to)) webhookUuids.set(to, randomUUID());
    deliveries.push(await deliverHook(to, name, body, ctx.baseUrl, webhookUuids.get(to)!));
  };
}
