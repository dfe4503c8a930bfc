/**
 * Creating a build's pipeline: the attempt is recorded before the call (by the caller), and the
 * client's dispatch looks for the pipeline an earlier, interrupted attempt may have made (by
 * project, sha and build id) before it creates one.
 */
import type { Flavour } from '../core/recipe/model.js';
import { pipelineVariablesSchema, type PipelineVariables } from '../core/pipeline-variables.js';
import type { BuildRow, NamespaceRow } from './build-store.js';
import type { GitLabClient, Pipeline } from './gitlab/client.js';

/** The QUARTERS_* variables of a build's pipeline (ARCHITECTURE.md); none of them authorizes anything. */
export function pipelineVariables(
  build: BuildRow,
  namespace: NamespaceRow,
  iteration: number,
  settings: { publicUrl: string; flavour: Flavour },
): PipelineVariables {
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
  });
}

/** Makes the pipeline of a build, or finds the one an earlier, interrupted attempt made (never two). */
export async function ensurePipeline(gitlab: GitLabClient, build: BuildRow, commitSha: string, variables: Record<string, string>): Promise<Pipeline> {
  const { pipeline } = await gitlab.dispatchPipeline(build.project_id, { ref: build.ref, sha: commitSha, buildId: String(build.id), variables });
  return pipeline;
}
