/** Writing dependencies back as text, for "why" answers and reports of what cannot be resolved. */
import type { Dependency, DependencyClause } from './model.js';

/** One atom as Debian writes it: `name:qual (op version)`, without restrictions. */
export function formatDependency(dependency: Dependency): string {
  const qualified = dependency.archQualifier ? `${dependency.name}:${dependency.archQualifier}` : dependency.name;
  return dependency.constraint ? `${qualified} (${dependency.constraint.op} ${dependency.constraint.version})` : qualified;
}

/** A clause as Debian writes it: alternatives joined by ` | `. */
export function formatClause(clause: DependencyClause): string {
  return clause.map(formatDependency).join(' | ');
}
