/**
 * V8 makes a substring of 13 or more characters a view into its parent string. A parser that
 * slices names out of a 64 KiB chunk of an archive index and keeps them would keep every chunk,
 * the whole decompressed index, alive. This copies a string so it stands on its own.
 */

/** A copy of `text` that shares no memory with the string it was sliced from. */
export function ownCopy(text: string): string {
  if (text.length < 13) return text;
  // Flattening the concatenation makes a new sequential string; the slice then views that copy.
  return (' ' + text).slice(1);
}
