/**
 * Build-set repositories for tests, made by the server's own code (src/server/artifacts/repository.ts: the
 * real repo-add and apt-ftparchive) in its layout, `DATA_DIR/repos/NAMESPACE/ITERATION/ARCH/`.
 */
import type { Flavour } from '../../src/core/recipe/model.js';
import { Repositories } from '../../src/server/artifacts/repository.js';
import { tempDir } from './packages.js';

export interface TestRepository {
  /** DATA_DIR/repos: what the server serves under /repos, and what repositories_dir names. */
  reposDir: string;
  /** The repository's own directory. */
  dir: string;
  repositories: Repositories;
}

/** Adds `files` (package files on this filesystem) to the repository of NAMESPACE/ITERATION/ARCH, as uploads do. */
export async function serverRepository(flavour: Flavour, at: { namespace: string; iteration: number; arch: string }, files: { path: string; filename: string }[], dataDir = tempDir('quarters-repos-')): Promise<TestRepository> {
  const repositories = new Repositories(dataDir, flavour);
  if (files.length) await repositories.add(at.namespace, at.iteration, at.arch, files.map((f) => ({ poolPath: f.path, filename: f.filename })));
  return { reposDir: `${dataDir}/repos`, dir: repositories.dir(at.namespace, at.iteration, at.arch), repositories };
}
