/**
 * `quarters ns release NAME --to REPO`: promotes a finished build set's packages into a distribution
 * repository. The set must be finished (src/core/release: every build built, or left out with
 * --partial), every package file is checked against its recorded sha256, the diff against the
 * repository is worked out (added, upgraded, downgraded, removed) and refused when a version would go
 * backwards unless forced; then the release is recorded and the repository changed in one generation
 * switch (distribution.ts). A dry run stops after the diff.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Logger } from '../../common/log.js';
import type { Flavour } from '../../core/recipe/model.js';
import { checkNoDowngrade, diffRelease, isEmptyDiff, releasedPkgbases, ReleaseRefused, type ArchDiff, type ReleaseCandidate } from '../../core/release/release-plan.js';
import type { IndexedRecord } from '../../core/repository-index.js';
import type { RepositoryChange, Repositories } from '../artifacts/repository.js';
import { packageInfo } from '../artifacts/package-check.js';
import type { BuildRow, BuildStore, NamespaceRow } from '../store/build-store.js';
import type { ReleaseRow, ReleaseStore, ReleasedPackage } from '../store/release-store.js';
import type { DistributionRepositories, DistributionRepository } from './distribution.js';

/** What was asked: which set, into which repository, leaving out which pkgbases, by whom. */
export interface ReleaseRequest {
  namespace: NamespaceRow;
  repository: DistributionRepository;
  partial: readonly string[];
  dryRun: boolean;
  force: boolean;
  actor: string;
}

/** The answer: the diff, and the recorded release (null for a dry run). */
export interface ReleaseOutcome {
  namespace: string;
  iteration: number;
  repository: string;
  dry_run: boolean;
  diffs: ArchDiff[];
  release: ReleaseRow | null;
}

const sha256File = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('error', reject).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex')));
  });

/** The builds a release takes of each pkgbase and architecture: a cycle's second pass over its first. */
function lastPasses(builds: readonly BuildRow[]): BuildRow[] {
  const byKey = new Map<string, BuildRow>();
  for (const b of builds) {
    const key = `${b.pkgbase}\0${b.arch}`;
    const seen = byKey.get(key);
    if (!seen || b.pass > seen.pass) byKey.set(key, b);
  }
  return [...byKey.values()];
}

export class Releases {
  constructor(
    private readonly deps: { store: BuildStore; releases: ReleaseStore; repositories: Repositories; distribution: DistributionRepositories; flavour: Flavour; log: Logger },
  ) {}

  /** Releases (or with dryRun, only diffs) the namespace's latest iteration into the repository. Throws ReleaseRefused. */
  async release(request: ReleaseRequest): Promise<ReleaseOutcome> {
    const { store, distribution } = this.deps;
    const { namespace: ns, repository } = request;
    const iteration = store.latestIteration(ns.id);
    if (!iteration) throw new ReleaseRefused('nothing_to_release', `build set "${ns.name}" has no iteration yet`);
    if (iteration.expired_at !== null) throw new ReleaseRefused('not_releasable', `iteration ${iteration.number} of build set "${ns.name}" expired at ${iteration.expired_at} ([retention]): its packages are gone`);
    const builds = lastPasses(store.builds(iteration.id));
    const released = releasedPkgbases(builds, request.partial);
    const candidates = await this.candidates(builds.filter((b) => released.has(b.pkgbase) && repository.architectures.includes(b.arch)));
    return distribution.locked(repository, async () => {
      const diffs: ArchDiff[] = [];
      const current = new Map<string, IndexedRecord[]>();
      for (const arch of repository.architectures) {
        current.set(arch, await distribution.read(repository, arch));
        diffs.push(diffRelease(this.deps.flavour, arch, current.get(arch)!, candidates.filter((c) => c.buildArch === arch), released));
      }
      const outcome = { namespace: ns.name, iteration: iteration.number, repository: repository.name, dry_run: request.dryRun, diffs };
      checkNoDowngrade(diffs, request.force);
      if (request.dryRun) return { ...outcome, release: null };
      if (diffs.every(isEmptyDiff)) throw new ReleaseRefused('nothing_to_release', `${repository.name} has every package of "${ns.name}" (iteration ${iteration.number}) at these versions already`);

      const changes = new Map<string, RepositoryChange>();
      const published: ReleasedPackage[] = [];
      for (const diff of diffs) {
        const files = new Map(candidates.filter((c) => c.buildArch === diff.arch).map((c) => [c.filename, c]));
        const old = new Map(current.get(diff.arch)!.map((p) => [p.name, p]));
        const taken = [...diff.added, ...diff.upgraded, ...diff.downgraded].map((c) => files.get(c.filename!)!);
        const replaced = [...diff.upgraded, ...diff.downgraded, ...diff.removed].map((c) => old.get(c.name)!).map((p) => ({ filename: p.filename, name: p.name }));
        changes.set(diff.arch, { add: taken.map((c) => ({ poolPath: c.poolPath, filename: c.filename })), remove: replaced });
        published.push(...taken.map((c) => ({ arch: diff.arch, name: c.name, version: c.version, filename: c.filename, sha256: c.sha256, buildId: c.buildId })));
      }
      const row = this.deps.releases.start({ repository: repository.name, namespace: ns.name, iteration: iteration.number, actor: request.actor, forced: request.force, left_out: [...request.partial], changes: diffs }, published);
      try {
        await distribution.publish(repository, changes);
      } catch (error) {
        this.deps.releases.finish(row.id, 'failed', (error as Error).message);
        throw error;
      }
      const done = this.deps.releases.finish(row.id, 'published');
      this.deps.log.info({ release: row.id, namespace: ns.name, iteration: iteration.number, repository: repository.name, actor: request.actor, packages: published.length }, 'released');
      return { ...outcome, release: done };
    });
  }

  /** Each artifact of the builds, with what the package says of itself; every file checked against its recorded sha256. */
  private async candidates(builds: readonly BuildRow[]): Promise<(ReleaseCandidate & { poolPath: string; buildArch: string })[]> {
    const out: (ReleaseCandidate & { poolPath: string; buildArch: string })[] = [];
    for (const build of builds) {
      const owner = build.reused_from ?? build.id;
      for (const artifact of this.deps.store.artifacts(build.id)) {
        const poolPath = this.deps.repositories.poolPath(owner, artifact.filename);
        const sha256 = await sha256File(poolPath);
        if (sha256 !== artifact.sha256) throw new ReleaseRefused('not_releasable', `${artifact.filename} of build ${build.id} (${build.pkgbase}/${build.arch}) is not the file uploaded: its sha256 is ${sha256}, ${artifact.sha256} was recorded`);
        const { identity } = await packageInfo(this.deps.flavour, poolPath);
        out.push({ name: identity.name, version: identity.version, arch: identity.arch, filename: artifact.filename, pkgbase: build.pkgbase, buildId: owner, sha256, poolPath, buildArch: build.arch });
      }
    }
    return out;
  }

  /**
   * Settles the releases a crash left publishing: published when the repository has every package they
   * published (the switch happened), interrupted otherwise (it did not: the repository is as it was).
   * Only at start-up, after removeInterruptedChanges.
   */
  async recover(): Promise<ReleaseRow[]> {
    const settled: ReleaseRow[] = [];
    for (const row of this.deps.releases.unfinished()) {
      const repository = this.deps.distribution.get(row.repository);
      let there = false;
      if (repository) {
        const packages = this.deps.releases.packages(row.id);
        const current = new Map<string, Set<string>>();
        for (const arch of new Set(packages.map((p) => p.arch))) current.set(arch, new Set((await this.deps.distribution.read(repository, arch)).map((p) => p.filename)));
        there = packages.every((p) => current.get(p.arch)?.has(p.filename));
      }
      settled.push(this.deps.releases.finish(row.id, there ? 'published' : 'interrupted', there ? null : 'the server stopped before the repository was switched; it was left as it was'));
    }
    return settled;
  }
}
