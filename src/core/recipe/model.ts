/**
 * The one recipe model every flavour's parser produces.
 *
 * A *source package* (Arch: pkgbase, AOSC: a package directory, Debian: a Source stanza)
 * is what gets built; it produces one or more *binary packages* (Arch: pkgname, AOSC: the
 * package, Debian: a Package stanza). Dependencies keep their version constraints and their
 * restrictions (architecture, build profile) so that one model serves every architecture:
 * `src/core/recipe/arch-view.ts` evaluates them for a given architecture.
 */

/** The distribution styles quarters serves. */
export type Flavour = 'pkgbuild' | 'autobuild' | 'debian';

export const FLAVOURS: readonly Flavour[] = ['pkgbuild', 'autobuild', 'debian'];

/** A version as the flavour writes it, split into its parts. `release` is null where absent. */
export interface PackageVersion {
  epoch: number;
  upstream: string;
  release: string | null;
  /** The version exactly as written in the recipe (e.g. "1:2.3-4"), normalised to include the epoch only when the recipe gave one. */
  text: string;
}

/** Relational operators, normalised: Debian's `<<`/`>>` become `<`/`>`; `<`/`>` meaning `<=`/`>=` in old Debian syntax are normalised too. */
export type VersionOperator = '<' | '<=' | '=' | '>=' | '>';

export interface VersionConstraint {
  op: VersionOperator;
  /** The version string as written (epoch and release included if given). */
  version: string;
}

/**
 * An architecture restriction on one dependency: Debian's `[amd64 !i386]`, or produced by a parser
 * for per-architecture keys (Arch `depends_x86_64`, AOSC `PKGDEP__AMD64`).
 * `negated` lists are "every architecture but these".
 */
export interface ArchRestriction {
  negated: boolean;
  arches: string[];
}

/** One dependency atom: a name, optionally versioned, optionally restricted. */
export interface Dependency {
  name: string;
  constraint?: VersionConstraint;
  /** Debian multiarch qualifier (`:any`, `:native`, or an architecture). */
  archQualifier?: string;
  /** Applies only on these architectures (absent = all). */
  arches?: ArchRestriction;
  /**
   * Debian build-profile restriction formula: a disjunction of conjunctions, e.g.
   * `<!nocheck> <stage1 cross>` is [["!nocheck"], ["stage1", "cross"]]. Absent = always.
   */
  profiles?: string[][];
}

/** A dependency clause: alternatives, any one of which satisfies it (`a | b`). Usually one atom. */
export type DependencyClause = Dependency[];

/** A name a binary package provides (itself, a virtual name, a soname), with an optional version. */
export interface Provide {
  name: string;
  version?: string;
  arches?: ArchRestriction;
}

/** A binary package produced by a source package. */
export interface BinaryPackage {
  name: string;
  /** The binary's own version where it differs from the source's (Debian binNMUs, Arch split overrides do not change it). */
  version?: PackageVersion;
  /** Architectures the binary is built for (`any`/`all` kept as written). */
  architectures: string[];
  depends: DependencyClause[];
  preDepends: DependencyClause[];
  /** Optional dependencies (Arch optdepends, Debian Recommends/Suggests are not kept). Never used for planning. */
  optionalDepends: DependencyClause[];
  provides: Provide[];
  conflicts: DependencyClause[];
  replaces: DependencyClause[];
  breaks: DependencyClause[];
  /** Debian Multi-Arch (`same`, `foreign`, `allowed`, `no`); absent elsewhere. Decides what `:any` may resolve to. */
  multiArch?: string;
}

/** What installing a binary depends on and what it answers to besides its name: all that reverse dependencies read of it. */
export type RunRelations = Pick<BinaryPackage, 'architectures' | 'multiArch' | 'preDepends' | 'depends' | 'provides'>;

/** A built binary package as an archive index lists it (Debian `Packages`): its version and its source are known. */
export interface IndexedBinaryPackage extends BinaryPackage {
  version: PackageVersion;
  /** The source package's name (Debian `Source`, defaulting to the package's own name). */
  source: string;
  /** The source version (from `Source: name (version)`, defaulting to the binary's version). */
  sourceVersion: string;
  location: SourceLocation;
}

/** Where a parsed recipe or index stanza came from, for error messages and "why" answers. */
export interface SourceLocation {
  file: string;
  line: number;
}

/** A source package (one build bundle): what quarters plans and builds. */
export interface SourcePackage {
  flavour: Flavour;
  /** Arch pkgbase, AOSC package name, Debian source name. */
  pkgbase: string;
  version: PackageVersion;
  /** Architectures the source builds on (`any` = all, Arch `any` = architecture-independent output; kept as written). */
  architectures: string[];
  binaries: BinaryPackage[];
  /**
   * Build dependencies needed on every build: Arch makedepends, AOSC BUILDDEP, Debian Build-Depends.
   * (Arch and AOSC also install the binaries' run dependencies to build; the planner counts those through `binaries`.)
   */
  buildDepends: DependencyClause[];
  /** Build dependencies only for architecture-dependent builds (Debian Build-Depends-Arch). */
  buildDependsArch: DependencyClause[];
  /** Build dependencies only for architecture-independent builds (Debian Build-Depends-Indep). */
  buildDependsIndep: DependencyClause[];
  /** Dependencies of the test suite (Arch checkdepends). */
  checkDepends: DependencyClause[];
  buildConflicts: DependencyClause[];
  location: SourceLocation;
  /** Free-form extra facts a flavour keeps (AOSC section, Debian Section…). Not used for planning. */
  extra?: Record<string, string>;
}

/** A file of a recipe tree: its path relative to the tree's root (with `/`, no leading `./`) and its text. */
export interface TextFile {
  path: string;
  text: string;
}

/** A problem found while parsing: which file, which line, and what is wrong. Parsers return these, never throw for bad input. */
export interface ParseIssue {
  file: string;
  line: number;
  message: string;
}

/** The result of parsing one recipe or index: what could be parsed, and every problem, each with its place. */
export interface ParseResult<T> {
  value: T | null;
  issues: ParseIssue[];
}

/** Formats an issue as the one-line message the CLI prints. */
export function formatParseIssue(issue: ParseIssue): string {
  return `${issue.file}:${issue.line}: ${issue.message}`;
}
