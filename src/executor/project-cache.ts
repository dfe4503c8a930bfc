/**
 * A project's part of the runner's cache_dir. GitLab Runner keeps a job's local cache at
 * `cache_dir/<project slug>/<key>/cache.zip` (common/build.go: `CacheDir = cache_dir/ProjectUniqueDir`,
 * the slug being the path of the job's repository URL, `project-<id>` when that cannot be parsed, and
 * `-empty` appended with GIT_STRATEGY=empty). A host stage runs the job's own code, so it must not see
 * the whole cache_dir, where every project's caches are: it sees its project's directory only.
 *
 * The directory is `cache_dir/project-<id>`, keyed by GitLab's project id (JOB_RESPONSE_FILE), made by
 * root without following links and owned by the host user; cache_dir itself is root's. The host
 * stage's view (host-stage.ts) covers cache_dir and shows that directory where the runner looks for
 * the project's caches, at `cache_dir/<slug>` and `cache_dir/<slug>-empty`.
 */
import { realpath } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { HostStageBind } from './host-stage.js';
import { openDirBelow, type Owner } from './no-follow.js';

/** The runner's project slug of a repository URL (its path without ".git"), or null where the runner falls back to project-<id>. */
export function projectSlug(repositoryUrl: string | undefined): string | null {
  if (!repositoryUrl) return null;
  let url: URL;
  try {
    url = new URL(repositoryUrl);
  } catch {
    return null;
  }
  if (!url.host) return null;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  const slug = posix.normalize(path.replace(/\.git$/, '')).replace(/^\/+|\/+$/g, '');
  if (!slug || slug === '.' || slug.includes('..') || /[\n\0]/.test(slug)) return null;
  return slug;
}

/** Where the project's caches are kept on the host. */
export function projectCacheDir(cacheDir: string, projectId: string): string {
  return join(cacheDir, `project-${projectId}`);
}

/** Makes (or opens) the project's cache directory below `cacheDir`, owned by the host user, never through a link; cache_dir itself becomes root's. */
export async function makeProjectCache(cacheDir: string, projectId: string, owner: Owner): Promise<void> {
  // cache_dir itself is the config's (a link the admin made is fine); below it, nothing is followed.
  const resolved = await realpath(cacheDir);
  const top = await openDirBelow(resolved, [], owner);
  try {
    // Root's, so that no host user changes which directory a project's name points to.
    await top.chown(0, 0);
    await top.chmod(0o755);
  } finally {
    await top.close();
  }
  await (await openDirBelow(resolved, [`project-${projectId}`], owner, { mode: 0o700 })).close();
}

/** How a host stage of the project sees its cache: at the runner's paths for the slug (and with -empty). */
export function projectCacheView(cacheDir: string, projectId: string, slug: string | null): HostStageBind[] {
  const at = join(cacheDir, slug ?? `project-${projectId}`);
  const source = projectCacheDir(cacheDir, projectId);
  return [{ source, target: at }, { source, target: `${at}-empty` }];
}
