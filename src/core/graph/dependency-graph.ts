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
import type { DependencyClause, SourcePackage } from '../recipe/model.js';
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
  private reverse: { start: Int32Array; edges: Int32Array } | null = null;
  private edgeFrom: Int32Array | null = null;
  private readonly clauseTexts = new Map<DependencyClause, string>();

  constructor(
    readonly index: BinaryIndex,
    sources: readonly SourcePackage[],
    readonly alternatives: AlternativePolicy = 'first',
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
    this.sources = [...chosen.values()].sort((a, b) => compareText(a.pkgbase, b.pkgbase));
    this.pkgbases = this.sources.map((source) => source.pkgbase);
    const sourceIds = new Map<string, number>();
    this.sources.forEach((source, id) => sourceIds.set(source.pkgbase, id));
    this.sourceIds = sourceIds;

    const binariesOf = new Map<number, number[]>();
    const sourceOfBinary = new Int32Array(index.entries.length).fill(-1);
    index.entries.forEach((entry, id) => {
      const source = sourceIds.get(entry.source);
      if (source === undefined) return;
      sourceOfBinary[id] = source;
      const list = binariesOf.get(source);
      if (list) list.push(id);
      else binariesOf.set(source, [id]);
    });

    const targets: number[] = [];
    const witnessBinary: number[] = [];
    const kinds: number[] = [];
    const vias: number[] = [];
    const clauses: DependencyClause[] = [];
    const start = new Int32Array(this.sources.length + 1);
    const stamp = new Int32Array(this.sources.length).fill(-1);
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

    this.sources.forEach((source, s) => {
      start[s] = targets.length;
      addClauses(s, 0, clausesFor(source.buildDepends, view), -1);
      if (hasArchDependent(source.architectures, view.arch)) addClauses(s, 1, clausesFor(source.buildDependsArch, view), -1);
      if (hasArchIndependent(source.architectures)) addClauses(s, 2, clausesFor(source.buildDependsIndep, view), -1);
      if (!view.profiles.has('nocheck')) addClauses(s, 3, clausesFor(source.checkDepends, view), -1);
      for (const binary of binariesOf.get(s) ?? []) addClauses(s, RUN, index.runClauses(binary), binary);
    });
    start[this.sources.length] = targets.length;

    // Each source's edges in target order: a plan then lists what a package needs in pkgbase order without sorting.
    const order = new Int32Array(targets.length);
    for (let e = 0; e < order.length; e++) order[e] = e;
    for (let s = 0; s < this.sources.length; s++) {
      if (start[s + 1]! - start[s]! > 1) order.subarray(start[s]!, start[s + 1]!).sort((a, b) => targets[a]! - targets[b]!);
    }
    const position = new Int32Array(order.length);
    order.forEach((e, at) => (position[e] = at));
    this.edgeStart = start;
    this.edgeTarget = Int32Array.from(order, (e) => targets[e]!);
    this.edgeBinary = Int32Array.from(order, (e) => witnessBinary[e]!);
    this.edgeKind = Uint8Array.from(order, (e) => kinds[e]!);
    this.edgeVia = Int32Array.from(order, (e) => vias[e]!);
    this.edgeClause = Array.from(order, (e) => clauses[e]!);
    this.selfNeeds = new Map([...selfNeeds].map(([s, e]) => [s, position[e]!]));
    this.unresolved = unresolved;
  }

  /** The graph of a universe for one architecture (and build profiles). */
  static of(universe: Universe, view: ArchView, alternatives: AlternativePolicy = 'first'): DependencyGraph {
    return new DependencyGraph(new BinaryIndex(universe.flavour, binaryEntries(universe), view), universe.sources, alternatives);
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
