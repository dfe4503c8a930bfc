/** The shape of `GET /api/v1/builders`, which the server makes (server/api/builders.ts) and `quarters builders` reads. */

/** How far back a runner counts as recent, by default. */
export const BUILDERS_WINDOW_HOURS = 24;

/** A build running now, and where. */
export interface RunningBuild {
  build_id: number;
  namespace: string;
  pkgbase: string;
  arch: string;
  pass: number;
  /** The job running it, when a hook or a report named it. */
  job_id: number | null;
  job_url: string | null;
  pipeline_url: string | null;
  started_at: string | null;
  elapsed_seconds: number | null;
}

export interface Builder {
  /** The GitLab runner; null gathers running builds whose job or runner nothing reported yet. */
  runner: { id: number; description: string | null } | null;
  last_seen_at: string | null;
  /** Jobs of builds it took within the window. */
  recent_jobs: number;
  running: RunningBuild[];
}

/** A build whose pipeline was created and whose job has not started. */
export interface QueuedBuild {
  build_id: number;
  namespace: string;
  pkgbase: string;
  arch: string;
  pass: number;
  pipeline_id: number | null;
  pipeline_url: string | null;
  /** The pending job, when a Job Hook named it. */
  job_id: number | null;
  dispatched_at: string | null;
  waiting_seconds: number | null;
}

export interface BuildersView {
  generated_at: string;
  /** Runners count as recent from this time on. */
  since: string;
  builders: Builder[];
  queue: QueuedBuild[];
}

