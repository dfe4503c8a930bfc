/**
 * What the server needs from GitLab, as one interface; `src/server/gitlab/client.ts` implements it
 * over @gitbeaker/rest. Errors GitLab answers with (other than 429/5xx, which the client retries)
 * surface as GitLabError carrying GitLab's status and message.
 */

export interface GitLabProject {
  id: number;
  path: string;
  path_with_namespace: string;
  default_branch: string | null;
  web_url?: string;
}

export interface GitLabTreeEntry {
  path: string;
  name: string;
  type: 'blob' | 'tree' | 'commit';
}

export interface GitLabDiff {
  old_path: string;
  new_path: string;
  new_file: boolean;
  deleted_file: boolean;
  renamed_file: boolean;
}

export interface GitLabPipeline {
  id: number;
  status: string;
  sha: string;
  ref: string;
  web_url: string;
  started_at?: string | null;
  finished_at?: string | null;
  duration?: number | null;
}

export interface GitLabJob {
  id: number;
  status: string;
  pipeline: { id: number; project_id: number; ref?: string; sha?: string };
}

/** An error answer from GitLab. */
export class GitLabError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'GitLabError';
  }
}

export interface GitLabApi {
  /** Every project of a group (subgroups included). */
  listGroupProjects(group: string): Promise<GitLabProject[]>;
  /** A project by id or path. */
  getProject(project: number | string): Promise<GitLabProject>;
  /** The commit a branch or tag points at; null when there is no such ref. */
  commitOf(project: number | string, ref: string): Promise<string | null>;
  /** A file's text at a ref; null when the file does not exist there. */
  readFile(project: number | string, path: string, ref: string): Promise<string | null>;
  /** The tree under `path` at a ref (recursive). */
  listTree(project: number | string, ref: string, options?: { path?: string; recursive?: boolean }): Promise<GitLabTreeEntry[]>;
  /** What changed between two commits. */
  compare(project: number | string, from: string, to: string): Promise<{ diffs: GitLabDiff[] }>;
  /** Creates a pipeline on `ref` with variables. */
  createPipeline(project: number | string, ref: string, variables: Record<string, string>): Promise<GitLabPipeline>;
  /** The pipeline made for a build (by project, sha and QUARTERS_BUILD_ID), if one exists. */
  findPipeline(project: number | string, sha: string, buildId: number): Promise<GitLabPipeline | null>;
  getPipeline(project: number | string, pipelineId: number): Promise<GitLabPipeline>;
  cancelPipeline(project: number | string, pipelineId: number): Promise<GitLabPipeline>;
  retryPipeline(project: number | string, pipelineId: number): Promise<GitLabPipeline>;
  /** The job a CI job token belongs to (GitLab `GET /job`); null when GitLab does not accept the token. */
  jobForToken(jobToken: string): Promise<GitLabJob | null>;
  /** Creates the note (noteId null) or edits it in place; returns the note's id. */
  upsertMergeRequestNote(project: number | string, mergeRequestIid: number, noteId: number | null, body: string): Promise<{ id: number }>;
}
