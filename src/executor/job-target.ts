/**
 * What a job may build for. QUARTERS_TARGET_BRANCH picks the instance layer (source_lists/BRANCH.list),
 * so only the branches the executor's config allows; QUARTERS_ARCH says which architecture the job was
 * dispatched for, and this host builds for its own `arch` only.
 */
import type { ExecutorConfig } from './config.js';
import { SystemFailure } from './failure.js';
import type { Job } from './job.js';

/** Throws SystemFailure when the job targets a branch the config does not allow, or another architecture. */
export function checkJobTarget(config: ExecutorConfig, job: Job): void {
  const allowed = config.instance.branches;
  if (allowed && !allowed.includes(job.targetBranch)) {
    throw new SystemFailure(`the job targets branch "${job.targetBranch}" (QUARTERS_TARGET_BRANCH), which this executor does not build for (instance.branches in its config: ${allowed.join(', ') || 'none'})`);
  }
  const arch = job.variables.QUARTERS_ARCH;
  if (arch !== undefined && arch !== config.arch) {
    throw new SystemFailure(`the job was dispatched for ${arch} (QUARTERS_ARCH), but this executor builds for ${config.arch} (arch in its config)`);
  }
}
