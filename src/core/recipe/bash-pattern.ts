/**
 * Bash glob patterns (with `extglob`, which autobuild turns on before it reads `defines`) as
 * regular expressions: for `${VAR%pattern}`-style expansions and for `FAIL_ARCH` matching.
 */

/** A piece of a pattern: text that came from quotes (or a quoted expansion) matches literally. */
export interface PatternPiece {
  text: string;
  quoted: boolean;
}

/** A pattern this module cannot translate; the message says which construct. */
export class UnsupportedPatternError extends Error {
  constructor(pattern: string, reason: string) {
    super(`bash pattern "${pattern}": ${reason}`);
    this.name = 'UnsupportedPatternError';
  }
}

const EXTGLOB_PREFIXES = new Set(['?', '*', '+', '@', '!']);

const POSIX_CLASSES: Record<string, string> = {
  alnum: 'A-Za-z0-9',
  alpha: 'A-Za-z',
  digit: '0-9',
  lower: 'a-z',
  upper: 'A-Z',
  space: '\\s',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  word: '\\w',
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Translates one unquoted run of pattern text, from `start`, up to an unmatched `)` or `|` when `nested`. */
function translate(text: string, start: number, nested: boolean, whole: string): { source: string; end: number } {
  let source = '';
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (nested && (c === ')' || c === '|')) return { source, end: i };
    if (c === '\\') {
      source += escapeRegExp(text[i + 1] ?? '\\');
      i += 2;
    } else if (EXTGLOB_PREFIXES.has(c) && text[i + 1] === '(') {
      const alternatives: string[] = [];
      let j = i + 2;
      for (;;) {
        const inner = translate(text, j, true, whole);
        alternatives.push(inner.source);
        if (inner.end >= text.length) throw new UnsupportedPatternError(whole, `unclosed "${c}(" group`);
        j = inner.end + 1;
        if (text[inner.end] === ')') break;
      }
      const group = `(?:${alternatives.join('|')})`;
      if (c === '!') {
        // A negated group is only expressible on its own: "anything but these".
        if (i !== 0 || nested || j !== text.length) throw new UnsupportedPatternError(whole, '"!(...)" is supported only as the whole pattern');
        return { source: `(?!${group}$)[\\s\\S]*`, end: j };
      }
      source += c === '?' ? `${group}?` : c === '*' ? `${group}*` : c === '+' ? `${group}+` : group;
      i = j;
    } else if (c === '*') {
      source += '[\\s\\S]*';
      i += 1;
    } else if (c === '?') {
      source += '[\\s\\S]';
      i += 1;
    } else if (c === '[') {
      const bracket = translateBracket(text, i);
      if (bracket) {
        source += bracket.source;
        i = bracket.end;
      } else {
        source += '\\[';
        i += 1;
      }
    } else {
      source += escapeRegExp(c);
      i += 1;
    }
  }
  return { source, end: i };
}

/** A bracket expression `[...]` from `start`; null when unclosed (bash then matches `[` literally). */
function translateBracket(text: string, start: number): { source: string; end: number } | null {
  let i = start + 1;
  let negate = false;
  if (text[i] === '!' || text[i] === '^') {
    negate = true;
    i += 1;
  }
  let body = '';
  let first = true;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ']' && !first) return { source: `[${negate ? '^' : ''}${body}]`, end: i + 1 };
    first = false;
    if (c === '[' && text[i + 1] === ':') {
      const close = text.indexOf(':]', i + 2);
      const name = close > 0 ? text.slice(i + 2, close) : '';
      const cls = POSIX_CLASSES[name];
      if (cls !== undefined) {
        body += cls;
        i = close + 2;
        continue;
      }
    }
    if (c === '\\') {
      body += escapeRegExp(text[i + 1] ?? '\\');
      i += 2;
      continue;
    }
    body += c === '-' ? '-' : escapeRegExp(c);
    i += 1;
  }
  return null;
}

/** The regular-expression source (unanchored) of a pattern made of pieces. */
export function bashPatternSource(pieces: readonly PatternPiece[]): string {
  const whole = pieces.map((p) => p.text).join('');
  // Quoted pieces are literal; unquoted runs are translated together so a group may span them.
  let source = '';
  let unquoted = '';
  const flush = (): void => {
    if (unquoted === '') return;
    const translated = translate(unquoted, 0, false, whole);
    if (translated.end !== unquoted.length) throw new UnsupportedPatternError(whole, 'unbalanced ")"');
    source += translated.source;
    unquoted = '';
  };
  for (const piece of pieces) {
    if (piece.quoted) {
      flush();
      source += escapeRegExp(piece.text);
    } else {
      unquoted += piece.text;
    }
  }
  flush();
  return source;
}

/** A compiled pattern that matches whole strings. */
export interface BashPattern {
  matches(text: string): boolean;
}

// Recipes repeat a few patterns (`.*`, `!(amd64|arm64)`) thousands of times; compile each once.
const compiled = new Map<string, BashPattern>();
const COMPILED_MAX = 4096;

/** Compiles a bash pattern (a string is one unquoted piece). Throws UnsupportedPatternError. */
export function compileBashPattern(pattern: string | readonly PatternPiece[]): BashPattern {
  const pieces = typeof pattern === 'string' ? [{ text: pattern, quoted: false }] : pattern;
  const source = bashPatternSource(pieces);
  let found = compiled.get(source);
  if (!found) {
    const regexp = new RegExp(`^(?:${source})$`);
    found = { matches: (text) => regexp.test(text) };
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(source, found);
  }
  return found;
}

/** `${v#p}` (longest = false) and `${v##p}` (longest = true). */
export function removePrefix(value: string, pattern: BashPattern, longest: boolean): string {
  if (longest) {
    for (let n = value.length; n >= 0; n -= 1) if (pattern.matches(value.slice(0, n))) return value.slice(n);
  } else {
    for (let n = 0; n <= value.length; n += 1) if (pattern.matches(value.slice(0, n))) return value.slice(n);
  }
  return value;
}

/** `${v%p}` (longest = false) and `${v%%p}` (longest = true). */
export function removeSuffix(value: string, pattern: BashPattern, longest: boolean): string {
  if (longest) {
    for (let n = 0; n <= value.length; n += 1) if (pattern.matches(value.slice(n))) return value.slice(0, n);
  } else {
    for (let n = value.length; n >= 0; n -= 1) if (pattern.matches(value.slice(n))) return value.slice(0, n);
  }
  return value;
}

/** Where substitution is anchored: `${v/p/r}` anywhere, `${v/#p/r}` at the start, `${v/%p/r}` at the end. */
export type SubstituteAnchor = 'anywhere' | 'start' | 'end';

/** `${v/p/r}`, `${v//p/r}` (all = true), `${v/#p/r}`, `${v/%p/r}`: bash replaces the longest match. */
export function substitute(value: string, pattern: BashPattern, replacement: string, all: boolean, anchor: SubstituteAnchor): string {
  if (anchor === 'start') {
    for (let n = value.length; n >= 0; n -= 1) if (pattern.matches(value.slice(0, n))) return replacement + value.slice(n);
    return value;
  }
  if (anchor === 'end') {
    for (let n = 0; n <= value.length; n += 1) if (pattern.matches(value.slice(n))) return value.slice(0, n) + replacement;
    return value;
  }
  let result = '';
  let i = 0;
  let replaced = false;
  while (i <= value.length) {
    let matchEnd = -1;
    if (!(replaced && !all)) {
      for (let n = value.length; n > i; n -= 1) {
        if (pattern.matches(value.slice(i, n))) {
          matchEnd = n;
          break;
        }
      }
    }
    if (matchEnd > i) {
      result += replacement;
      i = matchEnd;
      replaced = true;
    } else {
      if (i < value.length) result += value[i];
      i += 1;
    }
  }
  return result;
}
