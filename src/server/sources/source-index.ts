/**
 * The source index: every recipe quarters knows, per branch, read from GitLab. Package repositories
 * are either the projects of one group (a project per pkgbase, recipe at the root) or one tree
 * project (a directory per package). A push refreshes only the recipe directories it touched.
 */
import type { Flavour, SourcePackage, TextFile } from '../../core/recipe/model.js';
import { formatParseIssue } from '../../core/recipe/model.js';
import type { Logger } from '../../common/log.js';
import type { Db } from '../store/database.js';
import type { GitLabClient, Project } from '../gitlab/client.js';
import { GitLabApiError, GitLabError } from '../gitlab/errors.js';
import { inDir, recipeDirOf, recipeFormat } from './recipe-files.js';

export type RecipeLayout = { kind: 'group'; group: string } | { kind: 'tree'; project: string };

export interface IndexedRecipe {
  pkgbase: string;
  branch: string;
  projectId: number;
  projectPath: string;
  /** The recipe's directory in its project ('' for the project root). */
  dir: string;
  /** The commit the recipe was read at. */
  sha: string;
  /** Whether `branch` is the project's default branch. */
  isDefault: boolean;
  recipe: SourcePackage;
}

interface RecipeRow {
  pkgbase: string;
  branch: string;
  project_id: number;
  project_path: string;
  dir: string;
  sha: string;
  is_default: number;
  recipe: string;
}

/** The recipes table, as operations. */
export class RecipeTable {
  /**
   * The recipes of the default branches as last read, by pkgbase, with the text they were parsed
   * from: a recipe whose stored text did not change is handed out as the same object, which is how
   * the planner's kept dependency graphs (KeptGraphs) tell the recipes a push changed from the rest.
   * Rebuilt by each `defaults()`, so it holds no recipe the table no longer has.
   */
  private parsedDefaults = new Map<string, { text: string; recipe: SourcePackage }>();

  constructor(private readonly db: Db) {}

  private fromRow(r: RecipeRow): IndexedRecipe {
    const known = r.is_default === 1 ? this.parsedDefaults.get(r.pkgbase) : undefined;
    const recipe = known?.text === r.recipe ? known.recipe : (JSON.parse(r.recipe) as SourcePackage);
    return {
      pkgbase: r.pkgbase, branch: r.branch, projectId: r.project_id, projectPath: r.project_path, dir: r.dir, sha: r.sha,
      isDefault: r.is_default === 1, recipe,
    };
  }

  /** Stores a recipe, replacing what was at its location on that branch (a renamed pkgbase included). */
  put(r: IndexedRecipe): void {
    this.db.transaction(() => {
      this.removeAt(r.projectId, r.dir, r.branch);
      this.db
        .prepare(
          `INSERT INTO recipes (pkgbase, branch, project_id, project_path, dir, sha, is_default, recipe, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (pkgbase, branch) DO UPDATE SET project_id = excluded.project_id, project_path = excluded.project_path,
             dir = excluded.dir, sha = excluded.sha, is_default = excluded.is_default, recipe = excluded.recipe, updated_at = excluded.updated_at`,
        )
        .run(r.pkgbase, r.branch, r.projectId, r.projectPath, r.dir, r.sha, r.isDefault ? 1 : 0, JSON.stringify(r.recipe), new Date().toISOString());
    })();
  }

  removeAt(projectId: number, dir: string, branch: string): void {
    this.db.prepare('DELETE FROM recipes WHERE project_id = ? AND dir = ? AND branch = ?').run(projectId, dir, branch);
  }

  /** Forgets a deleted branch. */
  removeBranch(projectId: number, branch: string): number {
    return this.db.prepare('DELETE FROM recipes WHERE project_id = ? AND branch = ?').run(projectId, branch).changes;
  }

  get(pkgbase: string, branch: string): IndexedRecipe | undefined {
    const row = this.db.prepare('SELECT * FROM recipes WHERE pkgbase = ? AND branch = ?').get(pkgbase, branch) as RecipeRow | undefined;
    return row && this.fromRow(row);
  }

  /** The recipe of a pkgbase on its project's default branch. */
  getDefault(pkgbase: string): IndexedRecipe | undefined {
    const row = this.db.prepare('SELECT * FROM recipes WHERE pkgbase = ? AND is_default = 1').get(pkgbase) as RecipeRow | undefined;
    return row && this.fromRow(row);
  }

  /** The recipe in a directory of a project on a branch. */
  atLocation(projectId: number, dir: string, branch: string): IndexedRecipe | undefined {
    const row = this.db.prepare('SELECT * FROM recipes WHERE project_id = ? AND dir = ? AND branch = ?').get(projectId, dir, branch) as RecipeRow | undefined;
    return row && this.fromRow(row);
  }

  /** Recipe directories known in a project on a branch. */
  dirs(projectId: number, branch: string): Set<string> {
    const rows = this.db.prepare('SELECT dir FROM recipes WHERE project_id = ? AND branch = ?').all(projectId, branch) as { dir: string }[];
    return new Set(rows.map((r) => r.dir));
  }

  /** Every recipe on a default branch: the universe builds are planned in. */
  defaults(): IndexedRecipe[] {
    const rows = this.db.prepare('SELECT * FROM recipes WHERE is_default = 1 ORDER BY pkgbase').all() as RecipeRow[];
    const recipes = rows.map((row) => this.fromRow(row));
    this.parsedDefaults = new Map(recipes.map((r, i) => [r.pkgbase, { text: rows[i]!.recipe, recipe: r.recipe }]));
    return recipes;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM recipes').get() as { n: number }).n;
  }
}

/** A recipe that cannot be read: where (`project/dir@commit`), and every problem. */
export class RecipeReadError extends Error {
  override name = 'RecipeReadError';
  constructor(readonly where: string, readonly detail: string) {
    super(`${where}: ${detail}`);
  }
}

/** A project whose recipes cannot be listed: GitLab shows no file at the commit (an empty tree, or a 404 on it). */
export class ProjectReadError extends Error {
  override name = 'ProjectReadError';
}

/** A project, or a recipe directory in it, the index could not read, and why. */
export interface Unreadable {
  /** The project's path. */
  project: string;
  /** The recipe directory ('' for the project itself or its root). */
  dir: string;
  reason: string;
}

/** "project/dir: reason", one line. */
export function describeUnreadable(u: Unreadable): string {
  return `${u.project}${u.dir ? `/${u.dir}` : ''}: ${u.reason}`;
}

/** What a refresh did: recipes read, recipes that disappeared, and what could not be read. */
export interface RefreshResult {
  updated: IndexedRecipe[];
  removed: { dir: string; pkgbase: string }[];
  /** Every recipe in the directories looked at, as the index holds it now: read just now, or read at this commit before. */
  current: IndexedRecipe[];
  unreadable: Unreadable[];
}

/** Reads recipes from GitLab into the index. */
export class SourceIndex {
  constructor(
    private readonly gitlab: GitLabClient,
    private readonly table: RecipeTable,
    private readonly layout: RecipeLayout,
    private readonly flavour: Flavour,
    private readonly log: Logger,
  ) {}

  /** Whether recipes of `project` belong to the index (a project of the packages group, or the tree project). */
  holds(project: Project): boolean {
    if (this.layout.kind === 'tree') return project.path.toLowerCase() === this.layout.project.toLowerCase() || String(project.id) === this.layout.project;
    return project.path.toLowerCase().startsWith(`${this.layout.group.toLowerCase()}/`);
  }

  /** The projects recipes live in. */
  async projects(): Promise<Project[]> {
    return this.layout.kind === 'group' ? this.gitlab.listGroupProjects(this.layout.group) : [await this.gitlab.getProject(this.layout.project)];
  }

  /**
   * Reads every recipe on every project's default branch (`quarters index sync`). A project (or recipe)
   * that cannot be read is logged and listed in `unreadable` with the reason; the others are read all the same.
   */
  async syncAll(): Promise<RefreshResult> {
    const total: RefreshResult = { updated: [], removed: [], current: [], unreadable: [] };
    for (const project of await this.projects()) {
      const reason = await this.syncProject(project, total);
      if (reason === null) continue;
      total.unreadable.push({ project: project.path, dir: '', reason });
      this.log.warn({ project: project.path, reason }, 'project not indexed');
    }
    return total;
  }

  /** Reads one project's default branch into `total`; returns why it could not, or null. */
  private async syncProject(project: Project, total: RefreshResult): Promise<string | null> {
    if (project.archived) return 'the project is archived';
    if (!project.defaultBranch) return 'it has no default branch (an empty repository)';
    try {
      const sha = await this.commitOf(project.id, project.defaultBranch);
      if (!sha) return `its default branch ${project.defaultBranch} does not exist`;
      const result = await this.refresh(project, project.defaultBranch, sha, 'all');
      total.updated.push(...result.updated);
      total.removed.push(...result.removed);
      total.current.push(...result.current);
      total.unreadable.push(...result.unreadable);
      if (result.current.length === 0 && result.unreadable.length === 0) {
        return `no recipe (${recipeFormat(this.flavour).marker}) on ${project.defaultBranch} at ${sha.slice(0, 12)}`;
      }
      return null;
    } catch (error) {
      if (error instanceof GitLabError || error instanceof ProjectReadError) return error.message;
      throw error;
    }
  }

  /**
   * Whether the recipe directory `dir` of a project has the same files at commits `from` and `to` (GitLab's
   * straight compare of the two shows no change in it); false when GitLab cannot tell (a compare that timed
   * out, or a commit it no longer has).
   */
  async sameFiles(projectId: number, dir: string, from: string, to: string): Promise<boolean> {
    if (from === to) return true;
    let comparison;
    try {
      comparison = await this.gitlab.compare(projectId, from, to, { straight: true });
    } catch (error) {
      if (error instanceof GitLabApiError && error.status === 404) return false;
      throw error;
    }
    if (comparison.timedOut) return false;
    const inside = (path: string) => dir === '' || path === dir || path.startsWith(`${dir}/`);
    return !comparison.changes.some((c) => inside(c.oldPath) || inside(c.newPath));
  }

  /**
   * Re-reads the recipes of `project` on `branch` at commit `sha` whose directories contain one of
   * `changedPaths` ('all': every recipe of the project).
   */
  async refresh(project: Project, branch: string, sha: string, changedPaths: readonly string[] | 'all'): Promise<RefreshResult> {
    const format = recipeFormat(this.flavour);
    const isDefault = branch === project.defaultBranch;
    let dirs: Set<string>;
    if (this.layout.kind === 'group') {
      dirs = changedPaths === 'all' || changedPaths.length > 0 ? new Set(['']) : new Set();
    } else if (changedPaths === 'all') {
      const tree = await this.gitlab.listTree(project.id, '', sha, { recursive: true });
      // GitLab answers an unknown tree with 404, which reads as empty: that must not forget every recipe.
      if (tree.length === 0) throw new ProjectReadError(`GitLab lists no files in ${project.path} at ${sha.slice(0, 12)} (an empty tree, or 404 on it)`);
      dirs = new Set(tree.filter((e) => e.type === 'blob').map((e) => recipeDirOf(e.path, format, new Set())).filter((d): d is string => d !== null && d !== ''));
      for (const known of this.table.dirs(project.id, branch)) dirs.add(known);
    } else {
      const known = this.table.dirs(project.id, branch);
      dirs = new Set(changedPaths.map((p) => recipeDirOf(p, format, known)).filter((d): d is string => d !== null));
    }
    const result: RefreshResult = { updated: [], removed: [], current: [], unreadable: [] };
    for (const dir of [...dirs].sort()) {
      const known = this.table.atLocation(project.id, dir, branch);
      // Already read at this commit (a redelivered or retried push, or an index sync before it): nothing to read.
      if (known?.sha === sha) {
        result.current.push(known);
        continue;
      }
      try {
        const recipe = await this.read(project, dir, sha);
        if (recipe) {
          const indexed: IndexedRecipe = { pkgbase: recipe.pkgbase, branch, projectId: project.id, projectPath: project.path, dir, sha, isDefault, recipe };
          this.table.put(indexed);
          result.updated.push(indexed);
          result.current.push(indexed);
        } else if (known) {
          this.table.removeAt(project.id, dir, branch);
          result.removed.push({ dir, pkgbase: known.pkgbase });
        }
      } catch (error) {
        if (!(error instanceof RecipeReadError)) throw error;
        result.unreadable.push({ project: project.path, dir, reason: `${error.detail} (at ${sha.slice(0, 12)})` });
        this.log.warn({ project: project.path, dir, sha, problem: error.detail }, 'recipe not indexed');
      }
    }
    return result;
  }

  /**
   * Reads the recipe in `dir` of a project at a branch or tag the index has not seen (an origin
   * changeset's ref), and keeps it in the index under that ref.
   */
  async readAt(projectId: number, dir: string, ref: string): Promise<IndexedRecipe | null> {
    const project = await this.gitlab.getProject(projectId);
    const sha = await this.commitOf(projectId, ref);
    if (!sha) return null;
    const recipe = await this.read(project, dir, sha);
    if (!recipe) return null;
    const indexed: IndexedRecipe = { pkgbase: recipe.pkgbase, branch: ref, projectId, projectPath: project.path, dir, sha, isDefault: ref === project.defaultBranch, recipe };
    this.table.put(indexed);
    return indexed;
  }

  /** The commit a branch or tag points at; null when the project has no such ref. */
  async commitOf(projectId: number, ref: string): Promise<string | null> {
    try {
      return (await this.gitlab.getCommit(projectId, ref)).sha;
    } catch (error) {
      if (error instanceof GitLabApiError && error.status === 404) return null;
      throw error;
    }
  }

  /** Reads and parses the recipe in `dir` at `ref`; null when the directory holds no recipe. */
  async read(project: Project, dir: string, ref: string): Promise<SourcePackage | null> {
    const format = recipeFormat(this.flavour);
    const marker = await this.gitlab.readFile(project.id, inDir(dir, format.marker), ref);
    if (marker === null) return null;
    const files: TextFile[] = [{ path: format.marker, text: marker }];
    for (const extra of format.extraFiles ?? []) {
      const text = await this.gitlab.readFile(project.id, inDir(dir, extra), ref);
      if (text !== null) files.push({ path: extra, text });
    }
    if (format.listDirectory) {
      const prefix = dir ? `${dir}/` : '';
      const entries = await this.gitlab.listTree(project.id, dir, ref, { recursive: true });
      for (const entry of entries) {
        const relative = entry.path.slice(prefix.length);
        if (entry.type !== 'blob' || relative === format.marker || !format.reads(relative)) continue;
        const text = await this.gitlab.readFile(project.id, entry.path, ref);
        if (text !== null) files.push({ path: relative, text });
      }
    }
    const parsed = format.parse(dir, files);
    const where = `${project.path}${dir ? `/${dir}` : ''}@${ref.slice(0, 12)}`;
    if (!parsed.value) throw new RecipeReadError(where, parsed.issues.map(formatParseIssue).join('; ') || 'no recipe');
    for (const issue of parsed.issues) this.log.warn({ where, issue: formatParseIssue(issue) }, 'recipe problem');
    return parsed.value;
  }
}
