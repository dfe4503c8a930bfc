/** The JSON GitLab's REST API answers with, built from the double's state (field names as in GitLab's API docs). */
import type { RepoCommit, TreeEntry, FileChange } from './repository.js';
import { blobId } from './repository.js';
import type { DoubleCommitStatus, DoubleGroup, DoubleJob, DoubleNote, DoubleMergeRequest, DoublePipeline, DoubleProject, DoubleUser, GitLabState } from './state.js';
import { createHash } from 'node:crypto';

/** Where the double is reachable (`http://127.0.0.1:PORT`), for `web_url` and friends. */
export interface ShapeContext {
  baseUrl: string;
  state: GitLabState;
}

/** A user as GitLab embeds it (UserBasic). */
export function userJson(ctx: ShapeContext, user: DoubleUser) {
  return {
    id: user.id, username: user.username, name: user.name, state: 'active', locked: false,
    avatar_url: null, web_url: `${ctx.baseUrl}/${user.username}`,
  };
}

/** The authenticated user as `GET /user` returns it to a non-admin token (UserPublic: UserBasic, profile, email and limits). */
export function currentUserJson(ctx: ShapeContext, user: DoubleUser) {
  return {
    ...userJson(ctx, user),
    created_at: '2024-01-01T00:00:00.000Z', bio: '', location: '', public_email: null, skype: '', linkedin: '', twitter: '', discord: '',
    website_url: '', organization: '', job_title: '', pronouns: null, bot: false, work_information: null, followers: 0, following: 0,
    is_followed: false, local_time: null, last_sign_in_at: null, confirmed_at: '2024-01-01T00:00:00.000Z', last_activity_on: null,
    email: user.email, theme_id: 1, color_scheme_id: 1, projects_limit: 100000, current_sign_in_at: null, identities: [],
    can_create_group: true, can_create_project: true, two_factor_enabled: false, external: false, private_profile: false, commit_email: user.email,
  };
}

/** A project's `namespace`. */
export function namespaceJson(ctx: ShapeContext, group: DoubleGroup) {
  return {
    id: group.id, name: group.name, path: group.fullPath.split('/').pop()!, kind: 'group', full_path: group.fullPath,
    parent_id: group.parentId, avatar_url: null, web_url: `${ctx.baseUrl}/groups/${group.fullPath}`,
  };
}

/** A project as `GET /projects/:id` returns it. */
export function projectJson(ctx: ShapeContext, project: DoubleProject) {
  const web = `${ctx.baseUrl}/${project.pathWithNamespace}`;
  const host = new URL(ctx.baseUrl).hostname;
  const groupNames = project.pathWithNamespace.split('/').slice(0, -1).join(' / ');
  return {
    id: project.id,
    description: null,
    name: project.name,
    name_with_namespace: `${groupNames} / ${project.name}`,
    path: project.path,
    path_with_namespace: project.pathWithNamespace,
    created_at: project.createdAt,
    default_branch: project.repository.branches.size > 0 ? project.defaultBranch : null,
    tag_list: [],
    topics: [],
    ssh_url_to_repo: `git@${host}:${project.pathWithNamespace}.git`,
    http_url_to_repo: `${web}.git`,
    web_url: web,
    readme_url: null,
    avatar_url: null,
    forks_count: 0,
    star_count: 0,
    last_activity_at: project.createdAt,
    namespace: namespaceJson(ctx, project.group),
    empty_repo: project.repository.commits.size === 0,
    archived: project.archived,
    visibility: 'internal',
  };
}

/** A commit as lists and compare return it. */
export function commitJson(ctx: ShapeContext, project: DoubleProject, commit: RepoCommit) {
  const title = commit.message.split('\n')[0]!;
  return {
    id: commit.id,
    short_id: commit.id.slice(0, 8),
    created_at: commit.authoredAt,
    parent_ids: commit.parentIds,
    title,
    message: commit.message,
    author_name: commit.author.name,
    author_email: commit.author.email,
    authored_date: commit.authoredAt,
    committer_name: commit.author.name,
    committer_email: commit.author.email,
    committed_date: commit.authoredAt,
    trailers: {},
    extended_trailers: {},
    web_url: `${ctx.baseUrl}/${project.pathWithNamespace}/-/commit/${commit.id}`,
  };
}

/** `GET .../repository/commits/:sha` adds stats and the last pipeline to the commit. */
export function commitDetailJson(ctx: ShapeContext, project: DoubleProject, commit: RepoCommit) {
  const parent = commit.parentIds[0] === undefined ? undefined : project.repository.commits.get(commit.parentIds[0]);
  const changes = project.repository.diffSnapshots(parent?.files ?? new Map(), commit.files);
  const count = (sign: string) => changes.reduce((n, c) => n + c.diff.split('\n').filter((l) => l.startsWith(sign) && !l.startsWith('@@')).length, 0);
  const additions = count('+');
  const deletions = count('-');
  const last = ctx.state.pipelinesOf(project).filter((p) => p.sha === commit.id).pop();
  return {
    ...commitJson(ctx, project, commit),
    stats: { additions, deletions, total: additions + deletions },
    status: last?.status ?? null,
    project_id: project.id,
    last_pipeline: last ? pipelineBasicJson(ctx, last) : null,
  };
}

/** A branch with its head commit. */
export function branchJson(ctx: ShapeContext, project: DoubleProject, name: string) {
  const commit = project.repository.commits.get(project.repository.branches.get(name)!)!;
  return {
    name,
    merged: false,
    protected: name === project.defaultBranch,
    default: name === project.defaultBranch,
    developers_can_push: false,
    developers_can_merge: false,
    can_push: true,
    web_url: `${ctx.baseUrl}/${project.pathWithNamespace}/-/tree/${name}`,
    commit: commitJson(ctx, project, commit),
  };
}

/** One entry of `GET .../repository/tree`. */
export function treeEntryJson(entry: TreeEntry) {
  return { id: entry.id, name: entry.name, type: entry.type, path: entry.path, mode: entry.mode };
}

/** A file with metadata and base64 content, as `GET .../repository/files/:file_path` returns it. */
export function fileJson(project: DoubleProject, commit: RepoCommit, ref: string, path: string, content: string) {
  const bytes = Buffer.from(content, 'utf8');
  const lastCommit = project.repository.ancestors(commit.id)
    .map((id) => project.repository.commits.get(id)!)
    .find((c) => {
      const parent = c.parentIds[0] === undefined ? undefined : project.repository.commits.get(c.parentIds[0]);
      return parent?.files.get(path) !== c.files.get(path);
    }) ?? commit;
  return {
    file_name: path.split('/').pop()!,
    file_path: path,
    size: bytes.length,
    encoding: 'base64',
    content: bytes.toString('base64'),
    content_sha256: createHash('sha256').update(bytes).digest('hex'),
    ref,
    blob_id: blobId(content),
    commit_id: commit.id,
    last_commit_id: lastCommit.id,
    execute_filemode: false,
  };
}

/** One entry of a compare's `diffs`. */
export function diffJson(change: FileChange) {
  return {
    diff: change.diff,
    new_path: change.newPath,
    old_path: change.oldPath,
    a_mode: change.newFile ? '0' : '100644',
    b_mode: change.deletedFile ? '0' : '100644',
    new_file: change.newFile,
    renamed_file: change.renamedFile,
    deleted_file: change.deletedFile,
    generated_file: false,
  };
}

function pipelineUrl(ctx: ShapeContext, pipeline: DoublePipeline): string {
  return `${ctx.baseUrl}/${ctx.state.project(pipeline.projectId).pathWithNamespace}/-/pipelines/${pipeline.id}`;
}

/** The pipeline as `GET /projects/:id/pipelines` lists it. */
export function pipelineBasicJson(ctx: ShapeContext, pipeline: DoublePipeline) {
  return {
    id: pipeline.id,
    iid: pipeline.iid,
    project_id: pipeline.projectId,
    sha: pipeline.sha,
    ref: pipeline.ref,
    status: pipeline.status,
    source: pipeline.source,
    created_at: pipeline.createdAt,
    updated_at: pipeline.updatedAt,
    web_url: pipelineUrl(ctx, pipeline),
    name: null,
  };
}

/** Whole seconds between two ISO timestamps, null while either is missing. */
export function durationSeconds(from: string | null, to: string | null): number | null {
  if (from === null || to === null) return null;
  return Math.round((Date.parse(to) - Date.parse(from)) / 1000);
}

/** The pipeline as `GET /projects/:id/pipelines/:pipeline_id` (and create, cancel, retry) return it. */
export function pipelineJson(ctx: ShapeContext, pipeline: DoublePipeline) {
  const commit = ctx.state.project(pipeline.projectId).repository.commits.get(pipeline.sha);
  return {
    ...pipelineBasicJson(ctx, pipeline),
    before_sha: pipeline.beforeSha,
    tag: pipeline.tag,
    yaml_errors: null,
    user: userJson(ctx, pipeline.user),
    started_at: pipeline.startedAt,
    finished_at: pipeline.finishedAt,
    committed_at: commit?.authoredAt ?? null,
    duration: durationSeconds(pipeline.startedAt, pipeline.finishedAt),
    queued_duration: durationSeconds(pipeline.createdAt, pipeline.startedAt),
    coverage: null,
    detailed_status: detailedStatusJson(ctx, pipeline),
  };
}

function detailedStatusJson(ctx: ShapeContext, pipeline: DoublePipeline) {
  const text = pipeline.status === 'success' ? 'passed' : pipeline.status;
  return {
    icon: `status_${pipeline.status}`, text, label: text, group: pipeline.status, tooltip: text,
    has_details: true, details_path: new URL(pipelineUrl(ctx, pipeline)).pathname, illustration: null, favicon: `/assets/ci_favicons/favicon_status_${pipeline.status}.png`,
  };
}

/** A CI job (Entities::Ci::Job) with its pipeline. */
export function jobJson(ctx: ShapeContext, job: DoubleJob) {
  const pipeline = ctx.state.pipeline(job.pipelineId);
  const project = ctx.state.project(job.projectId);
  const commit = project.repository.commits.get(pipeline.sha);
  return {
    id: job.id,
    status: job.status,
    stage: job.stage,
    name: job.name,
    ref: pipeline.ref,
    tag: pipeline.tag,
    coverage: null,
    allow_failure: false,
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    erased_at: null,
    duration: durationSeconds(job.startedAt, job.finishedAt),
    queued_duration: durationSeconds(job.createdAt, job.startedAt),
    user: userJson(ctx, pipeline.user),
    commit: commit ? commitJson(ctx, project, commit) : null,
    pipeline: pipelineBasicJson(ctx, pipeline),
    failure_reason: job.failureReason ?? undefined,
    web_url: `${ctx.baseUrl}/${project.pathWithNamespace}/-/jobs/${job.id}`,
    project: { ci_job_token_scope_enabled: false },
    artifacts: [],
    runner: runnerJson(job.runner),
    runner_manager: null,
    artifacts_expire_at: null,
    archived: false,
    tag_list: [],
  };
}

/** A merge request note. */
export function noteJson(ctx: ShapeContext, note: DoubleNote, mergeRequest: DoubleMergeRequest) {
  return {
    id: note.id,
    type: null,
    body: note.body,
    author: userJson(ctx, note.author),
    created_at: note.createdAt,
    updated_at: note.updatedAt,
    system: false,
    noteable_id: mergeRequest.id,
    noteable_type: 'MergeRequest',
    project_id: note.projectId,
    noteable_iid: mergeRequest.iid,
    resolvable: false,
    confidential: false,
    internal: false,
    imported: false,
    imported_from: 'none',
  };
}

/** A commit status (Entities::CommitStatus). */
export function commitStatusJson(ctx: ShapeContext, status: DoubleCommitStatus) {
  return {
    id: status.id,
    sha: status.sha,
    ref: status.ref,
    status: status.status,
    name: status.name,
    target_url: status.targetUrl,
    description: status.description,
    created_at: status.createdAt,
    started_at: status.startedAt,
    finished_at: status.finishedAt,
    allow_failure: false,
    coverage: null,
    pipeline_id: status.pipelineId,
    author: userJson(ctx, status.author),
  };
}

/** A job's runner as GitLab shows it in GET /job and in hooks, or null. */
export function runnerJson(runner: DoubleJob['runner']) {
  if (!runner) return null;
  return { id: runner.id, description: runner.description, ip_address: null, active: true, paused: false, is_shared: false, runner_type: 'project_type', name: 'gitlab-runner', online: true, status: 'online', tags: [] };
}

/** A merge request as `GET /projects/:id/merge_requests[/:iid]` and its create return it (the fields quarters and common clients read). */
export function mergeRequestJson(ctx: ShapeContext, project: DoubleProject, mergeRequest: DoubleMergeRequest) {
  const head = project.repository.branches.get(mergeRequest.sourceBranch) ?? mergeRequest.mergedSha ?? null;
  return {
    id: mergeRequest.id,
    iid: mergeRequest.iid,
    project_id: project.id,
    title: mergeRequest.title,
    description: mergeRequest.description,
    state: mergeRequest.state,
    created_at: mergeRequest.createdAt,
    updated_at: mergeRequest.updatedAt,
    merged_at: mergeRequest.state === 'merged' ? mergeRequest.updatedAt : null,
    closed_at: mergeRequest.state === 'closed' ? mergeRequest.updatedAt : null,
    target_branch: mergeRequest.targetBranch,
    source_branch: mergeRequest.sourceBranch,
    source_project_id: project.id,
    target_project_id: project.id,
    author: userJson(ctx, mergeRequest.author),
    assignees: [],
    reviewers: [],
    labels: [],
    draft: false,
    work_in_progress: false,
    merge_when_pipeline_succeeds: false,
    merge_status: mergeRequest.state === 'opened' ? 'can_be_merged' : 'cannot_be_merged',
    detailed_merge_status: mergeRequest.state === 'opened' ? 'mergeable' : 'not_open',
    sha: head,
    merge_commit_sha: mergeRequest.mergeCommitSha ?? null,
    squash_commit_sha: null,
    force_remove_source_branch: mergeRequest.removeSourceBranch,
    references: { short: `!${mergeRequest.iid}`, relative: `!${mergeRequest.iid}`, full: `${project.pathWithNamespace}!${mergeRequest.iid}` },
    web_url: `${ctx.baseUrl}/${project.pathWithNamespace}/-/merge_requests/${mergeRequest.iid}`,
  };
}
