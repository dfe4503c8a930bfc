/** What retention reads of the store (iterations with what keeps them, the builds whose files they name) and the one thing it writes: that an iteration expired. */
import { ON_ITS_WAY } from '../../core/build-state.js';
import type { Db } from './database.js';

/** An iteration as retention sees it, before releases are taken into account. */
export interface RetentionIteration {
  id: number;
  number: number;
  superseded_at: string | null;
  expired_at: string | null;
  /** Iterations of the same build set newer than it. */
  newer: number;
  /** A build of it is on its way, or an image is being built from it. */
  busy: boolean;
}

/** A release that pins what it was made from, with the files it published. */
export interface StandingRelease {
  id: number;
  repository: string;
  namespace: string;
  iteration: number;
  packages: { arch: string; filename: string; buildId: number }[];
}

const onItsWay = ON_ITS_WAY.map((s) => `'${s}'`).join(', ');

export class RetentionStore {
  constructor(private readonly db: Db) {}

  /** A build set's iterations, oldest first. */
  iterations(namespaceId: number): RetentionIteration[] {
    const rows = this.db
      .prepare(
        `SELECT i.id, i.number, i.superseded_at, i.expired_at,
           (SELECT count(*) FROM iterations j WHERE j.namespace_id = i.namespace_id AND j.number > i.number) AS newer,
           (EXISTS (SELECT 1 FROM builds b WHERE b.iteration_id = i.id AND b.state IN (${onItsWay}))
            OR EXISTS (SELECT 1 FROM images m WHERE m.iteration_id = i.id AND m.state = 'building')) AS busy
         FROM iterations i WHERE i.namespace_id = ? ORDER BY i.number`,
      )
      .all(namespaceId) as (Omit<RetentionIteration, 'busy'> & { busy: number })[];
    return rows.map((r) => ({ ...r, busy: r.busy === 1 }));
  }

  /** The builds whose package files (`pool/<owner>/`) the iterations' builds are: reused_from, else the build itself. */
  owners(iterationIds: readonly number[]): { owner: number }[] {
    if (iterationIds.length === 0) return [];
    const statement = this.db.prepare('SELECT DISTINCT coalesce(reused_from, id) AS owner FROM builds WHERE iteration_id = ?');
    return iterationIds.flatMap((id) => statement.all(id) as { owner: number }[]);
  }

  /** Which of `owners` a build of an iteration that has not expired, other than the `leaving` ones, still names. */
  keptOwners(owners: readonly number[], leaving: readonly number[]): { owner: number }[] {
    const out = new Set(leaving);
    const naming = this.db.prepare(
      `SELECT b.iteration_id AS iteration FROM builds b JOIN iterations i ON i.id = b.iteration_id
       WHERE (b.id = @owner OR b.reused_from = @owner) AND i.expired_at IS NULL`,
    );
    return owners.filter((owner) => (naming.all({ owner }) as { iteration: number }[]).some((r) => !out.has(r.iteration))).map((owner) => ({ owner }));
  }

  /** Releases that published (or were publishing when the server stopped), with their packages. */
  standingReleases(): StandingRelease[] {
    const releases = this.db.prepare("SELECT id, repository, namespace, iteration FROM releases WHERE state IN ('published', 'publishing') ORDER BY id").all() as Omit<StandingRelease, 'packages'>[];
    const packages = this.db.prepare('SELECT arch, filename, build_id AS buildId FROM release_packages WHERE release_id = ?');
    return releases.map((r) => ({ ...r, packages: packages.all(r.id) as StandingRelease['packages'] }));
  }

  /** Records that these iterations expired, in one transaction: from now on nothing serves or carries them over. */
  markExpired(iterationIds: readonly number[], at: string): void {
    const mark = this.db.prepare('UPDATE iterations SET expired_at = ? WHERE id = ? AND expired_at IS NULL');
    this.db.transaction(() => iterationIds.forEach((id) => mark.run(at, id)))();
  }
}
