/**
 * pacman's version ordering (`vercmp`, libalpm's `alpm_pkg_vercmp`): epoch, then rpm's segment
 * comparison on pkgver, then pkgrel only when both sides have one.
 */

/** The `[epoch:]pkgver[-pkgrel]` parts as libalpm splits them; `release` is null without a hyphen. */
export interface PacmanEvr {
  epoch: string;
  version: string;
  release: string | null;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);
// charCodeAt past the end is NaN, which no predicate accepts: it plays the part of C's NUL.
const at = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0);

/** Splits a version the way libalpm does: leading digits before `:` are the epoch, the text after the last hyphen is the release. */
export function splitPacmanVersion(text: string): PacmanEvr {
  let s = 0;
  while (s < text.length && isDigit(text.charCodeAt(s))) s++;
  const hyphen = text.lastIndexOf('-');
  const end = hyphen >= 0 ? hyphen : text.length;
  const release = hyphen >= 0 ? text.slice(hyphen + 1) : null;
  if (text.charCodeAt(s) === 0x3a /* ':' */) {
    const epoch = text.slice(0, s);
    return { epoch: epoch === '' ? '0' : epoch, version: text.slice(s + 1, end), release };
  }
  return { epoch: '0', version: text.slice(0, end), release };
}

/** strcmp on a[i1..e1) and b[i2..e2): -1, 0 or 1. */
function compareRanges(a: string, i1: number, e1: number, b: string, i2: number, e2: number): number {
  for (; i1 < e1 && i2 < e2; i1++, i2++) {
    const d = a.charCodeAt(i1) - b.charCodeAt(i2);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return i1 < e1 ? 1 : i2 < e2 ? -1 : 0;
}

/** rpm's segment comparison as libalpm has it: alphanumeric runs compared in turn, numbers numerically, numbers newer than letters. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let one = 0;
  let two = 0;
  let ptr1 = 0;
  let ptr2 = 0;
  while (one < a.length && two < b.length) {
    while (one < a.length && !isAlnum(a.charCodeAt(one))) one++;
    while (two < b.length && !isAlnum(b.charCodeAt(two))) two++;
    if (!(one < a.length && two < b.length)) break;
    // Separators of different lengths decide on their own (`1.0` < `1..0`).
    if (one - ptr1 !== two - ptr2) return one - ptr1 < two - ptr2 ? -1 : 1;
    ptr1 = one;
    ptr2 = two;
    const isNumber = isDigit(a.charCodeAt(ptr1));
    const inSegment = isNumber ? isDigit : isAlpha;
    while (ptr1 < a.length && inSegment(a.charCodeAt(ptr1))) ptr1++;
    while (ptr2 < b.length && inSegment(b.charCodeAt(ptr2))) ptr2++;
    // A segment of the other kind counts as empty: numbers are newer than letters.
    if (two === ptr2) return isNumber ? 1 : -1;
    let start1 = one;
    let start2 = two;
    if (isNumber) {
      while (start1 < ptr1 && a.charCodeAt(start1) === 0x30) start1++;
      while (start2 < ptr2 && b.charCodeAt(start2) === 0x30) start2++;
      if (ptr1 - start1 !== ptr2 - start2) return ptr1 - start1 > ptr2 - start2 ? 1 : -1;
    }
    const rc = compareRanges(a, start1, ptr1, b, start2, ptr2);
    if (rc !== 0) return rc;
    one = ptr1;
    two = ptr2;
  }
  const restOne = at(a, one);
  const restTwo = at(b, two);
  if (restOne === 0 && restTwo === 0) return 0;
  // A trailing alpha part makes a version older (`1.0rc` < `1.0`); anything else makes it newer.
  if ((restOne === 0 && !isAlpha(restTwo)) || isAlpha(restOne)) return -1;
  return 1;
}

/** Compares two pacman versions exactly as `vercmp` does: negative, zero or positive. Any text is accepted, as by vercmp. */
export function comparePacmanVersions(a: string, b: string): number {
  if (a === b) return 0;
  const left = splitPacmanVersion(a);
  const right = splitPacmanVersion(b);
  let result = rpmvercmp(left.epoch, right.epoch);
  if (result === 0) result = rpmvercmp(left.version, right.version);
  // The release counts only when both sides give one, so that `foo>=1.5` matches 1.5-2.
  if (result === 0 && left.release !== null && right.release !== null) result = rpmvercmp(left.release, right.release);
  return result;
}
