/**
 * Bash glob patterns (with `extglob`, which autobuild turns on before it reads `defines`): for
 * `${VAR%pattern}`-style expansions and for `FAIL_ARCH` matching.
 *
 * Patterns compile to a Thompson NFA rather than a backtracking regular expression, so that every
 * scan is linear in the text (times the pattern's size): a recipe cannot make the parser spin with
 * `${V//*a*a*a*b/}` on a long value.
 */

/** A piece of a pattern: text that came from quotes (or a quoted expansion) matches literally. */
export interface PatternPiece {
  text: string;
  quoted: boolean;
}

/** A pattern this module cannot handle; the message says which construct. */
export class UnsupportedPatternError extends Error {
  constructor(pattern: string, reason: string) {
    super(`bash pattern "${pattern}": ${reason}`);
    this.name = 'UnsupportedPatternError';
  }
}

/** One element of a parsed pattern. */
type PatternNode =
  | { kind: 'char'; test: (c: string) => boolean }
  | { kind: 'star' }
  | { kind: 'group'; quantifier: '?' | '*' | '+' | '@'; alternatives: PatternNode[][] };

const EXTGLOB = new Set(['?', '*', '+', '@', '!']);
/** Groups nest this deep at most: parsing and compiling recurse into them. */
const MAX_GROUP_DEPTH = 32;

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

const anyChar = (): boolean => true;

function escapeClassChar(c: string): string {
  return /[\\\]^-]/.test(c) ? `\\${c}` : c;
}

/** Parses pieces into a sequence of nodes; `!(...)` is allowed only as the whole pattern, and returned apart. */
function parsePattern(pieces: readonly PatternPiece[]): { sequence: PatternNode[]; negated: PatternNode[][] | null } {
  const whole = pieces.map((p) => p.text).join('');
  // Characters with whether they are quoted (literal).
  const chars: { c: string; quoted: boolean }[] = [];
  for (const piece of pieces) for (const c of piece.text) chars.push({ c, quoted: piece.quoted });
  let i = 0;

  let depth = 0;
  const sequence = (nested: boolean): PatternNode[] => {
    const nodes: PatternNode[] = [];
    while (i < chars.length) {
      const { c, quoted } = chars[i]!;
      if (quoted) {
        nodes.push({ kind: 'char', test: (x) => x === c });
        i += 1;
        continue;
      }
      if (nested && (c === ')' || c === '|')) return nodes;
      if (c === '\\') {
        const next = chars[i + 1]?.c ?? '\\';
        nodes.push({ kind: 'char', test: (x) => x === next });
        i += 2;
      } else if (EXTGLOB.has(c) && chars[i + 1]?.c === '(' && !chars[i + 1]!.quoted) {
        const start = i;
        i += 2;
        const alternatives: PatternNode[][] = [];
        for (;;) {
          if (depth >= MAX_GROUP_DEPTH) throw new UnsupportedPatternError(whole, `groups nested more than ${MAX_GROUP_DEPTH} deep`);
          depth += 1;
          alternatives.push(sequence(true));
          depth -= 1;
          if (i >= chars.length) throw new UnsupportedPatternError(whole, `unclosed "${c}(" group`);
          const closer = chars[i]!.c;
          i += 1;
          if (closer === ')') break;
        }
        if (c === '!') {
          if (start !== 0 || nested || i !== chars.length) throw new UnsupportedPatternError(whole, '"!(...)" is supported only as the whole pattern');
          negatedGroup = alternatives;
          return nodes;
        }
        nodes.push({ kind: 'group', quantifier: c as '?' | '*' | '+' | '@', alternatives });
      } else if (c === '*') {
        if (nodes.at(-1)?.kind !== 'star') nodes.push({ kind: 'star' });
        i += 1;
      } else if (c === '?') {
        nodes.push({ kind: 'char', test: anyChar });
        i += 1;
      } else if (c === '[') {
        const bracket = parseBracket(chars, i);
        if (bracket) {
          nodes.push({ kind: 'char', test: bracket.test });
          i = bracket.end;
        } else {
          nodes.push({ kind: 'char', test: (x) => x === '[' });
          i += 1;
        }
      } else {
        nodes.push({ kind: 'char', test: (x) => x === c });
        i += 1;
      }
    }
    return nodes;
  };

  let negatedGroup: PatternNode[][] | null = null;
  const nodes = sequence(false);
  if (i < chars.length) throw new UnsupportedPatternError(whole, 'unbalanced ")"');
  return { sequence: nodes, negated: negatedGroup };
}

/** A bracket expression `[...]` from `start`; null when unclosed (bash then matches `[` literally). */
function parseBracket(chars: readonly { c: string; quoted: boolean }[], start: number): { test: (c: string) => boolean; end: number } | null {
  let i = start + 1;
  let negate = false;
  if (chars[i]?.c === '!' || chars[i]?.c === '^') {
    negate = true;
    i += 1;
  }
  let body = '';
  let first = true;
  while (i < chars.length) {
    const c = chars[i]!.c;
    if (c === ']' && !first && !chars[i]!.quoted) {
      const regexp = new RegExp(`^[${negate ? '^' : ''}${body}]$`);
      return { test: (x) => regexp.test(x), end: i + 1 };
    }
    first = false;
    if (c === '[' && chars[i + 1]?.c === ':') {
      let close = i + 2;
      while (close + 1 < chars.length && !(chars[close]!.c === ':' && chars[close + 1]!.c === ']')) close += 1;
      const name = chars.slice(i + 2, close).map((x) => x.c).join('');
      const cls = POSIX_CLASSES[name];
      if (cls !== undefined && close + 1 < chars.length) {
        body += cls;
        i = close + 2;
        continue;
      }
    }
    if (c === '\\' && !chars[i]!.quoted) {
      body += escapeClassChar(chars[i + 1]?.c ?? '\\');
      i += 2;
      continue;
    }
    body += c === '-' && !chars[i]!.quoted ? '-' : escapeClassChar(c);
    i += 1;
  }
  return null;
}

/** NFA states: a character test with one successor, an epsilon split, or the accepting state. */
type State = { kind: 'char'; test: (c: string) => boolean; next: number } | { kind: 'split'; out: number[] } | { kind: 'match' };

/** A Thompson NFA: `start` and the states, state 0 accepting. */
export interface Nfa {
  start: number;
  states: State[];
}

function buildNfa(sequence: PatternNode[], reversed: boolean): Nfa {
  const states: State[] = [{ kind: 'match' }];
  const add = (state: State): number => states.push(state) - 1;
  const compileSequence = (nodes: PatternNode[], next: number): number => {
    let at = next;
    const ordered = reversed ? nodes : [...nodes].reverse();
    for (const node of ordered) at = compileNode(node, at);
    return at;
  };
  const compileNode = (node: PatternNode, next: number): number => {
    if (node.kind === 'char') return add({ kind: 'char', test: node.test, next });
    if (node.kind === 'star') {
      const loop = add({ kind: 'split', out: [] });
      const any = add({ kind: 'char', test: anyChar, next: loop });
      (states[loop] as { out: number[] }).out.push(any, next);
      return loop;
    }
    const alternativesTo = (target: number): number[] => node.alternatives.map((alt) => compileSequence(alt, target));
    switch (node.quantifier) {
      case '@':
        return add({ kind: 'split', out: alternativesTo(next) });
      case '?':
        return add({ kind: 'split', out: [...alternativesTo(next), next] });
      case '*': {
        const loop = add({ kind: 'split', out: [] });
        (states[loop] as { out: number[] }).out.push(...alternativesTo(loop), next);
        return loop;
      }
      case '+': {
        const loop = add({ kind: 'split', out: [] });
        (states[loop] as { out: number[] }).out.push(...alternativesTo(loop), next);
        return add({ kind: 'split', out: alternativesTo(loop) });
      }
    }
  };
  const start = compileSequence(sequence, 0);
  return { start, states };
}

/** Adds `state` and everything reachable from it by epsilon moves to `into`. */
function close(nfa: Nfa, state: number, into: Set<number>): void {
  const stack = [state];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (into.has(s)) continue;
    into.add(s);
    const st = nfa.states[s]!;
    if (st.kind === 'split') for (const o of st.out) stack.push(o);
  }
}

/**
 * Runs the NFA over `text` from `from`, forwards (step 1) or backwards (step -1), calling `accept`
 * with each position at which the text read so far matches; stops when `accept` returns false or
 * no state is left.
 */
function scan(nfa: Nfa, text: string, from: number, step: 1 | -1, accept: (position: number) => boolean): void {
  let current = new Set<number>();
  close(nfa, nfa.start, current);
  let position = from;
  for (;;) {
    if (current.has(0) && !accept(position)) return;
    if (step === 1 ? position >= text.length : position <= 0) return;
    const c = step === 1 ? text[position]! : text[position - 1]!;
    const next = new Set<number>();
    for (const s of current) {
      const st = nfa.states[s]!;
      if (st.kind === 'char' && st.test(c)) close(nfa, st.next, next);
    }
    if (next.size === 0) return;
    current = next;
    position += step;
  }
}

/** A compiled pattern. */
export interface BashPattern {
  /** Whether the whole text matches. */
  matches(text: string): boolean;
  /** The forward NFA (null for a negated pattern, which supports `matches` only). */
  readonly forward: Nfa | null;
  /** The NFA of the reversed pattern, for matches that must end at a given place. */
  readonly backward: Nfa | null;
  readonly source: string;
}

function fullMatch(nfa: Nfa, text: string): boolean {
  let matched = false;
  scan(nfa, text, 0, 1, (p) => {
    if (p === text.length) matched = true;
    return true;
  });
  return matched;
}

// Recipes repeat a few patterns (`.*`, `!(amd64|arm64)`) thousands of times; compile each once.
const compiled = new Map<string, BashPattern>();
const COMPILED_MAX = 4096;

/** Compiles a bash pattern (a string is one unquoted piece). Throws UnsupportedPatternError. */
export function compileBashPattern(pattern: string | readonly PatternPiece[]): BashPattern {
  const pieces = typeof pattern === 'string' ? [{ text: pattern, quoted: false }] : pattern;
  const key = pieces.map((p) => `${p.quoted ? 'q' : 'u'}${p.text.length}:${p.text}`).join('');
  const found = compiled.get(key);
  if (found) return found;
  const source = pieces.map((p) => p.text).join('');
  const { sequence, negated } = parsePattern(pieces);
  let result: BashPattern;
  if (negated) {
    const inner = negated.map((alt) => buildNfa(alt, false));
    result = { matches: (text) => !inner.some((nfa) => fullMatch(nfa, text)), forward: null, backward: null, source };
  } else {
    const forward = buildNfa(sequence, false);
    result = { matches: (text) => fullMatch(forward, text), forward, backward: buildNfa(sequence, true), source };
  }
  if (compiled.size >= COMPILED_MAX) compiled.clear();
  compiled.set(key, result);
  return result;
}

function nfas(pattern: BashPattern): { forward: Nfa; backward: Nfa } {
  if (!pattern.forward || !pattern.backward) throw new UnsupportedPatternError(pattern.source, '"!(...)" can only be matched against a whole value');
  return { forward: pattern.forward, backward: pattern.backward };
}

/** The end of the shortest (or longest) match starting at `start`, or -1; `nonEmpty` skips the empty match. */
function matchEnd(nfa: Nfa, text: string, start: number, longest: boolean, nonEmpty: boolean): number {
  let end = -1;
  scan(nfa, text, start, 1, (p) => {
    if (nonEmpty && p === start) return true;
    end = p;
    return longest;
  });
  return end;
}

/** The start of the shortest (or longest) match ending at `end`, or -1. */
function matchStart(nfa: Nfa, text: string, end: number, longest: boolean): number {
  let start = -1;
  scan(nfa, text, end, -1, (p) => {
    start = p;
    return longest;
  });
  return start;
}

/**
 * The smallest start at or after `from` where a non-empty match begins, or -1: one pass that
 * follows every start at once, each state remembering the earliest start that reached it.
 */
function leftmostStart(nfa: Nfa, text: string, from: number): number {
  let current = new Map<number, number>();
  let best = -1;
  const enter = (into: Map<number, number>, state: number, start: number): void => {
    const reached = new Set<number>();
    close(nfa, state, reached);
    for (const s of reached) {
      const known = into.get(s);
      if (known === undefined || start < known) into.set(s, start);
    }
  };
  for (let position = from; position <= text.length; position++) {
    if (best < 0 && position < text.length) enter(current, nfa.start, position);
    const accepted = current.get(0);
    if (accepted !== undefined && accepted < position && (best < 0 || accepted < best)) best = accepted;
    if (best >= 0 && ![...current.values()].some((start) => start < best)) return best;
    if (position === text.length) break;
    const c = text[position]!;
    const next = new Map<number, number>();
    for (const [s, start] of current) {
      if (best >= 0 && start >= best) continue;
      const st = nfa.states[s]!;
      if (st.kind === 'char' && st.test(c)) enter(next, st.next, start);
    }
    current = next;
  }
  return best;
}

/** `${v#p}` (longest = false) and `${v##p}` (longest = true). */
export function removePrefix(value: string, pattern: BashPattern, longest: boolean): string {
  const end = matchEnd(nfas(pattern).forward, value, 0, longest, false);
  return end < 0 ? value : value.slice(end);
}

/** `${v%p}` (longest = false) and `${v%%p}` (longest = true). */
export function removeSuffix(value: string, pattern: BashPattern, longest: boolean): string {
  const start = matchStart(nfas(pattern).backward, value, value.length, longest);
  return start < 0 ? value : value.slice(0, start);
}

/** Where substitution is anchored: `${v/p/r}` anywhere, `${v/#p/r}` at the start, `${v/%p/r}` at the end. */
export type SubstituteAnchor = 'anywhere' | 'start' | 'end';

/** `${v/p/r}`, `${v//p/r}` (all = true), `${v/#p/r}`, `${v/%p/r}`: bash replaces the longest match. */
export function substitute(value: string, pattern: BashPattern, replacement: string, all: boolean, anchor: SubstituteAnchor): string {
  const { forward, backward } = nfas(pattern);
  if (anchor === 'start') {
    const end = matchEnd(forward, value, 0, true, false);
    return end < 0 ? value : replacement + value.slice(end);
  }
  if (anchor === 'end') {
    const start = matchStart(backward, value, value.length, true);
    return start < 0 ? value : value.slice(0, start) + replacement;
  }
  // Anywhere: the leftmost start with a non-empty match, its longest match; bash does not replace empty matches here.
  let result = '';
  let i = 0;
  let replaced = false;
  while (i < value.length && !(replaced && !all)) {
    const start = leftmostStart(forward, value, i);
    if (start < 0) break;
    const end = matchEnd(forward, value, start, true, true);
    result += value.slice(i, start) + replacement;
    i = end;
    replaced = true;
  }
  return result + value.slice(i);
}
