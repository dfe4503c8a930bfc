/** GitLab Runner's custom-executor stages, and where quarters runs each of them. */

/** Stages that need git or the gitlab-runner helper: on the host, as the unprivileged host user, in the build directory. */
export const HOST_STAGES: ReadonlySet<string> = new Set([
  'get_sources',
  'restore_cache',
  'download_artifacts',
  'archive_cache',
  'archive_cache_on_failure',
  'upload_artifacts_on_success',
  'upload_artifacts_on_failure',
  'cleanup_file_variables',
]);

/** Stages that run the job's own commands: inside the container, where the build directory is bind-mounted. */
export const GUEST_STAGES: ReadonlySet<string> = new Set(['prepare_script', 'build_script', 'step_script', 'after_script']);

export type StageLocation = 'host' | 'guest';

/** Where a stage runs; step_* and any stage GitLab adds later run in the guest, never on the host. */
export function stageLocation(stage: string): StageLocation {
  return HOST_STAGES.has(stage) ? 'host' : 'guest';
}

/** The stages that build: their success triggers the upload; they get the build network setting. */
export function isBuildStage(stage: string): boolean {
  return stage === 'build_script' || stage.startsWith('step_');
}
