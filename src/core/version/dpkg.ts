/**
 * dpkg's version ordering (`dpkg --compare-versions`), which Debian and AOSC share: epoch
 * numerically, then upstream version and revision with dpkg's character order, in which `~`
 * sorts before everything (even the end), letters before other characters, and digit runs numerically.
 */
import { InvalidVersionError } from './errors.js';

/** A version split the way dpkg splits it. The revision is '' when absent (dpkg treats '' and '0' alike). */
export interface DpkgVersion {
  epoch: number;
  upstream: string;
  revision: string;
  /** Whether the text had a revision (a hyphen); dpkg compares the same either way. */
  hasRevision: boolean;
}

const INT_MAX = 2147483647;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

/**
 * Splits a version as dpkg's parseversion does, with its hard errors (empty, embedded blanks, a bad
 * epoch, nothing after the colon, an empty revision) as InvalidVersionError. dpkg only warns about
 * odd characters or an upstream version not starting with a digit, and so do we: those compare.
 * One pass over the characters, no regex: every version of an archive index goes through here.
 */
export function splitDebianVersion(text: string): DpkgVersion {
  // dpkg trims blanks (space, tab) only; any other control character it would keep and compare, we refuse.
  let from = 0;
  let to = text.length;
  while (from < to && isBlank(text.charCodeAt(from))) from++;
  while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
  if (from === to) throw new InvalidVersionError(text, 'version string is empty');
  let blank = false;
  let control = false;
  let colon = -1;
  let hyphen = -1;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2d) hyphen = i;
    else if (c === 0x3a) {
      if (colon < 0) colon = i;
    } else if (isBlank(c)) {
      blank = true;
    } else if (c < 0x20 || c === 0x7f) {
      control = true;
    }
  }
  if (blank) throw new InvalidVersionError(text, 'version string has embedded spaces');
  if (control) throw new InvalidVersionError(text, 'version string contains a control character');
  let epoch = 0;
  let rest = from;
  if (colon >= 0) {
    // dpkg reads the epoch with strtol, which takes a sign.
    let digits = from;
    const sign = text.charCodeAt(from);
    if (sign === 0x2b || sign === 0x2d) digits++;
    let end = digits;
    while (end < colon && isDigit(text.charCodeAt(end))) end++;
    if (end === digits) throw new InvalidVersionError(text, 'epoch in version is empty', 'epoch');
    if (end !== colon) throw new InvalidVersionError(text, 'epoch in version is not number', 'epoch');
    epoch = Number(text.slice(from, colon));
    if (epoch < 0) throw new InvalidVersionError(text, 'epoch in version is negative', 'epoch');
    if (epoch > INT_MAX) throw new InvalidVersionError(text, 'epoch in version is too big', 'epoch');
    rest = colon + 1;
    if (rest === to) throw new InvalidVersionError(text, 'nothing after colon in version number', 'upstream');
  }
  // The last hyphen splits off the revision; one inside the epoch (a sign) does not count.
  if (hyphen < rest) hyphen = -1;
  const upstream = text.slice(rest, hyphen >= 0 ? hyphen : to);
  const revision = hyphen >= 0 ? text.slice(hyphen + 1, to) : '';
  if (hyphen >= 0 && revision === '') throw new InvalidVersionError(text, 'revision number is empty', 'release');
  if (upstream === '') throw new InvalidVersionError(text, 'version number is empty', 'upstream');
  return { epoch, upstream, revision, hasRevision: hyphen >= 0 };
}

// dpkg's weight of one character in a non-digit run; 0 stands for the end of the string and digits.
function order(c: number): number {
  if (c === 0 || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 0x7e /* '~' */) return -1;
  return c + 256;
}

const at = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0);

/** dpkg's comparison of one upstream version or revision: alternating non-digit and digit runs. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(at(a, i));
      const bc = order(at(b, j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (at(a, i) === 0x30) i++;
    while (at(b, j) === 0x30) j++;
    while (isDigit(at(a, i)) && isDigit(at(b, j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(at(a, i))) return 1;
    if (isDigit(at(b, j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Compares two split versions: epoch, upstream, revision. */
export function compareDpkgParts(a: DpkgVersion, b: DpkgVersion): number {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? 1 : -1;
  const upstream = verrevcmp(a.upstream, b.upstream);
  if (upstream !== 0) return upstream;
  return verrevcmp(a.revision, b.revision);
}

/** Compares two Debian (or AOSC) versions as `dpkg --compare-versions` does: negative, zero or positive. Throws InvalidVersionError where dpkg refuses the text. */
export function compareDebianVersions(a: string, b: string): number {
  return Math.sign(compareDpkgParts(splitDebianVersion(a), splitDebianVersion(b)));
}
