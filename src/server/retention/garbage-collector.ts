/**
 * `quarters gc` and the server's periodic run of `[retention]`: expires iterations by the policy
 * (src/core/retention), and removes their repositories (`repos/NS/N/`), the package files only they
 * name (`pool/BUILD/`), their logs (`logs/NS/N/`) and their disk images (`images/NS/N/`). A dry run says
 * exactly that and removes nothing.
 *
 * Safe against a crash at any point: an iteration is first recorded as expired (from then on it is
 * neither served nor carried over), then each directory is renamed whole out of the tree into `tmp/`
 * (which start-up empties) and only then deleted. A repository's index and the files it names go in
 * that one rename, so no index is ever left naming a missing file, and an interrupted run's expired
 * iterations are finished by the next. Each build set is collected under its lock, so a build set
 * being planned or settled is never collected at the same time; an iteration with a build or image
 * still on its way, and one a release still in a distribution repository was made from, are kept.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Logger } from '../../common/log.js';
import { durationText, iterationVerdict, poolOwnersToRemove, type IterationFacts, type RetentionPolicy } from '../../core/retention/retention-plan.js';
import { syncDir } from '../artifacts/repository.js';
import { iterationImagesDir } from '../images/builder.js';
import type { BuildSetEngine } from '../build-sets/engine.js';
import { KeyedLock } from '../keyed-lock.js';
import type { DistributionRepositories } from '../releases/distribution.js';
import type { NamespaceRow } from '../store/build-store.js';
import type { RetentionStore } from '../store/retention-store.js';

/** What a file is to the administrator: part of a build set's repository, a build's package file, a log, a disk image (or its build log). */
export type GcFileKind = 'repository' | 'package' | 'log' | 'image';

/** One file that goes (or went), relative to data_dir. */
export interface GcFile {
  path: string;
  kind: GcFileKind;
  bytes: number;
}

/** What a run removed, or with dry_run, would remove. */
export interface GcReport {
  dry_run: boolean;
  at: string;
  policy: { keep_iterations: number; superseded_after: string; retired_after: string; logs_after: string | null };
  /** Iterations that expire (already_expired: an interrupted run expired them; what is left of them goes). */
  iterations: { namespace: string; iteration: number; why: string; already_expired: boolean }[];
  /** Kept iterations whose logs go (logs_after). */
  logs: { namespace: string; iteration: number; why: string }[];
  /** Every file, sorted by path. */
  files: GcFile[];
  /** The bytes freed: files whose every hard link goes (a package file also in a kept repository frees nothing). */
  total_bytes: number;
}

/** A file found under a directory that goes. */
interface Found extends GcFile {
  inode: string;
  links: number;
}

/** Regular files under `dir` (symlinks are not followed), or none when it does not exist. */
async function filesUnder(dir: string): Promise<{ path: string; size: number; inode: string; links: number }[]> {
  const info = await lstat(dir).catch(() => null);
  if (!info) return [];
  if (info.isFile()) return [{ path: dir, size: info.size, inode: `${info.dev}:${info.ino}`, links: info.nlink }];
  if (!info.isDirectory()) return [];
  const out: { path: string; size: number; inode: string; links: number }[] = [];
  for (const name of (await readdir(dir)).sort()) out.push(...(await filesUnder(join(dir, name))));
  return out;
}

const exists = async (path: string): Promise<boolean> => (await lstat(path).catch(() => null)) !== null;

export interface GarbageCollectorDeps {
  dataDir: string;
  retention: RetentionStore;
  engine: BuildSetEngine;
  distribution: DistributionRepositories;
  policy: RetentionPolicy;
  log: Logger;
  /** For tests: called before each directory is taken away (a throw there is a crash mid-run). */
  beforeRemoving?: (dir: string) => void | Promise<void>;
  /** For tests: the time (ms since the epoch) the policy is applied at; default Date.now. */
  clock?: () => number;
}

export class GarbageCollector {
  private readonly lock = new KeyedLock();

  constructor(private readonly deps: GarbageCollectorDeps) {}

  /** Applies the policy at `now` to every build set; with dryRun, only says what would go. One run at a time. */
  collect(options: { dryRun: boolean; now?: number }): Promise<GcReport> {
    return this.lock.run('gc', () => this.run(options.dryRun, options.now ?? (this.deps.clock ?? Date.now)()));
  }

  private async run(dryRun: boolean, now: number): Promise<GcReport> {
    const { policy, engine } = this.deps;
    const report: GcReport = {
      dry_run: dryRun, at: new Date(now).toISOString(),
      policy: { keep_iterations: policy.keepIterations, superseded_after: durationText(policy.supersededAfterMs), retired_after: durationText(policy.retiredAfterMs), logs_after: policy.logsAfterMs === null ? null : durationText(policy.logsAfterMs) },
      iterations: [], logs: [], files: [], total_bytes: 0,
    };
    const pins = await this.releasePins();
    const found: Found[] = [];
    for (const ns of engine.store.listNamespaces()) {
      await engine.locked(ns.id, () => this.collectBuildSet(ns, pins, now, dryRun, report, found));
    }
    report.files = found.map(({ path, kind, bytes }) => ({ path, kind, bytes })).sort((a, b) => a.path.localeCompare(b.path));
    const seen = new Map<string, { size: number; links: number; going: number }>();
    for (const f of found) {
      const entry = seen.get(f.inode) ?? { size: f.bytes, links: f.links, going: 0 };
      entry.going += 1;
      seen.set(f.inode, entry);
    }
    report.total_bytes = [...seen.values()].filter((e) => e.going >= e.links).reduce((sum, e) => sum + e.size, 0);
    if (!dryRun && (report.iterations.length > 0 || report.logs.length > 0)) {
      this.deps.log.info({ iterations: report.iterations.length, logs: report.logs.length, files: report.files.length, bytes: report.total_bytes }, 'retention removed expired iterations');
    }
    return report;
  }

  /**
   * What releases pin: the iterations they were made from and the builds whose files they published,
   * while the release's distribution repository still has one of its packages (or is no longer
   * configured, when that cannot be known).
   */
  private async releasePins(): Promise<{ iterations: Set<string>; builds: Set<number> }> {
    const { distribution } = this.deps;
    const served = new Map<string, Set<string>>();
    const pins = { iterations: new Set<string>(), builds: new Set<number>() };
    for (const release of this.deps.retention.standingReleases()) {
      const repository = distribution.get(release.repository);
      let standing = repository === undefined;
      for (const p of repository ? release.packages : []) {
        const key = `${release.repository}\0${p.arch}`;
        if (!served.has(key)) served.set(key, new Set(repository!.architectures.includes(p.arch) ? (await distribution.read(repository!, p.arch)).map((r) => r.filename) : []));
        if (served.get(key)!.has(p.filename)) standing = true;
      }
      if (!standing) continue;
      pins.iterations.add(`${release.namespace}\0${release.iteration}`);
      for (const p of release.packages) pins.builds.add(p.buildId);
    }
    return pins;
  }

  /** One build set, under its lock: the verdicts, what goes, and (unless a dry run) the expiry recorded and the directories removed. */
  private async collectBuildSet(ns: NamespaceRow, pins: { iterations: Set<string>; builds: Set<number> }, now: number, dryRun: boolean, report: GcReport, found: Found[]): Promise<void> {
    const { retention, dataDir, policy } = this.deps;
    const iterations = retention.iterations(ns.id);
    const verdicts = iterations.map((it) => {
      const facts: IterationFacts = {
        namespace: ns.name, status: ns.status, statusChangedAt: ns.status_changed_at, number: it.number, newer: it.newer,
        supersededAt: it.superseded_at, expiredAt: it.expired_at, busy: it.busy, released: pins.iterations.has(`${ns.name}\0${it.number}`),
      };
      return { it, verdict: iterationVerdict(facts, policy, now) };
    });
    // Most build sets have nothing to do: nothing more is read of them.
    if (verdicts.every((v) => v.verdict.action === 'keep')) return;
    const repoDir = (n: number) => join(dataDir, 'repos', ns.name, String(n));
    const logDir = (n: number) => join(dataDir, 'logs', ns.name, String(n));

    const dirs: { dir: string; kind: GcFileKind }[] = [];
    const leaving: typeof verdicts = [];
    for (const v of verdicts.filter((x) => x.verdict.action === 'expire' || x.verdict.action === 'expired')) {
      const { it, verdict } = v;
      const mine: { dir: string; kind: GcFileKind }[] = [
        { dir: repoDir(it.number), kind: 'repository' }, { dir: logDir(it.number), kind: 'log' }, { dir: iterationImagesDir(dataDir, ns.name, it.number), kind: 'image' },
      ];
      const left: typeof mine = [];
      for (const d of mine) if (await exists(d.dir)) left.push(d);
      // Expired before and finished: its package files went before its repository did (below), so nothing of it is left.
      if (verdict.action === 'expired' && left.length === 0) continue;
      leaving.push(v);
      report.iterations.push({ namespace: ns.name, iteration: it.number, why: verdict.why, already_expired: verdict.action === 'expired' });
      dirs.push(...left);
    }
    for (const { it, verdict } of verdicts.filter((v) => v.verdict.action === 'drop-logs')) {
      if (!(await exists(logDir(it.number)))) continue;
      report.logs.push({ namespace: ns.name, iteration: it.number, why: verdict.why });
      dirs.push({ dir: logDir(it.number), kind: 'log' });
    }
    const leavingIds = leaving.map((v) => v.it.id);
    const owners = retention.owners(leavingIds);
    const candidates = [...new Set(owners.map((o) => o.owner))];
    const pool: { dir: string; kind: GcFileKind }[] = [];
    for (const owner of poolOwnersToRemove(owners, retention.keptOwners(candidates, leavingIds), pins.builds)) {
      const dir = join(dataDir, 'pool', String(owner));
      if (await exists(dir)) pool.push({ dir, kind: 'package' });
    }
    for (const { dir, kind } of [...pool, ...dirs]) {
      for (const f of await filesUnder(dir)) found.push({ path: relative(dataDir, f.path), kind, bytes: f.size, inode: f.inode, links: f.links });
    }
    if (dryRun) return;
    // Recorded first: a crash after this leaves iterations nobody serves, whose files the next run removes.
    const expiring = leaving.filter((v) => v.verdict.action === 'expire').map((v) => v.it.id);
    retention.markExpired(expiring, new Date(now).toISOString());
    // The package files first (a repository holds its own links to them, so it stays whole): an expired
    // iteration whose repository and logs are gone is finished, and later runs need not look at its builds.
    for (const { dir } of [...pool, ...dirs]) await this.remove(dir);
  }

  /** Takes `dir` out of the tree in one rename (into tmp/, which start-up empties), then deletes it. */
  private async remove(dir: string): Promise<void> {
    await this.deps.beforeRemoving?.(dir);
    const trash = join(this.deps.dataDir, 'tmp');
    await mkdir(trash, { recursive: true });
    const moved = join(trash, `gc-${randomBytes(6).toString('hex')}`);
    await rename(dir, moved);
    // Durable before anything in it is deleted: a crash must not bring back a directory with files missing.
    await syncDir(dirname(dir));
    await rm(moved, { recursive: true, force: true });
  }
}
