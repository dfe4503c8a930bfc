/**
 * The source-level dependency graph of one architecture: an edge P → Q when source package P
 * *needs a binary of* Q. P needs a binary when it satisfies (through any alternative, by name or
 * by Provides, versions checked) one of P's
 *   - build dependencies: Build-Depends / makedepends / BUILDDEP (`build`), Build-Depends-Arch when
 *     P has architecture-dependent output on the architecture (`build-arch`), Build-Depends-Indep when
 *     P has `all` output (`build-indep`), checkdepends unless the `nocheck` profile is active (`check`);
 *   - or the run dependencies (Depends, Pre-Depends) of P's own binaries (`run`). Arch and AOSC install
 *     those to build P; for every flavour they are what makes P's binaries work, and what a build
 *     environment that installs P's binaries pulls in, so a build of Q can change them.
 * A clause with alternatives (`a | b`) needs what the package manager would install for it: by
 * default the first alternative that some binary satisfies (sbuild and apt take the first one they
 * can; every provider of a virtual name counts, since which one gets installed depends on the
 * machine). `alternatives: 'all'` counts every alternative instead, the reading of `dose-ceve`.
 * Every dependency is resolved once here; planning a build set is then graph traversal only.
 * A clause nothing satisfies is kept as unresolved, never dropped silently.
 */
import { clausesFor, hasArchDependent, hasArchIndependent, builtFor, type ArchView } from '../recipe/arch-view.js';
import type { BinaryPackage, DependencyClause, SourcePackage } from '../recipe/model.js';
import { formatClause } from '../recipe/dependency-text.js';
import { compareVersions } from '../version/index.js';
import { BinaryIndex } from './binary-index.js';
import { compareText } from './order.js';
import { binaryEntries, type Universe } from './universe.js';

/** Why a source needs a binary: which of its dependency fields asks for it. */
export type NeedKind = 'build' | 'build-arch' | 'build-indep' | 'check' | 'run';

export const NEED_KINDS: readonly NeedKind[] = ['build', 'build-arch', 'build-indep', 'check', 'run'];

/** Which alternatives of a clause a source needs: the first one something satisfies (what gets installed), or all of them. */
export type AlternativePolicy = 'first' | 'all';

/** A clause of a source that no binary on the architecture satisfies. */
export interface UnresolvedClause {
  kind: NeedKind;
  clause: DependencyClause;
  /** For `run`: the source's binary whose dependency it is. */
  binary?: string;
}

/**
 * Edges are stored as a compressed adjacency (edges of source `s` are `edgeStart[s]` to
 * `edgeStart[s + 1] - 1`, in target order), one edge per (P, Q) pair, with the first dependency
 * that made it as witness.
 */
export class DependencyGraph {
  /** Source packages built on the architecture, sorted by pkgbase (one per pkgbase: the highest version). Ids are positions. */
  readonly sources: readonly SourcePackage[];
  readonly sourceIds: ReadonlyMap<string, number>;
  /** `sources[id].pkgbase` as one array: parsers give sources of several shapes, and reading a name through them is slow in hot loops. */
  readonly pkgbases: readonly string[];
  readonly edgeStart: Int32Array;
  readonly edgeTarget: Int32Array;
  /** The binary (index id) of the target that satisfies the witness clause. */
  readonly edgeBinary: Int32Array;
  /** Index into NEED_KINDS. */
  readonly edgeKind: Uint8Array;
  /** For `run` edges, the index id of the source's binary whose dependency it is; -1 otherwise. */
  readonly edgeVia: Int32Array;
  readonly edgeClause: readonly DependencyClause[];
  /** Sources whose build needs one of their own binaries (a bootstrap cycle of one), with the witness edge. */
  readonly selfNeeds: ReadonlyMap<number, number>;
  readonly unresolved: ReadonlyMap<number, readonly UnresolvedClause[]>;
  /** pkgbases of the universe that are not built on the architecture. */
  readonly notBuilt: ReadonlySet<string>;
  /** How many sources had their dependencies resolved in making this graph (the others' edges were taken from a kept graph). */
  readonly resolvedSources: number;
  private reverse: { start: Int32Array; edges: Int32Array } | null = null;
  private edgeFrom: Int32Array | null = null;
  private readonly clauseTexts = new Map<DependencyClause, string>();

  /**
   * Builds the graph of `sources` over `index`. With `kept`, the edges and unresolved clauses of
   * every source the change cannot have touched are taken from the kept graph (renumbered) instead
   * of being resolved again: the result is the same as without it (see `DependencyGraph.updated`).
   */
  constructor(
    readonly index: BinaryIndex,
    sources: readonly SourcePackage[],
    readonly alternatives: AlternativePolicy = 'first',
    kept?: KeptPart,
  ) {
    const view = index.view;
    const chosen = new Map<string, SourcePackage>();
    const notBuilt = new Set<string>();
    for (const source of sources) {
      if (!builtFor(source.architectures, view.arch)) {
        notBuilt.add(source.pkgbase);
        continue;
      }
      const seen = chosen.get(source.pkgbase);
      if (!seen || newer(index, source, seen)) chosen.set(source.pkgbase, source);
    }
    for (const pkgbase of chosen.keys()) notBuilt.delete(pkgbase);
    this.notBuilt = notBuilt;
    const ordered = [...chosen.values()];
    // An index read in pkgbase order (the server's) is sorted already: checking is linear, sorting is not.
    let sorted = true;
    for (let i = 1; i < ordered.length && sorted; i++) sorted = compareText(ordered[i - 1]!.pkgbase, ordered[i]!.pkgbase) < 0;
    this.sources = sorted ? ordered : ordered.sort((a, b) => compareText(a.pkgbase, b.pkgbase));
    this.pkgbases = this.sources.map((source) => source.pkgbase);
    const sourceIds = new Map<string, number>();
    for (let id = 0; id < this.pkgbases.length; id++) sourceIds.set(this.pkgbases[id]!, id);
    this.sourceIds = sourceIds;

    // Each source's binaries, in id order: those of source s are binaryIdsOf[binaryStart[s]] to binaryIdsOf[binaryStart[s + 1] - 1].
    const n = this.sources.length;
    const entries = index.entries;
    const sourceOfBinary = new Int32Array(entries.length).fill(-1);
    const binaryStart = new Int32Array(n + 1);
    for (let id = 0; id < entries.length; id++) {
      const source = sourceIds.get(entries[id]!.source);
      if (source === undefined) continue;
      sourceOfBinary[id] = source;
      binaryStart[source + 1]!++;
    }
    for (let s = 0; s < n; s++) binaryStart[s + 1]! += binaryStart[s]!;
    const binaryFill = binaryStart.slice(0, n);
    const binaryIdsOf = new Int32Array(binaryStart[n]!);
    for (let id = 0; id < entries.length; id++) if (sourceOfBinary[id]! >= 0) binaryIdsOf[binaryFill[sourceOfBinary[id]!]!++] = id;

    const targets: number[] = [];
    const witnessBinary: number[] = [];
    const kinds: number[] = [];
    const vias: number[] = [];
    const clauses: DependencyClause[] = [];
    const stamp = new Int32Array(n).fill(-1);
    const selfNeeds = new Map<number, number>();
    const unresolved = new Map<number, UnresolvedClause[]>();
    const resolved = new Map<DependencyClause, number[]>();

    const addClauses = (s: number, kind: number, list: readonly DependencyClause[], via: number): void => {
      for (const clause of list) {
        let satisfying = resolved.get(clause);
        if (!satisfying) {
          satisfying = alternatives === 'first' ? resolveFirstAlternative(index, clause) : resolveClause(index, clause);
          resolved.set(clause, satisfying);
        }
        if (satisfying.length === 0) {
          const problem: UnresolvedClause = { kind: NEED_KINDS[kind]!, clause };
          if (via >= 0) problem.binary = index.entries[via]!.name;
          const list = unresolved.get(s);
          if (list) list.push(problem);
          else unresolved.set(s, [problem]);
          continue;
        }
        for (const binary of satisfying) {
          const target = sourceOfBinary[binary]!;
          if (target < 0 || stamp[target] === s) continue;
          if (target === s) {
            // A source's binaries depending on each other is no cycle; only a build that needs its own output is.
            if (kind === RUN) continue;
            stamp[target] = s;
            selfNeeds.set(s, targets.length);
          } else {
            stamp[target] = s;
          }
          targets.push(target);
          witnessBinary.push(binary);
          kinds.push(kind);
          vias.push(via);
          clauses.push(clause);
        }
      }
    };

    // What the kept graph can give: for each source, its id there (-1: resolve it here).
    const reuse = kept ? this.reusable(kept) : null;
    const keptIdOf = reuse?.keptIdOf;
    // Edges of the sources resolved here are collected in the arrays above: source s's from resolvedFrom[s] to resolvedFrom[s + 1] - 1.
    const resolvedFrom = new Int32Array(n + 1);
    const start = new Int32Array(n + 1);

    let resolvedSources = 0;
    for (let s = 0; s < n; s++) {
      resolvedFrom[s] = targets.length;
      const o = keptIdOf ? keptIdOf[s]! : -1;
      if (o >= 0) {
        start[s + 1] = start[s]! + kept!.graph.edgeStart[o + 1]! - kept!.graph.edgeStart[o]!;
        const problems = kept!.graph.unresolved.get(o);
        if (problems) unresolved.set(s, [...problems]);
        continue;
      }
      const source = this.sources[s]!;
      resolvedSources++;
      addClauses(s, 0, clausesFor(source.buildDepends, view), -1);
      if (hasArchDependent(source.architectures, view.arch)) addClauses(s, 1, clausesFor(source.buildDependsArch, view), -1);
      if (hasArchIndependent(source.architectures)) addClauses(s, 2, clausesFor(source.buildDependsIndep, view), -1);
      if (!view.profiles.has('nocheck')) addClauses(s, 3, clausesFor(source.checkDepends, view), -1);
      for (let i = binaryStart[s]!; i < binaryStart[s + 1]!; i++) addClauses(s, RUN, index.runClauses(binaryIdsOf[i]!), binaryIdsOf[i]!);
      start[s + 1] = start[s]! + targets.length - resolvedFrom[s]!;
    }
    resolvedFrom[n] = targets.length;
    this.resolvedSources = resolvedSources;

    // Laid out with plain loops (TypedArray.from over a typed array goes through its iterator, several
    // times slower), each source's edges in target order: a plan then lists what a package needs in
    // pkgbase order without sorting. The kept edges are in target order, and renumbering keeps that order.
    const count = start[n]!;
    const [edgeTarget, edgeBinary, edgeKind, edgeVia] = [new Int32Array(count), new Int32Array(count), new Uint8Array(count), new Int32Array(count)];
    const edgeClause = new Array<DependencyClause>(count);
    const selfAt = new Map<number, number>();
    for (let s = 0; s < n; s++) {
      let at = start[s]!;
      const o = keptIdOf ? keptIdOf[s]! : -1;
      if (o >= 0) {
        const graph = kept!.graph;
        const { idOfKept } = reuse!;
        const binaryIds = kept!.binaryIds;
        const from = graph.edgeStart[o]!;
        const self = graph.selfNeeds.get(o);
        if (self !== undefined) selfAt.set(s, at + self - from);
        for (let e = from; e < graph.edgeStart[o + 1]!; e++, at++) {
          edgeTarget[at] = idOfKept[graph.edgeTarget[e]!]!;
          edgeBinary[at] = binaryIds[graph.edgeBinary[e]!]!;
          edgeKind[at] = graph.edgeKind[e]!;
          const via = graph.edgeVia[e]!;
          edgeVia[at] = via >= 0 ? binaryIds[via]! : -1;
          edgeClause[at] = graph.edgeClause[e]!;
        }
        continue;
      }
      const [from, to] = [resolvedFrom[s]!, resolvedFrom[s + 1]!];
      const order = Array.from({ length: to - from }, (_, i) => from + i).sort((a, b) => targets[a]! - targets[b]!);
      const self = selfNeeds.get(s);
      for (const e of order) {
        if (e === self) selfAt.set(s, at);
        edgeTarget[at] = targets[e]!;
        edgeBinary[at] = witnessBinary[e]!;
        edgeKind[at] = kinds[e]!;
        edgeVia[at] = vias[e]!;
        edgeClause[at++] = clauses[e]!;
      }
    }
    this.edgeStart = start;
    this.edgeTarget = edgeTarget;
    this.edgeBinary = edgeBinary;
    this.edgeKind = edgeKind;
    this.edgeVia = edgeVia;
    this.edgeClause = edgeClause;
    this.selfNeeds = selfAt;
    this.unresolved = unresolved;
  }

  /** The graph of a universe for one architecture (and build profiles). */
  static of(universe: Universe, view: ArchView, alternatives: AlternativePolicy = 'first'): DependencyGraph {
    return new DependencyGraph(new BinaryIndex(universe.flavour, binaryEntries(universe), view), universe.sources, alternatives);
  }

  /**
   * The graph of `universe`, which differs from the one `kept` was built from only in the source
   * packages named in `changed` (added, removed or replaced; every other source package must be
   * the same object). Equal to `DependencyGraph.of(universe, kept's view, kept's alternatives)`, at
   * the cost of resolving again only the dependencies of the touched sources: the changed ones and
   * those with a dependency on a name that a binary of a changed source has (or had) or provides (or
   * provided), since no other dependency can be satisfied differently. `touched`, when given, must
   * hold at least those (KeptGraphs finds them through its index of names asked for); else the
   * universe is searched for them. A universe with its own binary index (Debian's Packages) is built afresh.
   */
  static updated(kept: DependencyGraph, universe: Universe, changed: ReadonlySet<string>, touched?: ReadonlySet<string>): DependencyGraph {
    const index = new BinaryIndex(universe.flavour, binaryEntries(universe), kept.index.view);
    const binaryIds = universe.binaries || index.flavour !== kept.index.flavour ? null : renumberedBinaries(kept.index, index, changed);
    if (!binaryIds) return new DependencyGraph(index, universe.sources, kept.alternatives);
    if (!touched) {
      const names = new Set<string>();
      for (const entries of [kept.index.entries, index.entries]) {
        for (const entry of entries) if (changed.has(entry.source)) namesOffered(entry.binary, names);
      }
      const found = new Set(changed);
      for (const source of universe.sources) {
        if (found.has(source.pkgbase)) continue;
        eachNameAskedFor(source, (name) => {
          if (names.has(name)) found.add(source.pkgbase);
        });
      }
      touched = found;
    }
    return new DependencyGraph(index, universe.sources, kept.alternatives, { graph: kept, touched, binaryIds });
  }

  /** Each source's id in the kept graph where its edges can be taken from there (else -1), and each kept id's id here (-1 when gone). */
  private reusable(kept: KeptPart): { keptIdOf: Int32Array; idOfKept: Int32Array } {
    const keptIdOf = new Int32Array(this.sources.length).fill(-1);
    const idOfKept = new Int32Array(kept.graph.sources.length).fill(-1);
    for (let s = 0; s < this.sources.length; s++) {
      const pkgbase = this.pkgbases[s]!;
      const o = kept.graph.sourceIds.get(pkgbase);
      if (o === undefined) continue;
      idOfKept[o] = s;
      if (!kept.touched.has(pkgbase)) keptIdOf[s] = o;
    }
    return { keptIdOf, idOfKept };
  }

  /** Number of edges. */
  get edgeCount(): number {
    return this.edgeTarget.length;
  }

  /** The reverse adjacency: for source `s`, the edge ids of edges into it are `edges[start[s]]` to `edges[start[s + 1] - 1]`, ascending. */
  reverseEdges(): { start: Int32Array; edges: Int32Array } {
    if (!this.reverse) {
      const n = this.sources.length;
      const start = new Int32Array(n + 1);
      for (let e = 0; e < this.edgeTarget.length; e++) start[this.edgeTarget[e]! + 1]!++;
      for (let s = 0; s < n; s++) start[s + 1]! += start[s]!;
      const fill = start.slice(0, n);
      const edges = new Int32Array(this.edgeTarget.length);
      for (let e = 0; e < this.edgeTarget.length; e++) edges[fill[this.edgeTarget[e]!]!++] = e;
      this.reverse = { start, edges };
    }
    return this.reverse;
  }

  /** The source an edge leaves from. */
  edgeSource(edge: number): number {
    return this.sourceOfEdge()[edge]!;
  }

  /** The source each edge leaves from, as one array (the reverse of `edgeStart`). */
  sourceOfEdge(): Int32Array {
    if (!this.edgeFrom) {
      const from = new Int32Array(this.edgeTarget.length);
      for (let s = 0; s < this.sources.length; s++) from.fill(s, this.edgeStart[s]!, this.edgeStart[s + 1]!);
      this.edgeFrom = from;
    }
    return this.edgeFrom;
  }

  /** A clause as text, formatted once per clause. */
  clauseText(clause: DependencyClause): string {
    let text = this.clauseTexts.get(clause);
    if (text === undefined) {
      text = formatClause(clause);
      this.clauseTexts.set(clause, text);
    }
    return text;
  }
}

const RUN = NEED_KINDS.indexOf('run');

/** What a graph built with a kept one takes from it. */
interface KeptPart {
  graph: DependencyGraph;
  /** pkgbases whose edges are resolved again: the changed ones and those asking for a name they touch. */
  touched: ReadonlySet<string>;
  /** Binary id in the kept graph's index → id in the new index (-1 for binaries of changed sources). */
  binaryIds: Int32Array;
}

/**
 * Kept index id → new index id, pairing the binaries of unchanged sources in order: both indexes
 * sort binaries alike, so those binaries come in the same order. Null when they are not the same
 * binaries (the universe changed elsewhere than it was said to): then nothing can be kept.
 */
function renumberedBinaries(kept: BinaryIndex, index: BinaryIndex, changed: ReadonlySet<string>): Int32Array | null {
  const ids = new Int32Array(kept.entries.length).fill(-1);
  const entries = index.entries;
  let j = 0;
  for (let i = 0; i < kept.entries.length; i++) {
    const entry = kept.entries[i]!;
    if (changed.has(entry.source)) continue;
    while (j < entries.length && changed.has(entries[j]!.source)) j++;
    if (j === entries.length || entries[j]!.binary !== entry.binary || entries[j]!.version !== entry.version) return null;
    ids[i] = j++;
  }
  for (; j < entries.length; j++) if (!changed.has(entries[j]!.source)) return null;
  return ids;
}

/** Calls `visit` with every name a dependency of the source or of its binaries asks for (on any architecture, with any profile, in any alternative; a name may come more than once). */
export function eachNameAskedFor(source: SourcePackage, visit: (name: string) => void): void {
  const each = (clauses: readonly DependencyClause[]): void => {
    for (const clause of clauses) for (const atom of clause) visit(atom.name);
  };
  each(source.buildDepends);
  each(source.buildDependsArch);
  each(source.buildDependsIndep);
  each(source.checkDepends);
  for (const binary of source.binaries) {
    each(binary.preDepends);
    each(binary.depends);
  }
}

/** Adds the names a binary answers to: its own and those it provides (on any architecture). */
export function namesOffered(binary: BinaryPackage, names: Set<string>): Set<string> {
  names.add(binary.name);
  for (const provide of binary.provides) names.add(provide.name);
  return names;
}

/** Every binary satisfying any alternative of the clause, ascending, each once. */
export function resolveClause(index: BinaryIndex, clause: DependencyClause): number[] {
  if (clause.length === 1) return index.resolveAtom(clause[0]!);
  const found = new Set<number>();
  for (const atom of clause) for (const id of index.resolveAtom(atom)) found.add(id);
  return [...found].sort((a, b) => a - b);
}

/** The binaries satisfying the first alternative of the clause that any binary satisfies; empty if none does. */
export function resolveFirstAlternative(index: BinaryIndex, clause: DependencyClause): number[] {
  for (const atom of clause) {
    const found = index.resolveAtom(atom);
    if (found.length > 0) return found;
  }
  return [];
}

function newer(index: BinaryIndex, a: SourcePackage, b: SourcePackage): boolean {
  try {
    return compareVersions(index.flavour, a.version.text, b.version.text) > 0;
  } catch {
    return false;
  }
}
