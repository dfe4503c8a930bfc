/** What the graph engine works on: the source packages of a distribution and the binaries they produce. */
import type { BinaryPackage, Flavour, IndexedBinaryPackage, SourcePackage } from '../recipe/model.js';

/**
 * A distribution's packages. Debian-style universes give the archive's binaries (`Packages`),
 * whose dependencies are known only there; Arch and AOSC recipes carry their binaries' dependencies,
 * so their universes leave `binaries` out and the sources' own binaries are used.
 */
export interface Universe {
  flavour: Flavour;
  sources: readonly SourcePackage[];
  /** Binaries as an archive index lists them. Absent: every source's `binaries`, at the source's version. */
  binaries?: readonly IndexedBinaryPackage[];
}

/** A binary package with what the engine needs beside it: its version text and the pkgbase that builds it. */
export interface BinaryEntry {
  name: string;
  version: string;
  /** The pkgbase of the source package that builds it. */
  source: string;
  binary: BinaryPackage;
}

const entriesOf = new WeakMap<Universe, readonly BinaryEntry[]>();

/** Every binary of a universe as an entry, in the universe's order (made once per universe: each architecture's index reads them). */
export function binaryEntries(universe: Universe): readonly BinaryEntry[] {
  let entries = entriesOf.get(universe);
  if (!entries) {
    entries = entriesFor(universe);
    entriesOf.set(universe, entries);
  }
  return entries;
}

function entriesFor(universe: Universe): BinaryEntry[] {
  if (universe.binaries) {
    return universe.binaries.map((binary) => ({ name: binary.name, version: binary.version.text, source: binary.source, binary }));
  }
  const entries: BinaryEntry[] = [];
  for (const source of universe.sources) {
    for (const binary of source.binaries) {
      entries.push({ name: binary.name, version: binary.version?.text ?? source.version.text, source: source.pkgbase, binary });
    }
  }
  return entries;
}
