/** Hand-built universes for the graph engine's tests: recipe-model values written compactly. */
import type { BinaryPackage, Dependency, DependencyClause, Flavour, IndexedBinaryPackage, Provide, SourcePackage, VersionOperator } from '../../src/core/recipe/model.js';
import { parseVersion } from '../../src/core/version/index.js';

/** An atom: `dep('libc6', '>=', '2.34')`, with qualifier/restrictions in `extra`. */
export function dep(name: string, op?: VersionOperator, version?: string, extra: Partial<Dependency> = {}): Dependency {
  return { name, ...(op && version ? { constraint: { op, version } } : {}), ...extra };
}

/** Clauses from atoms (one-atom clauses) and arrays of atoms (alternatives). */
export function clauses(...items: (Dependency | Dependency[] | string)[]): DependencyClause[] {
  return items.map((item) => (typeof item === 'string' ? [dep(item)] : Array.isArray(item) ? item : [item]));
}

/** A provide, `provide('awk')` or `provide('libfoo.so', '1-64')`. */
export function provide(name: string, version?: string): Provide {
  return version === undefined ? { name } : { name, version };
}

export interface BinaryParts {
  depends?: DependencyClause[];
  preDepends?: DependencyClause[];
  provides?: Provide[];
  architectures?: string[];
  multiArch?: string;
}

/** A binary package of a recipe. */
export function binary(name: string, parts: BinaryParts = {}): BinaryPackage {
  return {
    name,
    architectures: parts.architectures ?? ['any'],
    depends: parts.depends ?? [],
    preDepends: parts.preDepends ?? [],
    optionalDepends: [],
    provides: parts.provides ?? [],
    conflicts: [],
    replaces: [],
    breaks: [],
    ...(parts.multiArch ? { multiArch: parts.multiArch } : {}),
  };
}

/** A binary as an archive index lists it. */
export function indexed(flavour: Flavour, name: string, version: string, parts: BinaryParts & { source?: string } = {}): IndexedBinaryPackage {
  const source = parts.source ?? name;
  return { ...binary(name, parts), version: parseVersion(flavour, version), source, sourceVersion: version, location: { file: 'Packages', line: 1 } };
}

export interface SourceParts {
  binaries?: BinaryPackage[];
  architectures?: string[];
  buildDepends?: DependencyClause[];
  buildDependsArch?: DependencyClause[];
  buildDependsIndep?: DependencyClause[];
  checkDepends?: DependencyClause[];
}

/** A source package; its binaries default to one named like it. */
export function source(flavour: Flavour, pkgbase: string, version: string, parts: SourceParts = {}): SourcePackage {
  return {
    flavour,
    pkgbase,
    version: parseVersion(flavour, version),
    architectures: parts.architectures ?? ['any'],
    binaries: parts.binaries ?? [binary(pkgbase)],
    buildDepends: parts.buildDepends ?? [],
    buildDependsArch: parts.buildDependsArch ?? [],
    buildDependsIndep: parts.buildDependsIndep ?? [],
    checkDepends: parts.checkDepends ?? [],
    buildConflicts: [],
    location: { file: `${pkgbase}/.SRCINFO`, line: 1 },
  };
}
