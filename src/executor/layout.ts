/** Where everything lives under the executor's work_dir, in one place. */
import { join } from 'node:path';
import type { ExecutorConfig } from './config.js';

export interface Layout {
  workDir: string;
  /** Base OS versions: baseos/versions/VERSION/root, and the `current` symlink. */
  baseos: string;
  /** Instances per branch and architecture: instances/BRANCH-ARCH/versions/VERSION/{upper,work}. */
  instances: string;
  /** One directory per job: state, the writable layer, output. */
  workspaces: string;
  /** Per-job build directories (shared with the guest). */
  builds: string;
  cache: string;
  /** Packages of build-set repositories by checksum (packages/sha256/HEX): root's, 0700; jobs get hard links. */
  packages: string;
  /** Short-lived directories of operations in progress (base OS loads, updates). */
  tmp: string;
  /** The host stages' sandbox program (stage-sandbox.ts): root's, 0700; not in /run, which may forbid executing. */
  stageSandbox: string;
  /** Records that outlive jobs: usage.jsonl, one line of resource usage per job. */
  logs: string;
}

/** The directory layout of this config. */
export function layoutOf(config: ExecutorConfig): Layout {
  const workDir = config.work_dir;
  return {
    workDir,
    baseos: join(workDir, 'baseos'),
    instances: join(workDir, 'instances'),
    workspaces: join(workDir, 'workspaces'),
    builds: config.builds_dir ?? join(workDir, 'builds'),
    cache: config.cache_dir ?? join(workDir, 'cache'),
    packages: join(workDir, 'packages'),
    tmp: join(workDir, 'tmp'),
    logs: join(workDir, 'logs'),
    stageSandbox: join(workDir, 'stage-sandbox'),
  };
}
