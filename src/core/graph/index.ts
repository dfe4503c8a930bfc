/** The rebuild-graph engine: binary indexes, reverse dependency closures and build-set planning. */
export { BinaryIndex, type ProvideRef } from './binary-index.js';
export { KeptGraphs } from './kept-graphs.js';
export { DependencyGraph, NEED_KINDS, resolveClause, resolveFirstAlternative, type AlternativePolicy, type NeedKind, type UnresolvedClause } from './dependency-graph.js';
export {
  dependencyGraphFor,
  GraphMismatchError,
  planBuildSet,
  UnknownSourceError,
  whyChain,
  type BuildSetPlan,
  type PlanCycle,
  type PlanEdge,
  type PlannedPackage,
  type PlanOptions,
  type UnresolvedDependency,
} from './plan.js';
export { reverseClosure, UnknownBinaryError, type ClosureMember, type ReverseClosure } from './reverse-closure.js';
export { ReverseIndex, ReverseIndexBuilder, type MentionRange } from './reverse-index.js';
export { qualifierAllows, VersionCheck } from './satisfaction.js';
export { binaryEntries, type BinaryEntry, type Universe } from './universe.js';
