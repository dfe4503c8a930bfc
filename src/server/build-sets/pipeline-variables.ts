/** The variables of a build's pipeline, as the contract in src/core/pipeline-variables.ts declares them. */
import type { Flavour } from '../../core/recipe/model.js';
import { pipelineVariablesSchema, type PipelineVariables } from '../../core/pipeline-variables.js';
import type { BuildRow, NamespaceRow } from '../store/build-store.js';

/** The QUARTERS_* variables of a build's pipeline (ARCHITECTURE.md); none of them authorizes anything. */
export function pipelineVariables(
  build: BuildRow,
  namespace: NamespaceRow,
  iteration: number,
  settings: { publicUrl: string; flavour: Flavour; debBuildOptions?: string; debBuildProfiles?: readonly string[] },
): PipelineVariables {
  const debian = settings.flavour === 'debian';
  return pipelineVariablesSchema.parse({
    QUARTERS_SERVER_URL: settings.publicUrl,
    QUARTERS_BUILD_ID: String(build.id),
    QUARTERS_NAMESPACE: namespace.name,
    QUARTERS_ITERATION: String(iteration),
    QUARTERS_PKGBASE: build.pkgbase,
    QUARTERS_ARCH: build.arch,
    QUARTERS_FLAVOUR: settings.flavour,
    QUARTERS_TARGET_BRANCH: namespace.target_branch,
    QUARTERS_PACKAGER: build.packager ?? namespace.packager ?? '',
    ...(debian && settings.debBuildOptions ? { QUARTERS_DEB_BUILD_OPTIONS: settings.debBuildOptions } : {}),
    ...(debian && settings.debBuildProfiles?.length ? { QUARTERS_DEB_BUILD_PROFILES: settings.debBuildProfiles.join(' ') } : {}),
  });
}
