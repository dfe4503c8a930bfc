/**
 * The double's in-memory GitLab: groups, projects with repositories, merge requests and their
 * notes, pipelines with their jobs and job tokens. Tests manipulate it directly; the HTTP routes
 * read and change it the way GitLab's REST API would.
 */
import { randomBytes } from 'node:crypto';
import { Repository, type CommitAuthor, type CommitInput, type RepoCommit, NULL_SHA } from './repository.js';

export type PipelineStatus =
  | 'created' | 'waiting_for_resource' | 'preparing' | 'pending' | 'running'
  | 'success' | 'failed' | 'canceled' | 'skipped' | 'manual' | 'scheduled';
/** Every pipeline status GitLab knows (the `status` filter's values). */
export const PIPELINE_STATUSES: readonly PipelineStatus[] = [
  'created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'success', 'failed', 'canceled', 'skipped', 'manual', 'scheduled',
];
export type JobStatus = 'created' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'manual';
const FINISHED: ReadonlySet<JobStatus> = new Set(['success', 'failed', 'canceled', 'skipped']);

export interface JobSpec {
  name: string;
  stage: string;
}

export interface DoubleUser {
  id: number;
  username: string;
  name: string;
  email: string;
}

export interface DoubleGroup {
  id: number;
  name: string;
  /** Full path, e.g. `arch/packages`. */
  fullPath: string;
  parentId: number | null;
}

export interface DoubleMergeRequest {
  iid: number;
  id: number;
  title: string;
  description: string;
  sourceBranch: string;
  targetBranch: string;
  state: 'opened' | 'closed' | 'merged';
  author: DoubleUser;
  /** Whether merging deletes the source branch (`remove_source_branch`). */
  removeSourceBranch: boolean;
  /** The source branch's head when it was merged (the branch may be gone since). */
  mergedSha?: string;
  /** The merge commit, when it was merged with one (`finishMergeRequest`'s method "merge-commit"). */
  mergeCommitSha?: string;
  createdAt: string;
  updatedAt: string;
}

export interface DoubleNote {
  id: number;
  projectId: number;
  mergeRequestIid: number;
  body: string;
  author: DoubleUser;
  createdAt: string;
  updatedAt: string;
}

/** The states of a commit status (GitLab's CommitStatus state machine, the part the status API reaches). */
export type CommitStatusState = 'created' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped';
/** The states `POST /projects/:id/statuses/:sha` takes. */
export const COMMIT_STATUS_STATES = ['pending', 'running', 'success', 'failed', 'canceled', 'skipped'] as const;

/** A commit status set through the API (GitLab's GenericCommitStatus, a job in the `external` stage). */
export interface DoubleCommitStatus {
  id: number;
  projectId: number;
  sha: string;
  ref: string;
  name: string;
  status: CommitStatusState;
  targetUrl: string | null;
  description: string | null;
  /** The pipeline the status is a job of: the newest at the commit and ref when it was made (GitLab would make an `external` one when there is none; the double leaves it null). Its status counts in the pipeline's. */
  pipelineId: number | null;
  /** The states requests set it to, in order (for tests). */
  requested: CommitStatusState[];
  author: DoubleUser;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** What `POST /projects/:id/statuses/:sha` asks: the state and the optional attributes. */
export interface CommitStatusInput {
  state: (typeof COMMIT_STATUS_STATES)[number];
  ref?: string;
  name?: string;
  targetUrl?: string;
  description?: string;
}

/** A state change a commit status cannot make (GitLab answers 400 with this message). */
export class CommitStatusTransitionError extends Error {
  override name = 'CommitStatusTransitionError';
}

/** Which event of GitLab's state machine a requested state fires, and the states it leaves from. */
const COMMIT_STATUS_EVENTS: Record<CommitStatusInput['state'], { event: string; from: readonly CommitStatusState[] }> = {
  pending: { event: 'enqueue', from: ['created'] },
  running: { event: 'run', from: ['pending'] },
  success: { event: 'success', from: ['created', 'pending', 'running'] },
  failed: { event: 'drop', from: ['created', 'pending', 'running'] },
  canceled: { event: 'cancel', from: ['created', 'pending', 'running'] },
  skipped: { event: 'skip', from: ['created', 'pending'] },
};

export interface DoubleProject {
  id: number;
  name: string;
  path: string;
  pathWithNamespace: string;
  group: DoubleGroup;
  defaultBranch: string;
  createdAt: string;
  archived: boolean;
  repository: Repository;
  /** The jobs every new pipeline of this project gets (its `.gitlab-ci.yml`, in effect). */
  ciJobs: JobSpec[];
  mergeRequests: Map<number, DoubleMergeRequest>;
}

export interface PipelineVariable {
  key: string;
  value: string;
  variable_type: 'env_var' | 'file';
}

export interface DoubleJob {
  id: number;
  pipelineId: number;
  projectId: number;
  name: string;
  stage: string;
  status: JobStatus;
  /** The job's CI_JOB_TOKEN; GitLab accepts it only while the job is running. */
  token: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  failureReason: string | null;
  /** A job replaced by a retry is kept but hidden unless `include_retried`. */
  retried: boolean;
  /** The runner that took the job (null until one does, or when the test gave none). */
  runner: { id: number; description: string } | null;
  /** The job's log (trace), as `GET /projects/:id/jobs/:job_id/trace` answers it. */
  log: string;
}

export interface DoublePipeline {
  id: number;
  iid: number;
  projectId: number;
  ref: string;
  sha: string;
  beforeSha: string;
  tag: boolean;
  source: string;
  status: PipelineStatus;
  variables: PipelineVariable[];
  user: DoubleUser;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  jobIds: number[];
}

/** What a test "push" produced: enough to build a Push Hook. */
export interface PushResult {
  project: DoubleProject;
  branch: string;
  before: string;
  after: string;
  /** Oldest first. */
  commits: RepoCommit[];
}

export interface AddProjectOptions {
  /** Full path, e.g. `packages/zlib`; groups along the way are created. */
  path: string;
  defaultBranch?: string;
  /** Files of the initial commit; a project without files has an empty repository. */
  files?: Record<string, string>;
  ciJobs?: JobSpec[];
  archived?: boolean;
}

/** A change GitLab would fire a webhook for: a pipeline or a job created or changing status. */
export type StateEvent =
  | { kind: 'pipeline'; pipeline: DoublePipeline; project: DoubleProject }
  | { kind: 'job'; job: DoubleJob; pipeline: DoublePipeline; project: DoubleProject };

/** Told of every StateEvent, in order. It must read what it needs before its first await: the state moves on. */
export type StateListener = (event: StateEvent) => Promise<void>;

/** The user the double acts as: it creates the pipelines and notes of API calls. */
export const ADMIN_USER: DoubleUser = { id: 1, username: 'quarters-bot', name: 'quarters bot', email: 'quarters@example.com' };

const now = () => new Date().toISOString();

/** A test drove the double into something GitLab would not allow (unknown project, finishing a finished job…). */
export class DoubleError extends Error {
  override name = 'DoubleError';
}

/** The whole GitLab instance the double pretends to be. */
export class GitLabState {
  readonly groups = new Map<number, DoubleGroup>();
  readonly projects = new Map<number, DoubleProject>();
  readonly pipelines = new Map<number, DoublePipeline>();
  readonly jobs = new Map<number, DoubleJob>();
  /** The runner a job started without naming one is taken by (GitLab's hooks and GET /job show it). */
  defaultRunner: { id: number; description: string } | null = null;
  readonly notes = new Map<number, DoubleNote>();
  readonly commitStatuses = new Map<number, DoubleCommitStatus>();
  readonly listeners: StateListener[] = [];
  /** Personal/project access tokens GitLab accepts, and the user each one acts as. */
  readonly accessTokens = new Map<string, DoubleUser>();
  private readonly pendingNotifications: Promise<void>[] = [];
  private nextId = { group: 100, project: 1000, pipeline: 5000, job: 9000, note: 300, mergeRequest: 700, commitStatus: 20000 };

  /** Adds a project (and the groups on its path) with an initial commit of `files` on the default branch. */
  addProject(options: AddProjectOptions): DoubleProject {
    const parts = options.path.split('/');
    if (parts.length < 2 || parts.some((p) => p === '')) throw new DoubleError(`double: project path ${options.path} must be group/…/name`);
    if (this.findProject(options.path)) throw new DoubleError(`double: project ${options.path} exists`);
    const name = parts.pop()!;
    const group = this.ensureGroup(parts.join('/'));
    const project: DoubleProject = {
      id: this.nextId.project++,
      name,
      path: name,
      pathWithNamespace: options.path,
      group,
      defaultBranch: options.defaultBranch ?? 'main',
      createdAt: now(),
      archived: options.archived ?? false,
      repository: new Repository(),
      ciJobs: options.ciJobs ?? [{ name: 'build', stage: 'build' }],
      mergeRequests: new Map(),
    };
    if (options.files) project.repository.commit(project.defaultBranch, { files: options.files, message: 'Initial commit' });
    this.projects.set(project.id, project);
    return project;
  }

  /** The group at a full path, created with its parents when absent. */
  ensureGroup(fullPath: string): DoubleGroup {
    const existing = this.findGroup(fullPath);
    if (existing) return existing;
    const parts = fullPath.split('/');
    const parent = parts.length > 1 ? this.ensureGroup(parts.slice(0, -1).join('/')) : null;
    const group: DoubleGroup = { id: this.nextId.group++, name: parts[parts.length - 1]!, fullPath, parentId: parent?.id ?? null };
    this.groups.set(group.id, group);
    return group;
  }

  /** A project by numeric id or full path (as the API's `:id` accepts). */
  findProject(idOrPath: string | number): DoubleProject | undefined {
    const key = String(idOrPath);
    if (/^\d+$/.test(key)) return this.projects.get(Number(key));
    return [...this.projects.values()].find((p) => p.pathWithNamespace.toLowerCase() === key.toLowerCase());
  }

  findGroup(idOrPath: string | number): DoubleGroup | undefined {
    const key = String(idOrPath);
    if (/^\d+$/.test(key)) return this.groups.get(Number(key));
    return [...this.groups.values()].find((g) => g.fullPath.toLowerCase() === key.toLowerCase());
  }

  project(idOrPath: string | number | DoubleProject): DoubleProject {
    const project = typeof idOrPath === 'object' ? idOrPath : this.findProject(idOrPath);
    if (!project) throw new DoubleError(`double: no project ${String(idOrPath)}`);
    return project;
  }

  /**
   * Pushes commits onto a branch (the default branch unless given; a new branch starts at `from`, default
   * branch by default). With `force`, an existing branch is first reset to `from` (an older commit, or any
   * ref), as `git reset --hard FROM`, new commits, then `git push --force` would: `before` is the old head,
   * and `commits` are those of the new head that the old one does not have (what GitLab's Push Hook lists:
   * the new history since the merge base; none for a plain rewind).
   */
  push(projectRef: string | number | DoubleProject, options: { branch?: string; from?: string; force?: boolean; commits: CommitInput[] }): PushResult {
    const project = this.project(projectRef);
    const branch = options.branch ?? project.defaultBranch;
    const repository = project.repository;
    const before = repository.branches.get(branch) ?? NULL_SHA;
    if (options.force && before !== NULL_SHA) {
      if (options.from === undefined) throw new DoubleError('double: a force push needs `from`, the commit the branch is reset to');
      repository.resetBranch(branch, options.from);
      options.commits.forEach((input) => repository.commit(branch, input));
      const after = repository.branches.get(branch)!;
      const { commits } = repository.compare(repository.commits.get(before)!, repository.commits.get(after)!);
      return { project, branch, before, after, commits };
    }
    const from = repository.branches.has(branch) ? undefined : (options.from ?? (repository.branches.has(project.defaultBranch) ? project.defaultBranch : undefined));
    const commits = options.commits.map((input, i) => repository.commit(branch, input, i === 0 ? from : undefined));
    return { project, branch, before, after: repository.branches.get(branch)!, commits };
  }

  /** Pushes one commit writing (string) or deleting (null) files. */
  pushFiles(projectRef: string | number | DoubleProject, files: Record<string, string | null>, options: { branch?: string; message?: string; author?: CommitAuthor } = {}): PushResult {
    return this.push(projectRef, { branch: options.branch, commits: [{ files, message: options.message, author: options.author }] });
  }

  /** Opens a merge request (same project) from `sourceBranch`, which must exist. */
  addMergeRequest(projectRef: string | number | DoubleProject, options: { sourceBranch: string; targetBranch?: string; title?: string; description?: string; iid?: number; author?: DoubleUser; removeSourceBranch?: boolean }): DoubleMergeRequest {
    const project = this.project(projectRef);
    if (!project.repository.branches.has(options.sourceBranch)) throw new DoubleError(`double: no branch ${options.sourceBranch} in ${project.pathWithNamespace}`);
    const iid = options.iid ?? Math.max(0, ...project.mergeRequests.keys()) + 1;
    const at = now();
    const mergeRequest: DoubleMergeRequest = {
      iid,
      id: this.nextId.mergeRequest++,
      title: options.title ?? `Merge ${options.sourceBranch}`,
      description: options.description ?? '',
      sourceBranch: options.sourceBranch,
      targetBranch: options.targetBranch ?? project.defaultBranch,
      state: 'opened',
      author: options.author ?? ADMIN_USER,
      removeSourceBranch: options.removeSourceBranch ?? false,
      createdAt: at,
      updatedAt: at,
    };
    project.mergeRequests.set(iid, mergeRequest);
    return mergeRequest;
  }

  mergeRequest(projectRef: string | number | DoubleProject, iid: number): DoubleMergeRequest {
    const mergeRequest = this.project(projectRef).mergeRequests.get(iid);
    if (!mergeRequest) throw new DoubleError(`double: no merge request !${iid}`);
    return mergeRequest;
  }

  /**
   * Merges (the target branch moves to the source branch's head, as a fast-forward; or, with method
   * "merge-commit", GitLab's default, to a merge commit of it) or closes a merge request.
   */
  finishMergeRequest(projectRef: string | number | DoubleProject, iid: number, outcome: 'merged' | 'closed', options: { method?: 'fast-forward' | 'merge-commit' } = {}): DoubleMergeRequest {
    const project = this.project(projectRef);
    const mergeRequest = this.mergeRequest(project, iid);
    if (mergeRequest.state !== 'opened') throw new DoubleError(`double: merge request !${iid} is ${mergeRequest.state}`);
    if (outcome === 'merged') {
      const head = project.repository.branches.get(mergeRequest.sourceBranch)!;
      if (options.method === 'merge-commit') {
        const merge = project.repository.mergeCommit(mergeRequest.targetBranch, mergeRequest.sourceBranch, { message: `Merge branch '${mergeRequest.sourceBranch}' into '${mergeRequest.targetBranch}'\n\n${mergeRequest.title}` });
        mergeRequest.mergeCommitSha = merge.id;
      } else {
        project.repository.branches.set(mergeRequest.targetBranch, head);
      }
      mergeRequest.mergedSha = head;
      if (mergeRequest.removeSourceBranch) project.repository.branches.delete(mergeRequest.sourceBranch);
    }
    mergeRequest.state = outcome;
    mergeRequest.updatedAt = now();
    return mergeRequest;
  }

  /** The notes of a merge request, oldest first. */
  mergeRequestNotes(projectRef: string | number | DoubleProject, iid: number): DoubleNote[] {
    const project = this.project(projectRef);
    return [...this.notes.values()].filter((n) => n.projectId === project.id && n.mergeRequestIid === iid).sort((a, b) => a.id - b.id);
  }

  addNote(project: DoubleProject, iid: number, body: string, author: DoubleUser = ADMIN_USER): DoubleNote {
    const at = now();
    const note: DoubleNote = { id: this.nextId.note++, projectId: project.id, mergeRequestIid: iid, body, author, createdAt: at, updatedAt: at };
    this.notes.set(note.id, note);
    return note;
  }

  /**
   * Sets a commit status as `POST /projects/:id/statuses/:sha` does: the pending or running status of
   * that name, ref and user moves on, else a new one starts (`created`) and moves; a move GitLab's state
   * machine does not allow (`running` twice, `pending` after `running`) throws CommitStatusTransitionError.
   * The caller has resolved `sha` and `ref` (GitLab's 404s).
   */
  setCommitStatus(project: DoubleProject, sha: string, ref: string, input: CommitStatusInput, user: DoubleUser = ADMIN_USER): DoubleCommitStatus {
    const name = input.name ?? 'default';
    const open = [...this.commitStatuses.values()].find((s) =>
      s.projectId === project.id && s.sha === sha && s.ref === ref && s.name === name && s.author.id === user.id && (s.status === 'pending' || s.status === 'running'));
    const at = now();
    const status: DoubleCommitStatus = open ?? {
      id: this.nextId.commitStatus, projectId: project.id, sha, ref, name, status: 'created', targetUrl: null, description: null,
      pipelineId: this.pipelinesOf(project).filter((p) => p.sha === sha && p.ref === ref).at(-1)?.id ?? null, requested: [],
      author: user, createdAt: at, startedAt: null, finishedAt: null,
    };
    // `running` first enqueues when it can (created → pending), without complaining when it cannot.
    const from = input.state === 'running' && status.status === 'created' ? 'pending' : status.status;
    const { event, from: allowed } = COMMIT_STATUS_EVENTS[input.state];
    if (!allowed.includes(from)) {
      throw new CommitStatusTransitionError(`Cannot transition status via :${event} from :${from} (Reason(s): Status cannot transition via "${event}")`);
    }
    if (!open) this.commitStatuses.set(this.nextId.commitStatus++, status);
    if (input.targetUrl !== undefined) status.targetUrl = input.targetUrl;
    if (input.description !== undefined) status.description = input.description;
    status.status = input.state;
    status.requested.push(input.state);
    if (input.state === 'running') status.startedAt ??= at;
    if (input.state !== 'pending' && input.state !== 'running') status.finishedAt = at;
    // The status is a job of its pipeline: the pipeline's status follows (and its hooks are sent, asynchronously).
    if (status.pipelineId !== null) void this.changeJobs(status.pipelineId, () => {});
    return status;
  }

  /** The statuses of a commit, oldest first; only the latest of each name and ref unless `all`. */
  commitStatusesOf(projectRef: string | number | DoubleProject, sha: string, options: { all?: boolean } = {}): DoubleCommitStatus[] {
    const project = this.project(projectRef);
    const statuses = [...this.commitStatuses.values()].filter((s) => s.projectId === project.id && s.sha === sha).sort((a, b) => a.id - b.id);
    if (options.all) return statuses;
    const latest = new Map(statuses.map((s) => [`${s.name}\0${s.ref}`, s]));
    return statuses.filter((s) => latest.get(`${s.name}\0${s.ref}`) === s);
  }

  /** The latest commit status of each name in a pipeline (GitLab marks older ones retried). */
  commitStatusesIn(pipelineId: number): DoubleCommitStatus[] {
    const latest = new Map<string, DoubleCommitStatus>();
    for (const s of [...this.commitStatuses.values()].sort((a, b) => a.id - b.id)) if (s.pipelineId === pipelineId) latest.set(s.name, s);
    return [...latest.values()];
  }

  /** Creates a pipeline with the project's CI jobs, all pending, as `POST /projects/:id/pipeline` does (by `user`, the token's). */
  createPipeline(project: DoubleProject, ref: string, sha: string, variables: PipelineVariable[], source = 'api', user: DoubleUser = ADMIN_USER): DoublePipeline {
    const previous = [...this.pipelines.values()].filter((p) => p.projectId === project.id);
    const at = now();
    const commit = project.repository.commits.get(sha);
    const pipeline: DoublePipeline = {
      id: this.nextId.pipeline++,
      iid: previous.length + 1,
      projectId: project.id,
      ref,
      sha,
      beforeSha: commit?.parentIds[0] ?? NULL_SHA,
      tag: project.repository.tags.has(ref),
      source,
      status: 'pending',
      variables,
      user,
      createdAt: at,
      updatedAt: at,
      startedAt: null,
      finishedAt: null,
      jobIds: [],
    };
    for (const spec of project.ciJobs) pipeline.jobIds.push(this.newJob(pipeline, spec).id);
    this.pipelines.set(pipeline.id, pipeline);
    const events: StateEvent[] = [
      ...this.jobsOf(pipeline.id).map((job): StateEvent => ({ kind: 'job', job, pipeline, project })),
      { kind: 'pipeline', pipeline, project },
    ];
    // GitLab reports the new pipeline by hook too, asynchronously: the creating request does not wait for it.
    this.pendingNotifications.push(this.notify(events));
    return pipeline;
  }

  /** Resolves when every webhook queued so far (e.g. for pipeline creation) was delivered. */
  async settled(): Promise<void> {
    while (this.pendingNotifications.length > 0) await Promise.all(this.pendingNotifications.splice(0));
  }

  private async notify(events: StateEvent[]): Promise<void> {
    for (const event of events) {
      for (const listener of this.listeners) await listener(event);
    }
  }

  private newJob(pipeline: DoublePipeline, spec: JobSpec): DoubleJob {
    const job: DoubleJob = {
      id: this.nextId.job++,
      pipelineId: pipeline.id,
      projectId: pipeline.projectId,
      name: spec.name,
      stage: spec.stage,
      status: 'pending',
      token: `glcbt-${randomBytes(16).toString('hex')}`,
      createdAt: now(),
      startedAt: null,
      finishedAt: null,
      failureReason: null,
      retried: false,
      runner: null,
      log: '',
    };
    this.jobs.set(job.id, job);
    return job;
  }

  /** The pipelines created so far, oldest first, optionally of one project. */
  pipelinesOf(projectRef?: string | number | DoubleProject): DoublePipeline[] {
    const projectId = projectRef === undefined ? undefined : this.project(projectRef).id;
    return [...this.pipelines.values()].filter((p) => projectId === undefined || p.projectId === projectId).sort((a, b) => a.id - b.id);
  }

  pipeline(id: number): DoublePipeline {
    const pipeline = this.pipelines.get(id);
    if (!pipeline) throw new DoubleError(`double: no pipeline ${id}`);
    return pipeline;
  }

  /** The current (not retried) jobs of a pipeline. */
  jobsOf(pipelineId: number, includeRetried = false): DoubleJob[] {
    return this.pipeline(pipelineId).jobIds.map((id) => this.jobs.get(id)!).filter((j) => includeRetried || !j.retried);
  }

  job(id: number): DoubleJob {
    const job = this.jobs.get(id);
    if (!job) throw new DoubleError(`double: no job ${id}`);
    return job;
  }

  /** The running job a CI_JOB_TOKEN belongs to; undefined for an unknown token or a job that is not running. */
  jobForToken(token: string): DoubleJob | undefined {
    return [...this.jobs.values()].find((j) => j.token === token && j.status === 'running');
  }

  /** A runner picks the job up: it runs, and its token becomes valid. Returns the token. */
  async startJob(jobId: number, runner: { id: number; description: string } | null = this.defaultRunner): Promise<string> {
    const job = this.job(jobId);
    if (job.status !== 'pending') throw new DoubleError(`double: job ${jobId} is ${job.status}, not pending`);
    await this.changeJobs(job.pipelineId, () => {
      job.status = 'running';
      job.startedAt = now();
      job.runner = runner;
    });
    return job.token;
  }

  /** Appends to a job's log, as its runner sends the trace. */
  appendJobLog(jobId: number, text: string): void {
    this.job(jobId).log += text;
  }

  /** Finishes a running (or pending) job with `success` or `failed`; its token stops working. */
  async finishJob(jobId: number, status: 'success' | 'failed', failureReason = 'script_failure'): Promise<void> {
    const job = this.job(jobId);
    if (FINISHED.has(job.status)) throw new DoubleError(`double: job ${jobId} already ${job.status}`);
    await this.changeJobs(job.pipelineId, () => {
      job.status = status;
      job.startedAt ??= now();
      job.finishedAt = now();
      job.failureReason = status === 'failed' ? failureReason : null;
    });
  }

  /** Starts a pipeline's first pending job and returns it with its token. */
  async startPipeline(pipelineId: number): Promise<{ job: DoubleJob; token: string }> {
    const job = this.jobsOf(pipelineId).find((j) => j.status === 'pending');
    if (!job) throw new DoubleError(`double: pipeline ${pipelineId} has no pending job`);
    return { job, token: await this.startJob(job.id) };
  }

  /** Runs every unfinished job of a pipeline to `status`. */
  async finishPipeline(pipelineId: number, status: 'success' | 'failed'): Promise<void> {
    for (const job of this.jobsOf(pipelineId)) {
      if (FINISHED.has(job.status)) continue;
      if (job.status === 'pending') await this.startJob(job.id);
      await this.finishJob(job.id, status);
    }
  }

  /** Cancels a pipeline's unfinished jobs (`POST .../cancel`); the state changes at once, the promise waits for the webhooks. */
  async cancelPipeline(pipelineId: number): Promise<void> {
    await this.changeJobs(pipelineId, () => {
      for (const job of this.jobsOf(pipelineId)) {
        if (FINISHED.has(job.status)) continue;
        job.status = 'canceled';
        job.finishedAt = now();
      }
      // Commit statuses are among the pipeline's cancelable jobs too.
      for (const status of this.commitStatusesIn(pipelineId)) {
        if (status.status !== 'created' && status.status !== 'pending' && status.status !== 'running') continue;
        status.status = 'canceled';
        status.finishedAt = now();
      }
    });
  }

  /** Whether `POST .../retry` has anything to do: some job failed or was canceled. */
  retryable(pipelineId: number): boolean {
    return this.jobsOf(pipelineId).some((j) => j.status === 'failed' || j.status === 'canceled');
  }

  /** Replaces failed and canceled jobs by new pending ones (`POST .../retry`); the state changes at once, the promise waits for the webhooks. */
  async retryPipeline(pipelineId: number): Promise<void> {
    const pipeline = this.pipeline(pipelineId);
    await this.changeJobs(pipelineId, () => {
      for (const job of this.jobsOf(pipelineId)) {
        if (job.status !== 'failed' && job.status !== 'canceled') continue;
        job.retried = true;
        const replacement = this.newJob(pipeline, job);
        pipeline.jobIds.splice(pipeline.jobIds.indexOf(job.id) + 1, 0, replacement.id);
      }
      pipeline.finishedAt = null;
    });
  }

  /** Applies a change to a pipeline's jobs, recomputes its status and notifies listeners of every job and pipeline status that changed. */
  private async changeJobs(pipelineId: number, change: () => void): Promise<void> {
    const pipeline = this.pipeline(pipelineId);
    const project = this.projects.get(pipeline.projectId)!;
    const before = pipeline.status;
    const jobStatusesBefore = new Map(pipeline.jobIds.map((id) => [id, this.jobs.get(id)!.status]));
    change();
    pipeline.status = pipelineStatusOf([...this.jobsOf(pipelineId).map((j) => j.status), ...this.commitStatusesIn(pipelineId).map((s) => s.status)]);
    pipeline.updatedAt = now();
    if (pipeline.status === 'running') pipeline.startedAt ??= now();
    if (FINISHED.has(pipeline.status as JobStatus)) pipeline.finishedAt = now();
    const events: StateEvent[] = pipeline.jobIds
      .map((id) => this.jobs.get(id)!)
      .filter((job) => jobStatusesBefore.get(job.id) !== job.status)
      .map((job) => ({ kind: 'job', job, pipeline, project }));
    if (pipeline.status !== before) events.push({ kind: 'pipeline', pipeline, project });
    const delivered = this.notify(events);
    this.pendingNotifications.push(delivered);
    await delivered;
  }
}

/** A pipeline's status from its current jobs', the way GitLab composes it. */
export function pipelineStatusOf(statuses: JobStatus[]): PipelineStatus {
  if (statuses.length === 0) return 'skipped';
  if (statuses.some((s) => s === 'running')) return 'running';
  const unfinished = statuses.some((s) => !FINISHED.has(s));
  if (unfinished) return statuses.some((s) => FINISHED.has(s)) ? 'running' : 'pending';
  if (statuses.some((s) => s === 'failed')) return 'failed';
  if (statuses.some((s) => s === 'canceled')) return 'canceled';
  if (statuses.every((s) => s === 'skipped')) return 'skipped';
  return 'success';
}
