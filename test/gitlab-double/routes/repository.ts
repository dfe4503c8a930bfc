/** Repository files (raw and metadata), tree, compare, commits, branches. */
import type { Context, Hono } from 'hono';
import { notFound } from '../errors.js';
import { paginate } from '../pagination.js';
import type { RepoCommit } from '../repository.js';
import { branchJson, commitDetailJson, commitJson, diffJson, fileJson, treeEntryJson } from '../shapes.js';
import type { DoubleProject } from '../state.js';
import { optionalBoolean, projectParam, readParams, requiredString, type RouteContext } from './context.js';

/** The commit `ref` names (the default branch when absent); 404 `Commit Not Found` otherwise. */
function commitParam(project: DoubleProject, ref: string | undefined): RepoCommit {
  const commit = project.repository.commitAt(ref ?? project.defaultBranch);
  if (!commit) throw notFound('Commit');
  return commit;
}

/** Mounts the repository routes on `api`. */
export function repositoryRoutes(api: Hono, ctx: RouteContext): void {
  /** `ref` is required for file metadata; the raw endpoint defaults it to HEAD (the default branch). */
  const readFile = async (c: Context, refRequired: boolean) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const ref = refRequired || (params.ref !== undefined && params.ref !== '') ? requiredString(params, 'ref') : project.defaultBranch;
    const commit = commitParam(project, ref);
    const path = c.req.param('file_path')!;
    const content = commit.files.get(path);
    if (content === undefined) throw notFound('File');
    return { project, commit, ref, path, content };
  };

  api.get('/projects/:id/repository/files/:file_path/raw', async (c) => {
    const { content, commit, path } = await readFile(c, false);
    c.header('x-gitlab-file-path', path);
    c.header('x-gitlab-commit-id', commit.id);
    // Workhorse sends text as text/plain and anything with a NUL byte as binary.
    const type = content.includes('\u0000') ? 'application/octet-stream' : 'text/plain; charset=utf-8';
    return c.body(content, 200, { 'content-type': type });
  });

  api.get('/projects/:id/repository/files/:file_path', async (c) => {
    const { project, commit, ref, path, content } = await readFile(c, true);
    return c.json(fileJson(project, commit, ref, path, content));
  });

  api.get('/projects/:id/repository/tree', async (c) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const commit = project.repository.commitAt(typeof params.ref === 'string' && params.ref !== '' ? params.ref : project.defaultBranch);
    // GitLab answers an unknown ref here with `Tree Not Found` too (TreeFinder#commit_exists?).
    if (!commit) throw notFound('Tree');
    const path = typeof params.path === 'string' ? params.path : '';
    const entries = project.repository.tree(commit, path, optionalBoolean(params, 'recursive') ?? false);
    if (!entries) throw notFound('Tree');
    return paginate(c, entries.map(treeEntryJson), ctx.baseUrl);
  });

  api.get('/projects/:id/repository/compare', async (c) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const fromRef = requiredString(params, 'from');
    const toRef = requiredString(params, 'to');
    const from = project.repository.commitAt(fromRef);
    const to = project.repository.commitAt(toRef);
    if (!from || !to) throw notFound('Ref');
    const straight = optionalBoolean(params, 'straight') ?? false;
    const { commits, changes: viaMergeBase } = project.repository.compare(from, to);
    const changes = straight ? project.repository.diffSnapshots(from.files, to.files) : viaMergeBase;
    return c.json({
      commit: commits.length > 0 ? commitJson(ctx, project, commits[commits.length - 1]!) : null,
      commits: commits.map((commit) => commitJson(ctx, project, commit)),
      diffs: changes.map(diffJson),
      compare_timeout: false,
      compare_same_ref: from.id === to.id,
      web_url: `${ctx.baseUrl}/${project.pathWithNamespace}/-/compare/${from.id}...${to.id}`,
    });
  });

  api.get('/projects/:id/repository/commits/:sha', (c) => {
    const project = projectParam(ctx, c);
    return c.json(commitDetailJson(ctx, project, commitParam(project, c.req.param('sha'))));
  });

  api.get('/projects/:id/repository/branches', async (c) => {
    const project = projectParam(ctx, c);
    const params = await readParams(c);
    const search = typeof params.search === 'string' ? params.search : '';
    const names = [...project.repository.branches.keys()].filter((n) => n.includes(search)).sort();
    return paginate(c, names.map((name) => branchJson(ctx, project, name)), ctx.baseUrl);
  });

  api.get('/projects/:id/repository/branches/:branch', (c) => {
    const project = projectParam(ctx, c);
    const name = c.req.param('branch');
    if (!project.repository.branches.has(name)) throw notFound('Branch');
    return c.json(branchJson(ctx, project, name));
  });
}
