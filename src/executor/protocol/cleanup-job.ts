/**
 * `quarters-executor cleanup`: the protocol's teardown of one job. Apart from the operator's cleanups
 * (cleanup.ts), which load the base OS and instance stores: the runner runs this once per job.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDir } from '../fs-layers.js';
import { reclaimWorkspace } from '../reclaim.js';
import type { JobContext, Session } from '../session.js';
import { customEnv } from '../job.js';
import { readState } from '../workspace.js';

/** Tears the job's environment down, recording its resource usage first; always succeeds when there is nothing left to tear down. */
export async function cleanupJob(session: JobContext & Session): Promise<void> {
  const state = await readState(session.layout, session.job.name);
  if (state) {
    const record = {
      finished: new Date().toISOString(),
      job: state.name,
      job_id: state.jobId,
      build_id: buildId(session.env),
      base_version: state.base.version,
      instance: state.instance ? `${state.instance.key}/${state.instance.version}` : null,
      wall_seconds: state.usage.wallSeconds,
      cpu_seconds: state.usage.cpuSeconds,
      peak_memory_bytes: state.usage.peakMemoryBytes,
      disk_bytes: state.usage.diskBytes,
    };
    await makeDir(session.layout.logs, 0o755);
    await appendFile(join(session.layout.logs, 'usage.jsonl'), `${JSON.stringify(record)}\n`, { mode: 0o644 });
  }
  await reclaimWorkspace(session, session.job.name);
}

/** QUARTERS_BUILD_ID as the pipeline variables declare it (a positive number), or null: cleanup tears down whatever the variables say. */
function buildId(env: NodeJS.ProcessEnv): string | null {
  const value = customEnv(env).QUARTERS_BUILD_ID;
  return value !== undefined && /^[1-9]\d*$/.test(value) ? value : null;
}
