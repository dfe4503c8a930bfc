/** Releases of build sets into distribution repositories, as rows in SQLite: who released what, when, and how it ended. */
import type { ArchDiff } from '../../core/release/release-plan.js';
import type { Db } from './database.js';

/** publishing: the repository is being changed; published; failed (left as it was); interrupted (the server stopped mid-way, and the repository does not have it). */
export type ReleaseState = 'publishing' | 'published' | 'failed' | 'interrupted';

export interface ReleaseRow {
  id: number;
  repository: string;
  namespace: string;
  iteration: number;
  /** Who asked: the API token's identity (src/server/http/token-check.ts). */
  actor: string;
  forced: boolean;
  /** The pkgbases left out (--partial). */
  left_out: string[];
  /** What it changed, per architecture. */
  changes: ArchDiff[];
  state: ReleaseState;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

/** A package a release published: what retention must keep while the release is the repository's. */
export interface ReleasedPackage {
  arch: string;
  name: string;
  version: string;
  filename: string;
  sha256: string;
  buildId: number;
}

type Stored = Omit<ReleaseRow, 'forced' | 'left_out' | 'changes'> & { forced: number; left_out: string; changes: string };

const rowOf = (r: Stored): ReleaseRow => ({ ...r, forced: r.forced === 1, left_out: JSON.parse(r.left_out) as string[], changes: JSON.parse(r.changes) as ArchDiff[] });
const now = (): string => new Date().toISOString();

export class ReleaseStore {
  constructor(private readonly db: Db) {}

  /** Records a release about to change its repository (before the change: a crash cannot forget it). */
  start(release: Pick<ReleaseRow, 'repository' | 'namespace' | 'iteration' | 'actor' | 'forced' | 'left_out' | 'changes'>, packages: readonly ReleasedPackage[]): ReleaseRow {
    return this.db.transaction(() => {
      const id = Number(this.db
        .prepare(`INSERT INTO releases (repository, namespace, iteration, actor, forced, left_out, changes, state, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'publishing', ?)`)
        .run(release.repository, release.namespace, release.iteration, release.actor, release.forced ? 1 : 0, JSON.stringify(release.left_out), JSON.stringify(release.changes), now()).lastInsertRowid);
      const insert = this.db.prepare('INSERT INTO release_packages (release_id, arch, name, version, filename, sha256, build_id) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const p of packages) insert.run(id, p.arch, p.name, p.version, p.filename, p.sha256, p.buildId);
      return this.get(id)!;
    })();
  }

  /** Records how a release ended. */
  finish(id: number, state: Exclude<ReleaseState, 'publishing'>, error: string | null = null): ReleaseRow {
    this.db.prepare('UPDATE releases SET state = ?, error = ?, finished_at = ? WHERE id = ?').run(state, error, now(), id);
    return this.get(id)!;
  }

  get(id: number): ReleaseRow | undefined {
    const row = this.db.prepare('SELECT * FROM releases WHERE id = ?').get(id) as Stored | undefined;
    return row && rowOf(row);
  }

  /** Releases, newest first; of one repository or build set when given. */
  list(filter: { repository?: string; namespace?: string } = {}, limit = 100): ReleaseRow[] {
    const rows = this.db
      .prepare('SELECT * FROM releases WHERE (@repository IS NULL OR repository = @repository) AND (@namespace IS NULL OR namespace = @namespace) ORDER BY id DESC LIMIT @limit')
      .all({ repository: filter.repository ?? null, namespace: filter.namespace ?? null, limit }) as Stored[];
    return rows.map(rowOf);
  }

  /** Releases a crash left publishing. */
  unfinished(): ReleaseRow[] {
    return (this.db.prepare("SELECT * FROM releases WHERE state = 'publishing' ORDER BY id").all() as Stored[]).map(rowOf);
  }

  /** The packages a release published. */
  packages(id: number): ReleasedPackage[] {
    return (this.db.prepare('SELECT arch, name, version, filename, sha256, build_id AS buildId FROM release_packages WHERE release_id = ? ORDER BY arch, name').all(id) as ReleasedPackage[]);
  }
}
