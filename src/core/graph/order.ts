/** The one text order the engine sorts by, so that output does not depend on the locale. */

/** Orders strings by UTF-16 code units (what `<` does), never by locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sorts positions of binaries (in place) by name, then version text, then source: the order the
 * graph engine numbers binaries in, so that answers do not depend on input order. Pass a plain
 * array: its sort (TimSort) takes the runs an archive index is already sorted in.
 */
export function sortBinaries(positions: number[], names: readonly string[], versions: readonly string[], sources: readonly string[]): number[] {
  return positions.sort((a, b) => compareText(names[a]!, names[b]!) || compareText(versions[a]!, versions[b]!) || compareText(sources[a]!, sources[b]!));
}
