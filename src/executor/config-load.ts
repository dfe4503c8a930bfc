/**
 * Which config file the executor reads, and reading it at start: validated in full (config.ts: TOML,
 * secrets, some 60 zod schemas), or, when root validated the very same file before, as root then left it
 * (root-cache.ts). GitLab Runner starts the executor for every stage with the same config, and building
 * and running the schema was a good part of each start.
 *
 * A cached config is used only while the config file and each secret file it names are unchanged
 * (device, inode, size, modification and change times) and only by the build that wrote it; anything
 * else validates again. No module of the schema loads on that path.
 */
import { statSync } from 'node:fs';
import type { ExecutorConfig } from './config.js';
import { readRootCache, rootCacheDir, writeRootCache } from './root-cache.js';

export const DEFAULT_CONFIG_FILE = '/etc/quarters/executor.toml';

declare global {
  interface ImportMeta {
    /** Set by scripts/bundle-executor.js: an id of this build of the bundle; caches of other builds are not used. */
    QUARTERS_BUILD?: string;
  }
}

/** A file changed this recently may have changed while it was read: what was read is not cached. */
const SETTLED_MS = 2000;

/** The config file named by QUARTERS_EXECUTOR_CONFIG, or the default. */
export function executorConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.QUARTERS_EXECUTOR_CONFIG || DEFAULT_CONFIG_FILE;
}

interface CachedConfig {
  build: string;
  file: string;
  /** Each file the config was read from (the config, its secret files), with its identity then. */
  files: Record<string, string>;
  config: ExecutorConfig;
}

function identity(path: string): string | null {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return null;
  }
}

/** The cache's file name for a config file: a hash of its path (FNV-1a), the path itself inside. */
function cacheName(file: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < file.length; i++) hash = Math.imul(hash ^ file.charCodeAt(i), 0x01000193) >>> 0;
  return `config-${hash.toString(16).padStart(8, '0')}.json`;
}

function cached(dir: string, build: string, file: string): ExecutorConfig | null {
  const data = readRootCache(dir, cacheName(file));
  if (!data) return null;
  try {
    const entry = JSON.parse(data.toString('utf8')) as CachedConfig;
    if (entry.build !== build || entry.file !== file) return null;
    for (const [path, seen] of Object.entries(entry.files)) if (identity(path) !== seen) return null;
    return entry.config;
  } catch {
    return null;
  }
}

/** The executor config in `file`: as root last validated it, or validated now (a ConfigError names file and key). */
export async function openExecutorConfig(file: string): Promise<ExecutorConfig> {
  const dir = rootCacheDir();
  const build = import.meta.QUARTERS_BUILD;
  const hit = dir && build ? cached(dir, build, file) : null;
  if (hit) return hit;
  const { loadExecutorConfig } = await import('./config.js');
  const read: string[] = [];
  const config = loadExecutorConfig(file, read);
  if (dir && build) {
    const files: Record<string, string> = {};
    for (const path of [file, ...read]) {
      const stats = statSync(path, { throwIfNoEntry: false });
      const seen = identity(path);
      if (!stats || seen === null || Date.now() - stats.ctimeMs < SETTLED_MS) return config;
      files[path] = seen;
    }
    writeRootCache(dir, cacheName(file), JSON.stringify({ build, file, files, config } satisfies CachedConfig));
  }
  return config;
}
