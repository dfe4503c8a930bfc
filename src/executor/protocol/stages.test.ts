import { describe, expect, it } from 'vitest';
import { isBuildStage, stageLocation } from './stages.js';

describe('stages', () => {
  it('runs git, cache and artifact stages on the host, the job\'s commands in the guest', () => {
    for (const stage of ['get_sources', 'restore_cache', 'download_artifacts', 'archive_cache', 'archive_cache_on_failure', 'upload_artifacts_on_success', 'upload_artifacts_on_failure', 'cleanup_file_variables']) expect(stageLocation(stage)).toBe('host');
    for (const stage of ['prepare_script', 'build_script', 'step_script', 'step_release', 'after_script', 'some_future_stage']) expect(stageLocation(stage)).toBe('guest');
    expect(isBuildStage('build_script')).toBe(true);
    expect(isBuildStage('step_release')).toBe(true);
    expect(isBuildStage('after_script')).toBe(false);
  });
});
