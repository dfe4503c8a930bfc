/**
 * Promotion of a finished build set into a distribution repository, as pure decisions: whether the set
 * may be released (every build built, or left out by name), and what the release changes in each
 * architecture's repository: packages added, upgraded, downgraded, removed. Versions are compared the
 * flavour's way (src/core/version). The server reads the repositories and moves the files.
 */
import type { BuildState } from '../build-state.js';
import type { Flavour } from '../recipe/model.js';
import { compareVersions } from '../version/index.js';

/** A package in a distribution repository, as its index names it. */
export interface RepositoryPackage {
  name: string;
  version: string;
  arch: string;
  filename: string;
  /** The source package it was built from (pacman's %BASE%, apt's Source), when the index says. */
  base: string | null;
}

/** A package the build set offers: one artifact of one of its builds. */
export interface ReleaseCandidate {
  name: string;
  version: string;
  arch: string;
  filename: string;
  pkgbase: string;
  buildId: number;
  sha256: string;
}

/** One package's change. `from` is null for an added package, `to` null for a removed one. */
export interface PackageChange {
  name: string;
  from: string | null;
  to: string | null;
  /** The file added (null for a removed package). */
  filename: string | null;
}

/** What a release changes in one architecture's repository. */
export interface ArchDiff {
  arch: string;
  added: PackageChange[];
  upgraded: PackageChange[];
  downgraded: PackageChange[];
  removed: PackageChange[];
  /** Packages already there at the same version: kept as they are (a file once published at a version is never replaced). */
  unchanged: PackageChange[];
}

/** Why a build set cannot be released as asked. */
export class ReleaseRefused extends Error {
  constructor(
    readonly code: 'not_releasable' | 'version_downgrade' | 'unknown_pkgbase' | 'nothing_to_release',
    message: string,
  ) {
    super(message);
    this.name = 'ReleaseRefused';
  }
}

/** A build as releasing reads it. */
export interface ReleaseBuild {
  pkgbase: string;
  arch: string;
  state: BuildState;
  reason: string | null;
}

/**
 * The pkgbases a release takes: every build must be built, except those of the pkgbases `partial`
 * leaves out. Throws ReleaseRefused naming each build in the way (and each left-out pkgbase the set
 * does not build).
 */
export function releasedPkgbases(builds: readonly ReleaseBuild[], partial: readonly string[] = []): Set<string> {
  const known = new Set(builds.map((b) => b.pkgbase));
  const unknown = partial.filter((p) => !known.has(p));
  if (unknown.length > 0) throw new ReleaseRefused('unknown_pkgbase', `--partial names ${unknown.map((p) => `"${p}"`).join(', ')}, which the build set does not build`);
  const leftOut = new Set(partial);
  const blocking = builds.filter((b) => !leftOut.has(b.pkgbase) && b.state !== 'built');
  if (blocking.length > 0) {
    const listed = blocking.slice(0, 20).map((b) => `${b.pkgbase}/${b.arch} is ${b.state}${b.reason ? ` (${b.reason})` : ''}`);
    const more = blocking.length > 20 ? `, and ${blocking.length - 20} more` : '';
    const names = [...new Set(blocking.map((b) => b.pkgbase))].join(' ');
    throw new ReleaseRefused('not_releasable', `not every build is built: ${listed.join('; ')}${more}. Release the rest with --partial ${names}`);
  }
  const released = new Set([...known].filter((p) => !leftOut.has(p)));
  if (released.size === 0) throw new ReleaseRefused('nothing_to_release', 'every pkgbase of the build set is left out: nothing to release');
  return released;
}

/**
 * What releasing `candidates` (one architecture's) does to a repository holding `current`: a package of
 * the same name is upgraded, downgraded or unchanged by its version; a new name is added; a package of
 * the repository built from a released pkgbase that the set no longer makes is removed.
 */
export function diffRelease(flavour: Flavour, arch: string, current: readonly RepositoryPackage[], candidates: readonly ReleaseCandidate[], released: ReadonlySet<string>): ArchDiff {
  const diff: ArchDiff = { arch, added: [], upgraded: [], downgraded: [], removed: [], unchanged: [] };
  const byName = new Map(current.map((p) => [p.name, p]));
  const offered = new Set(candidates.map((c) => c.name));
  for (const c of [...candidates].sort((a, b) => a.name.localeCompare(b.name))) {
    const old = byName.get(c.name);
    const change = { name: c.name, from: old?.version ?? null, to: c.version, filename: c.filename };
    if (!old) diff.added.push(change);
    else {
      const order = compareVersions(flavour, c.version, old.version);
      (order > 0 ? diff.upgraded : order < 0 ? diff.downgraded : diff.unchanged).push(change);
    }
  }
  for (const p of [...current].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!offered.has(p.name) && p.base !== null && released.has(p.base)) diff.removed.push({ name: p.name, from: p.version, to: null, filename: null });
  }
  return diff;
}

/** Refuses a release whose versions would go backwards, unless forced. */
export function checkNoDowngrade(diffs: readonly ArchDiff[], force: boolean): void {
  const downgraded = diffs.flatMap((d) => d.downgraded.map((c) => `${c.name}/${d.arch} ${c.from} → ${c.to}`));
  if (downgraded.length > 0 && !force) throw new ReleaseRefused('version_downgrade', `the release would take versions backwards: ${downgraded.join(', ')}; give --force to release anyway`);
}

/** Whether a diff changes nothing but replacing packages with files of the same version. */
export const isEmptyDiff = (d: ArchDiff): boolean => d.added.length + d.upgraded.length + d.downgraded.length + d.removed.length === 0;
