/**
 * Which file names an upload may have: one path segment, no `..`, and the flavour's package-file
 * pattern; for Debian builds also the build's records, its `.buildinfo` and `.changes`, which are
 * kept with the build but are no packages of its repository.
 */
import type { Flavour } from '../recipe/model.js';

// ASCII only: a look-alike of `/` (U+2215) or of a letter is refused, not carried into the repository.
const PACMAN = /^([a-z0-9@_+][a-z0-9@._+-]*)-([A-Za-z0-9._+~]+)-([0-9][0-9.]*)-([a-z0-9_]+)\.pkg\.tar\.(zst|xz|gz|bz2)$/;
const DEB = /^([a-z0-9][a-z0-9.+-]+)_([A-Za-z0-9.+~-]+)_([a-z0-9-]+)\.deb$/;
const DEB_RECORD = /^([a-z0-9][a-z0-9.+-]+)_([A-Za-z0-9.+~-]+)_([a-z0-9-]+)\.(buildinfo|changes)$/;

/** Architecture-independent package architectures, accepted in any architecture's repository. */
const ARCH_INDEPENDENT = new Set(['any', 'all', 'noarch']);

/** A package file name taken apart. */
export interface ArtifactName {
  name: string;
  /** pkgver-pkgrel for pacman; the Debian version without its epoch for a .deb. */
  version: string;
  arch: string;
  /** For a build record (Debian `.buildinfo`, `.changes`): which; `name` is then the source package. Absent for a package. */
  record?: BuildRecordKind;
}

/** The records of a Debian build that are kept with it. */
export type BuildRecordKind = 'buildinfo' | 'changes';

/** Whether a file of a build is a record kept with it (a Debian .buildinfo or .changes) rather than a package for its repository. */
export function isBuildRecord(filename: string): boolean {
  return DEB_RECORD.test(filename);
}

/** Checks an upload's file name; returns why it is refused, or its parts. */
export function checkArtifactName(filename: string, flavour: Flavour, buildArch: string): { ok: true; value: ArtifactName } | { ok: false; reason: string } {
  if (filename.length === 0 || filename.length > 255) return { ok: false, reason: 'a file name has 1 to 255 characters' };
  if (!/^[\x21-\x7e]+$/.test(filename)) return { ok: false, reason: `"${filename}" must be printable ASCII (no spaces, no look-alikes of / or letters)` };
  if (/[/\\\0]/.test(filename) || filename.includes('..') || filename.startsWith('.')) {
    return { ok: false, reason: `"${filename}" must be a plain file name: no separators, no "..", not hidden` };
  }
  const record = flavour === 'debian' ? DEB_RECORD.exec(filename) : null;
  const match = flavour === 'pkgbuild' ? PACMAN.exec(filename) : DEB.exec(filename) ?? record;
  if (!match) {
    const expected = flavour === 'pkgbuild' ? 'NAME-PKGVER-PKGREL-ARCH.pkg.tar.zst' : flavour === 'debian' ? 'NAME_VERSION_ARCH.deb, or SOURCE_VERSION_ARCH.buildinfo or .changes' : 'NAME_VERSION_ARCH.deb';
    return { ok: false, reason: `"${filename}" is not a ${flavour} package file name (${expected})` };
  }
  const arch = flavour === 'pkgbuild' ? match[4]! : match[3]!;
  if (arch !== buildArch && !ARCH_INDEPENDENT.has(arch) && !(flavour !== 'pkgbuild' && debArchMatches(arch, buildArch))) {
    return { ok: false, reason: `"${filename}" is for ${arch}, but the build is for ${buildArch}` };
  }
  const version = flavour === 'pkgbuild' ? `${match[2]!}-${match[3]!}` : match[2]!;
  return { ok: true, value: { name: match[1]!, version, arch, ...(record ? { record: record[4] as BuildRecordKind } : {}) } };
}

// Debian names x86_64 amd64; quarters' architectures may use either.
const DEB_ALIASES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64' };
const debArchMatches = (fileArch: string, buildArch: string): boolean => DEB_ALIASES[buildArch] === fileArch;
