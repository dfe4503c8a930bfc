/** The server's SQLite store: opened in WAL mode under data_dir, schema brought up to date by numbered migrations. */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

/**
 * Migrations in order; migration N brings `PRAGMA user_version` from N-1 to N.
 * Never edit a released one: add the next.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    processed_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT
  );
  CREATE INDEX inbox_pending ON inbox (id) WHERE processed_at IS NULL;

  CREATE TABLE recipes (
    pkgbase TEXT NOT NULL,
    branch TEXT NOT NULL,
    project_id INTEGER NOT NULL,
    project_path TEXT NOT NULL,
    dir TEXT NOT NULL,
    sha TEXT NOT NULL,
    is_default INTEGER NOT NULL,
    recipe TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (pkgbase, branch)
  );
  CREATE INDEX recipes_location ON recipes (project_id, branch, dir);

  CREATE TABLE namespaces (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    packager TEXT,
    target_branch TEXT NOT NULL,
    mr_project_id INTEGER,
    mr_iid INTEGER,
    mr_note_id INTEGER,
    created_at TEXT NOT NULL
  );

  CREATE TABLE iterations (
    id INTEGER PRIMARY KEY,
    namespace_id INTEGER NOT NULL REFERENCES namespaces(id),
    number INTEGER NOT NULL,
    reason TEXT NOT NULL,
    cycles TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    superseded_at TEXT,
    UNIQUE (namespace_id, number)
  );

  CREATE TABLE builds (
    id INTEGER PRIMARY KEY,
    iteration_id INTEGER NOT NULL REFERENCES iterations(id),
    pkgbase TEXT NOT NULL,
    arch TEXT NOT NULL,
    project_id INTEGER NOT NULL,
    project_path TEXT NOT NULL,
    ref TEXT NOT NULL,
    sha TEXT NOT NULL,
    version TEXT NOT NULL,
    depends_on TEXT NOT NULL DEFAULT '[]',
    input_key TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    packager TEXT,
    reused_from INTEGER REFERENCES builds(id),
    dispatch_started_at TEXT,
    commit_sha TEXT,
    pipeline_id INTEGER,
    pipeline_url TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    UNIQUE (iteration_id, pkgbase, arch)
  );
  CREATE INDEX builds_state ON builds (state);
  CREATE INDEX builds_pipeline ON builds (pipeline_id);

  CREATE TABLE artifacts (
    build_id INTEGER NOT NULL REFERENCES builds(id),
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    job_id INTEGER NOT NULL,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (build_id, filename)
  );
  `,
  // 2: resource usage reported with uploads, unresolved dependencies of an iteration, recorded pipeline cancellations.
  `
  ALTER TABLE builds ADD COLUMN resource_usage TEXT;
  ALTER TABLE iterations ADD COLUMN unresolved TEXT NOT NULL DEFAULT '[]';
  CREATE TABLE pipeline_cancellations (
    project_id INTEGER NOT NULL,
    pipeline_id INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    done_at TEXT,
    PRIMARY KEY (project_id, pipeline_id)
  );
  `,
  // 3: a second pass over a dependency cycle (cycle_rebuild = "once") builds the same pkgbase twice in an iteration.
  `
  CREATE TABLE builds_new (
    id INTEGER PRIMARY KEY,
    iteration_id INTEGER NOT NULL REFERENCES iterations(id),
    pkgbase TEXT NOT NULL,
    arch TEXT NOT NULL,
    pass INTEGER NOT NULL DEFAULT 1,
    project_id INTEGER NOT NULL,
    project_path TEXT NOT NULL,
    ref TEXT NOT NULL,
    sha TEXT NOT NULL,
    version TEXT NOT NULL,
    depends_on TEXT NOT NULL DEFAULT '[]',
    input_key TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    packager TEXT,
    reused_from INTEGER REFERENCES builds(id),
    dispatch_started_at TEXT,
    commit_sha TEXT,
    pipeline_id INTEGER,
    pipeline_url TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    resource_usage TEXT,
    UNIQUE (iteration_id, pkgbase, arch, pass)
  );
  INSERT INTO builds_new (id, iteration_id, pkgbase, arch, project_id, project_path, ref, sha, version, depends_on, input_key, state, reason, packager,
                          reused_from, dispatch_started_at, commit_sha, pipeline_id, pipeline_url, created_at, started_at, finished_at, resource_usage)
    SELECT id, iteration_id, pkgbase, arch, project_id, project_path, ref, sha, version, depends_on, input_key, state, reason, packager,
           reused_from, dispatch_started_at, commit_sha, pipeline_id, pipeline_url, created_at, started_at, finished_at, resource_usage FROM builds;
  DROP TABLE builds;
  ALTER TABLE builds_new RENAME TO builds;
  CREATE INDEX builds_state ON builds (state);
  CREATE INDEX builds_pipeline ON builds (pipeline_id);
  CREATE INDEX builds_recipe ON builds (pkgbase, sha);
  `,
  // 4: the packages a build may publish (its recipe's pkgnames, version, architectures), recorded when it is planned.
  `
  ALTER TABLE builds ADD COLUMN products TEXT;
  `,
  // 5: releases of build sets into the distribution's repositories, and the packages each one published.
  `
  CREATE TABLE releases (
    id INTEGER PRIMARY KEY,
    repository TEXT NOT NULL,
    namespace TEXT NOT NULL,
    iteration INTEGER NOT NULL,
    actor TEXT NOT NULL,
    forced INTEGER NOT NULL,
    left_out TEXT NOT NULL DEFAULT '[]',
    changes TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
  );
  CREATE INDEX releases_repository ON releases (repository, id);
  CREATE TABLE release_packages (
    release_id INTEGER NOT NULL REFERENCES releases(id),
    arch TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    build_id INTEGER NOT NULL REFERENCES builds(id),
    PRIMARY KEY (release_id, arch, filename)
  );
  CREATE INDEX release_packages_build ON release_packages (build_id);
  `,
  // 6: why a build is in its set (the planner's first step back to an origin), and the CI jobs of builds'
  // pipelines as GitLab's Job Hooks and the executors' reports tell them (the runner that took each).
  `
  ALTER TABLE builds ADD COLUMN because TEXT;
  CREATE TABLE jobs (
    job_id INTEGER PRIMARY KEY,
    build_id INTEGER NOT NULL,
    project_id INTEGER NOT NULL,
    pipeline_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    runner_id INTEGER,
    runner_description TEXT,
    created_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX jobs_updated ON jobs (updated_at);
  CREATE INDEX jobs_build ON jobs (build_id);
  `,
  // 7: disk images built from an iteration's repository ([[images]]).
  `
  CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    iteration_id INTEGER NOT NULL REFERENCES iterations(id),
    arch TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    filename TEXT,
    size INTEGER,
    sha256 TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (iteration_id, arch, name)
  );
  `,
  // 8: release bumps of a build set's rebuilt packages (quarters ns bump): one merge request per repository.
  `
  CREATE TABLE bumps (
    id INTEGER PRIMARY KEY,
    namespace_id INTEGER NOT NULL REFERENCES namespaces(id),
    iteration INTEGER NOT NULL,
    reason TEXT NOT NULL,
    branch TEXT NOT NULL,
    maintainer TEXT,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (namespace_id, iteration)
  );
  CREATE TABLE bump_repositories (
    bump_id INTEGER NOT NULL REFERENCES bumps(id),
    project_id INTEGER NOT NULL,
    project_path TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    packages TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    commit_sha TEXT,
    mr_iid INTEGER,
    mr_url TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (bump_id, project_id)
  );
  CREATE INDEX bump_repositories_project ON bump_repositories (project_id);
  `,
  // 9: retention: when a build set's status last changed (retired_after counts from it; sets retired
  // before it was recorded count from the upgrade), and when an iteration expired (its repository, the
  // package files only it named and its logs removed; the record stays); the builds that continue a build, by it.
  `
  ALTER TABLE namespaces ADD COLUMN status_changed_at TEXT;
  UPDATE namespaces SET status_changed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE status != 'active';
  ALTER TABLE iterations ADD COLUMN expired_at TEXT;
  CREATE INDEX builds_reused_from ON builds (reused_from) WHERE reused_from IS NOT NULL;
  `,
];

/** The schema version this code expects. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Opens (creating if needed) the store at `<dataDir>/quarters.sqlite3` and applies pending migrations. */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'quarters.sqlite3'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/** Applies every migration past the database's `user_version` (up to `target`), each in its own transaction. */
export function migrate(db: Db, target = MIGRATIONS.length): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the database has schema version ${current}, newer than this quarters (${MIGRATIONS.length}); upgrade quarters`);
  }
  if (current >= target) return;
  // A migration that rebuilds a table (SQLite cannot drop a constraint) must not trip the foreign keys
  // pointing at it; they are checked once the migrations are done, as SQLite's documentation advises.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    for (let version = current; version < target; version++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[version]!);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length) throw new Error(`migration ${version + 1} broke ${broken.length} foreign key reference(s)`);
        db.pragma(`user_version = ${version + 1}`);
      })();
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
  }
}
