/** Release bumps of build sets (quarters ns bump) and, per repository, the branch, commit and merge request made for them. */
import { z } from 'zod';
import type { Db } from './database.js';

/** `pending`: to do (or to try again); `opened`: the merge request is open; `merged`/`closed`: GitLab says so; `failed`: see `error`. */
export type BumpRepositoryState = 'pending' | 'opened' | 'merged' | 'closed' | 'failed';

const bumpedPackageSchema = z.object({
  pkgbase: z.string(),
  /** The recipe's directory in its project ('' at the root). */
  dir: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
});
export type BumpedPackage = z.infer<typeof bumpedPackageSchema>;

export interface BumpRow {
  id: number;
  namespace_id: number;
  /** The iteration whose rebuilt packages are bumped. */
  iteration: number;
  reason: string;
  branch: string;
  /** "Name <email>" for changelog entries and commits; null: the GitLab token's user. */
  maintainer: string | null;
  actor: string;
  created_at: string;
}

export interface BumpRepositoryRow {
  bump_id: number;
  project_id: number;
  project_path: string;
  target_branch: string;
  packages: BumpedPackage[];
  state: BumpRepositoryState;
  error: string | null;
  commit_sha: string | null;
  mr_iid: number | null;
  mr_url: string | null;
  updated_at: string;
}

/** A recipe a build set builds from a bump branch instead of its distribution branch. */
export interface BranchOverride {
  pkgbase: string;
  projectId: number;
  dir: string;
  branch: string;
}

type StoredRepository = Omit<BumpRepositoryRow, 'packages'> & { packages: string };
const repositoryOf = (row: StoredRepository): BumpRepositoryRow => ({ ...row, packages: z.array(bumpedPackageSchema).parse(JSON.parse(row.packages)) });
const now = (): string => new Date().toISOString();

export class BumpStore {
  constructor(private readonly db: Db) {}

  /** Records a bump and its repositories, all pending. */
  create(bump: Omit<BumpRow, 'id' | 'created_at'>, repositories: { project_id: number; project_path: string; target_branch: string; packages: BumpedPackage[] }[]): BumpRow {
    return this.db.transaction(() => {
      const id = Number(this.db
        .prepare('INSERT INTO bumps (namespace_id, iteration, reason, branch, maintainer, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(bump.namespace_id, bump.iteration, bump.reason, bump.branch, bump.maintainer, bump.actor, now()).lastInsertRowid);
      const insert = this.db.prepare("INSERT INTO bump_repositories (bump_id, project_id, project_path, target_branch, packages, state, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)");
      for (const r of repositories) insert.run(id, r.project_id, r.project_path, r.target_branch, JSON.stringify(r.packages), now());
      return this.get(id)!;
    })();
  }

  get(id: number): BumpRow | undefined {
    return this.db.prepare('SELECT * FROM bumps WHERE id = ?').get(id) as BumpRow | undefined;
  }

  /** The newest bump of a build set. */
  latest(namespaceId: number): BumpRow | undefined {
    return this.db.prepare('SELECT * FROM bumps WHERE namespace_id = ? ORDER BY id DESC LIMIT 1').get(namespaceId) as BumpRow | undefined;
  }

  repositories(bumpId: number): BumpRepositoryRow[] {
    return (this.db.prepare('SELECT * FROM bump_repositories WHERE bump_id = ? ORDER BY project_path').all(bumpId) as StoredRepository[]).map(repositoryOf);
  }

  /** The bumps with repositories still pending (a stop interrupted them). */
  withPending(): BumpRow[] {
    return this.db.prepare("SELECT * FROM bumps b WHERE EXISTS (SELECT 1 FROM bump_repositories r WHERE r.bump_id = b.id AND r.state = 'pending') ORDER BY id").all() as BumpRow[];
  }

  /** Puts a bump's failed repositories back to pending (a resume). */
  retryFailed(bumpId: number): number {
    return this.db.prepare("UPDATE bump_repositories SET state = 'pending', error = NULL, updated_at = ? WHERE bump_id = ? AND state = 'failed'").run(now(), bumpId).changes;
  }

  /** Sets a repository's state and what is known of its branch and merge request (fields left out are kept). */
  update(bumpId: number, projectId: number, change: { state: BumpRepositoryState; error?: string | null; commit_sha?: string | null; mr_iid?: number | null; mr_url?: string | null; packages?: BumpedPackage[] }): void {
    this.db
      .prepare(
        `UPDATE bump_repositories SET state = @state, error = @error,
           commit_sha = CASE WHEN @set_commit THEN @commit_sha ELSE commit_sha END,
           mr_iid = CASE WHEN @set_mr THEN @mr_iid ELSE mr_iid END,
           mr_url = CASE WHEN @set_mr THEN @mr_url ELSE mr_url END,
           packages = coalesce(@packages, packages), updated_at = @at
         WHERE bump_id = @bump_id AND project_id = @project_id`,
      )
      .run({
        bump_id: bumpId, project_id: projectId, state: change.state, error: change.error ?? null,
        set_commit: change.commit_sha === undefined ? 0 : 1, commit_sha: change.commit_sha ?? null,
        set_mr: change.mr_iid === undefined ? 0 : 1, mr_iid: change.mr_iid ?? null, mr_url: change.mr_url ?? null,
        packages: change.packages ? JSON.stringify(change.packages) : null, at: now(),
      });
  }

  /** The bump repository whose merge request comes from `sourceBranch` of a project, if quarters made that branch. */
  byBranch(projectId: number, sourceBranch: string): { bump: BumpRow; repository: BumpRepositoryRow } | undefined {
    const row = this.db
      .prepare('SELECT r.* FROM bump_repositories r JOIN bumps b ON b.id = r.bump_id WHERE r.project_id = ? AND b.branch = ? ORDER BY b.id DESC LIMIT 1')
      .get(projectId, sourceBranch) as StoredRepository | undefined;
    return row && { bump: this.get(row.bump_id)!, repository: repositoryOf(row) };
  }

  /** The recipes a build set builds from its bump branches: those of repositories whose merge request is open. */
  overrides(namespaceId: number): BranchOverride[] {
    const rows = this.db
      .prepare("SELECT r.*, b.branch AS branch FROM bump_repositories r JOIN bumps b ON b.id = r.bump_id WHERE b.namespace_id = ? AND r.state = 'opened' AND r.commit_sha IS NOT NULL ORDER BY b.id")
      .all(namespaceId) as (StoredRepository & { branch: string })[];
    return rows.flatMap((row) => repositoryOf(row).packages.map((p) => ({ pkgbase: p.pkgbase, projectId: row.project_id, dir: p.dir, branch: row.branch })));
  }
}
