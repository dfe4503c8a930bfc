/** The shapes of GitLab's answers the client reads (GitLab's REST v4 docs), and the domain values they become. */
import { z } from 'zod';

/** A project (`GET /projects/:id`, group project lists). */
export const projectSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  path_with_namespace: z.string(),
  default_branch: z.string().nullable().optional(),
  web_url: z.string(),
  archived: z.boolean().optional(),
}).transform((p) => ({
  id: p.id,
  name: p.name,
  /** Full path, e.g. `arch/packages/zlib`. */
  path: p.path_with_namespace,
  /** Null for an empty repository. */
  defaultBranch: p.default_branch ?? null,
  webUrl: p.web_url,
  archived: p.archived ?? false,
}));
export type Project = z.infer<typeof projectSchema>;

/** One entry of a repository tree. */
export const treeEntrySchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  type: z.enum(['tree', 'blob', 'commit']),
  path: z.string(),
  mode: z.string(),
}).transform((e) => ({ path: e.path, name: e.name, type: e.type, objectId: e.id, mode: e.mode }));
export type TreeEntry = z.infer<typeof treeEntrySchema>;

const commitSchema = z.looseObject({
  id: z.string(),
  title: z.string(),
  message: z.string(),
  author_name: z.string(),
  author_email: z.string(),
  authored_date: z.string(),
  parent_ids: z.array(z.string()).optional(),
}).transform((c) => ({
  sha: c.id,
  title: c.title,
  message: c.message,
  author: { name: c.author_name, email: c.author_email },
  authoredAt: c.authored_date,
  parentShas: c.parent_ids ?? [],
}));
export type Commit = z.infer<typeof commitSchema>;
export { commitSchema };

const diffSchema = z.looseObject({
  old_path: z.string(),
  new_path: z.string(),
  new_file: z.boolean(),
  deleted_file: z.boolean(),
  renamed_file: z.boolean(),
}).transform((d) => ({ oldPath: d.old_path, newPath: d.new_path, newFile: d.new_file, deletedFile: d.deleted_file, renamedFile: d.renamed_file }));
export type FileChange = z.infer<typeof diffSchema>;

/** `GET .../repository/compare`. */
export const comparisonSchema = z.looseObject({
  commits: z.array(commitSchema),
  diffs: z.array(diffSchema),
  compare_timeout: z.boolean().optional(),
}).transform((c) => ({
  /** Oldest first. */
  commits: c.commits,
  changes: c.diffs,
  /** GitLab gave up computing the diff: `changes` is incomplete. */
  timedOut: c.compare_timeout ?? false,
}));
export type Comparison = z.infer<typeof comparisonSchema>;

/** Pipeline statuses GitLab reports. */
export const PIPELINE_STATUSES = [
  'created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'success', 'failed', 'canceled', 'canceling', 'skipped', 'manual', 'scheduled',
] as const;

/** A pipeline as list, show, create, cancel and retry return it. */
export const pipelineSchema = z.looseObject({
  id: z.number().int(),
  iid: z.number().int().optional(),
  project_id: z.number().int(),
  sha: z.string(),
  ref: z.string(),
  status: z.enum(PIPELINE_STATUSES),
  source: z.string().optional(),
  web_url: z.string(),
  created_at: z.string(),
  updated_at: z.string().optional(),
}).transform((p) => ({
  id: p.id,
  projectId: p.project_id,
  sha: p.sha,
  ref: p.ref,
  status: p.status,
  webUrl: p.web_url,
  createdAt: p.created_at,
}));
export type Pipeline = z.infer<typeof pipelineSchema>;
export type PipelineStatus = Pipeline['status'];

/** Who made a pipeline and how (`GET /projects/:id/pipelines/:pipeline_id`; lists leave `user` out). */
export const pipelineOriginSchema = z.looseObject({
  source: z.string().optional(),
  user: z.looseObject({ id: z.number().int(), username: z.string() }).nullable().optional(),
}).transform((p) => ({ source: p.source ?? null, userId: p.user?.id ?? null, username: p.user?.username ?? null }));

/** The user an access token acts as (`GET /user`). */
export const currentUserSchema = z.looseObject({ id: z.number().int(), username: z.string() });

/** One pipeline variable. */
export const pipelineVariableSchema = z.looseObject({ key: z.string(), value: z.string(), variable_type: z.string().optional() });

/** A CI job with its pipeline (`GET /job`, pipeline jobs). */
export const jobSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  stage: z.string(),
  status: z.string(),
  allow_failure: z.boolean().optional(),
  created_at: z.string().nullish(),
  started_at: z.string().nullish(),
  /** The runner that took the job (GitLab sends null while none has). */
  runner: z.looseObject({ id: z.number().int(), description: z.string().nullish() }).nullish(),
  pipeline: z.looseObject({
    id: z.number().int(),
    project_id: z.number().int(),
    ref: z.string(),
    sha: z.string(),
    status: z.string(),
  }),
}).transform((j) => ({
  jobId: j.id,
  name: j.name,
  stage: j.stage,
  status: j.status,
  allowFailure: j.allow_failure ?? false,
  pipelineId: j.pipeline.id,
  projectId: j.pipeline.project_id,
  ref: j.pipeline.ref,
  sha: j.pipeline.sha,
  createdAt: j.created_at ?? null,
  startedAt: j.started_at ?? null,
  runner: j.runner ? { id: j.runner.id, description: j.runner.description ?? null } : null,
}));
/** A CI job and the pipeline it belongs to. */
export type Job = z.infer<typeof jobSchema>;

/** A merge request note. */
export const noteSchema = z.looseObject({
  id: z.number().int(),
  body: z.string(),
  system: z.boolean(),
  author: z.looseObject({ id: z.number().int(), username: z.string() }),
}).transform((n) => ({ id: n.id, body: n.body, system: n.system, author: n.author.username }));
export type MergeRequestNote = z.infer<typeof noteSchema>;

/** The states quarters may give a commit status (`POST /projects/:id/statuses/:sha`). */
export const COMMIT_STATUS_STATES = ['pending', 'running', 'success', 'failed', 'canceled'] as const;
export type CommitStatusState = (typeof COMMIT_STATUS_STATES)[number];

/** A commit status (`POST /projects/:id/statuses/:sha`, `GET /projects/:id/repository/commits/:sha/statuses`). */
export const commitStatusSchema = z.looseObject({
  id: z.number().int(),
  sha: z.string(),
  ref: z.string().nullable().optional(),
  status: z.string(),
  name: z.string(),
  target_url: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
}).transform((s) => ({ id: s.id, sha: s.sha, ref: s.ref ?? null, status: s.status, name: s.name, targetUrl: s.target_url ?? null, description: s.description ?? null }));
export type CommitStatus = z.infer<typeof commitStatusSchema>;

/** A merge request (`GET /projects/:id/merge_requests[/:iid]`, and what creating one returns). */
export const mergeRequestSchema = z.looseObject({
  iid: z.number().int(),
  project_id: z.number().int(),
  title: z.string(),
  state: z.enum(['opened', 'closed', 'locked', 'merged']),
  source_branch: z.string(),
  target_branch: z.string(),
  sha: z.string().nullable().optional(),
  web_url: z.string(),
}).transform((m) => ({
  iid: m.iid,
  projectId: m.project_id,
  title: m.title,
  state: m.state,
  sourceBranch: m.source_branch,
  targetBranch: m.target_branch,
  /** The source branch's head (null when GitLab does not know it). */
  sha: m.sha ?? null,
  webUrl: m.web_url,
}));
export type MergeRequest = z.infer<typeof mergeRequestSchema>;

/** A branch (`GET /projects/:id/repository/branches/:branch`): its name and head. */
export const branchSchema = z.looseObject({
  name: z.string(),
  commit: z.looseObject({ id: z.string() }),
}).transform((b) => ({ name: b.name, sha: b.commit.id }));
