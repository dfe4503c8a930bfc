/**
 * Creating a build's pipeline: the attempt is recorded before the call, and a retried attempt first
 * looks for the pipeline an earlier, interrupted one may have made (by project, sha and build id).
 */
import type { Flavour } from '../core/recipe/model.js';
import type { BuildRow, NamespaceRow } from './build-store.js';
import type { GitLabApi, GitLabPipeline } from './gitlab-api.js';

/** The QUARTERS_* variables of a build's pipeline (ARCHITECTURE.md); none of them authorizes anything. */
export function pipelineVariables(
  build: BuildRow,
  namespace: NamespaceRow,
  iteration: number,
  settings: { publicUrl: string; flavour: Flavour },
): Record<string, string> {
  return {
    QUARTERS_SERVER_URL: settings.publicUrl,
    QUARTERS_BUILD_ID: String(build.id),
    QUARTERS_NAMESPACE: namespace.name,
    QUARTERS_ITERATION: String(iteration),
    QUARTERS_PKGBASE: build.pkgbase,
    QUARTERS_ARCH: build.arch,
    QUARTERS_FLAVOUR: settings.flavour,
    QUARTERS_TARGET_BRANCH: namespace.target_branch,
    QUARTERS_PACKAGER: build.packager ?? namespace.packager ?? '',
  };
}

/**
 * Makes (or finds) the pipeline of a build. `resumed` says an earlier attempt was recorded and may
 * have reached GitLab: then the existing pipeline is looked up before anything is created.
 */
export async function ensurePipeline(gitlab: GitLabApi, build: BuildRow, variables: Record<string, string>, resumed: boolean): Promise<GitLabPipeline> {
  if (resumed) {
    const existing = await gitlab.findPipeline(build.project_id, build.sha, build.id);
    if (existing) return existing;
  }
  return gitlab.createPipeline(build.project_id, build.ref, variables);
}
