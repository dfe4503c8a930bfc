/** The one text order the engine sorts by, so that output does not depend on the locale. */

/** Orders strings by UTF-16 code units (what `<` does), never by locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
