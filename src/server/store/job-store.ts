/**
 * The CI jobs of builds' pipelines, as GitLab's Job Hooks and the executors' authenticated reports tell
 * them: which runner took which job and when. What the builders page and `GET /api/v1/builders` read.
 */
import type { Db } from './database.js';

/** The runner GitLab says took a job. */
export interface RunnerRef {
  id: number;
  description: string | null;
}

export interface JobRow {
  job_id: number;
  build_id: number;
  project_id: number;
  pipeline_id: number;
  name: string;
  /** GitLab's job status: created, pending, running, success, failed, canceled, … */
  status: string;
  runner_id: number | null;
  runner_description: string | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

/** A job as it is reported. Fields left undefined keep what was recorded. */
export interface JobReport {
  jobId: number;
  buildId: number;
  projectId: number;
  pipelineId: number;
  name: string;
  status: string;
  runner?: RunnerRef | null;
  createdAt?: string | null;
  startedAt?: string | null;
  finishedAt?: string | null;
}

/** Statuses a job never leaves (a retry is a new job). */
export const FINISHED_JOB_STATUSES: readonly string[] = ['success', 'failed', 'canceled', 'skipped'];

/** A job with the build it ran for. */
export interface JobWithBuild extends JobRow {
  pkgbase: string;
  arch: string;
  pass: number;
  namespace: string;
  pipeline_url: string | null;
}

export class JobStore {
  constructor(private readonly db: Db) {}

  /**
   * Records what a report says of a job. Hooks may arrive out of order: a finished job stays finished,
   * and a runner or time once known is not forgotten by a report that lacks it.
   */
  record(r: JobReport, at = new Date().toISOString()): void {
    const finished = FINISHED_JOB_STATUSES.map((s) => `'${s}'`).join(', ');
    this.db
      .prepare(
        `INSERT INTO jobs (job_id, build_id, project_id, pipeline_id, name, status, runner_id, runner_description, created_at, started_at, finished_at, updated_at)
         VALUES (@jobId, @buildId, @projectId, @pipelineId, @name, @status, @runnerId, @runnerDescription, @createdAt, @startedAt, @finishedAt, @at)
         ON CONFLICT (job_id) DO UPDATE SET
           status = CASE WHEN jobs.status IN (${finished}) AND excluded.status NOT IN (${finished}) THEN jobs.status ELSE excluded.status END,
           runner_id = coalesce(excluded.runner_id, jobs.runner_id),
           runner_description = coalesce(excluded.runner_description, jobs.runner_description),
           created_at = coalesce(excluded.created_at, jobs.created_at),
           started_at = coalesce(excluded.started_at, jobs.started_at),
           finished_at = coalesce(excluded.finished_at, jobs.finished_at),
           updated_at = excluded.updated_at`,
      )
      .run({
        jobId: r.jobId, buildId: r.buildId, projectId: r.projectId, pipelineId: r.pipelineId, name: r.name, status: r.status,
        runnerId: r.runner?.id ?? null, runnerDescription: r.runner?.description ?? null,
        createdAt: r.createdAt ?? null, startedAt: r.startedAt ?? null, finishedAt: r.finishedAt ?? null, at,
      });
  }

  /** Jobs reported since `since` (ISO time) or still unfinished, with their builds, newest first. */
  recent(since: string): JobWithBuild[] {
    const finished = FINISHED_JOB_STATUSES.map((s) => `'${s}'`).join(', ');
    return this.db
      .prepare(
        `SELECT j.*, b.pkgbase AS pkgbase, b.arch AS arch, b.pass AS pass, n.name AS namespace, b.pipeline_url AS pipeline_url
         FROM jobs j JOIN builds b ON b.id = j.build_id JOIN iterations i ON i.id = b.iteration_id JOIN namespaces n ON n.id = i.namespace_id
         WHERE j.updated_at >= ? OR j.status NOT IN (${finished}) ORDER BY j.updated_at DESC, j.job_id DESC`,
      )
      .all(since) as JobWithBuild[];
  }

  /** The jobs of a build's pipelines (of the build it continues too), newest first. */
  ofBuild(buildIds: readonly number[]): JobRow[] {
    if (buildIds.length === 0) return [];
    return this.db.prepare(`SELECT * FROM jobs WHERE build_id IN (${buildIds.map(() => '?').join(', ')}) ORDER BY job_id DESC`).all(...buildIds) as JobRow[];
  }
}
