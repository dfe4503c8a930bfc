/** The two ways a job can fail under GitLab Runner's custom executor, and the exit codes that say which. */

/** The job's own script failed: exit with BUILD_FAILURE_EXIT_CODE. */
export class BuildFailure extends Error {
  override name = 'BuildFailure';
}

/** The environment is broken (config, mount, container start, upload): exit with SYSTEM_FAILURE_EXIT_CODE. */
export class SystemFailure extends Error {
  override name = 'SystemFailure';
}

export interface ExitCodes {
  build: number;
  system: number;
}

/** The exit codes GitLab Runner hands the executor; its documented defaults (1 and 2) when absent. */
export function exitCodesFrom(env: NodeJS.ProcessEnv): ExitCodes {
  const parse = (value: string | undefined, fallback: number): number => {
    const n = Number.parseInt(value ?? '', 10);
    return Number.isInteger(n) && n > 0 && n < 256 ? n : fallback;
  };
  return { build: parse(env.BUILD_FAILURE_EXIT_CODE, 1), system: parse(env.SYSTEM_FAILURE_EXIT_CODE, 2) };
}
