/**
 * Debian relationship fields (Depends, Build-Depends, Provides, ...; Debian Policy §7.1):
 * `a (>= 1) [amd64 !i386] <!nocheck> <stage1 cross> | b:any, c` into the recipe model.
 *
 * A hand-written scanner, because it runs over every relationship field of a whole archive.
 * A malformed clause becomes an issue with its file and line and is left out (dropping one
 * alternative would make the clause stricter than written); the rest of the field is kept.
 */
import type { Dependency, DependencyClause, ParseIssue, Provide, VersionOperator } from './model.js';

/** Where a field's value starts: the file and the line of the field's name. */
export interface FieldPlace {
  file: string;
  line: number;
  /** The field's name, for messages. */
  field: string;
}

/**
 * Substitution variables (`${shlibs:Depends}`) met in a field. debian/control has them;
 * with a collector they are gathered here instead of being reported as issues.
 */
export interface SubstvarCollector {
  /** Each `${...}` as written, in order. */
  found: string[];
  /** Values for the variables that can be resolved (e.g. `binary:Version`); the rest stay unresolved. */
  values?: ReadonlyMap<string, string>;
}

const SPACE = 32;
const TAB = 9;
const NEWLINE = 10;
const COMMA = 44;
const PIPE = 124;
const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const OPEN_BRACKET = 91;
const LESS = 60;
const GREATER = 62;
const EQUALS = 61;
const COLON = 58;
const DOLLAR = 36;
const OPEN_BRACE = 123;
const BANG = 33;

/**
 * The lists being read are gathered here and copied out at their exact size: V8 gives an array its
 * first push room for 17 elements, and a parsed archive keeps hundreds of thousands of one- or
 * two-element lists. (Parsing is never re-entered, so one of each serves every call.)
 */
const gathered: { clauses: DependencyClause[]; atoms: Dependency[] } = { clauses: [], atoms: [] };

/** Thrown inside the scanner only; caught per clause and turned into an issue. */
class ClauseError {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/**
 * Recently parsed clauses by their text, shared between the fields of one index: in an archive
 * most clauses ("libc6 (>= 2.34)") recur thousands of times, and sharing them saves most of the
 * allocation (and so the garbage collection) of parsing it. It is a direct-mapped table of fixed
 * size, compared in place: a hit makes no string, and the table stays small enough for the
 * processor's cache, which a Map of every clause of an archive does not. A clause from a cache
 * is the same object in every field that has it: the parsed model is read-only. (It is not
 * frozen: Object.freeze on every cached clause costs about a tenth of parsing an archive.)
 */
export class ClauseCache {
  private readonly keys: (string | undefined)[];
  private readonly clauses: (DependencyClause | undefined)[];
  /** Each slot's full hash: most misses are told apart here, without reading the key string. */
  private readonly hashes: Int32Array;
  private readonly mask: number;
  /** The last lookup's hash and slot, for `remember`. */
  private hash = 0;
  private slot = 0;

  /** `size` is rounded up to a power of two. */
  constructor(size = 1 << 14) {
    let slots = 1;
    while (slots < size) slots <<= 1;
    this.mask = slots - 1;
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.clauses = new Array<DependencyClause | undefined>(slots).fill(undefined);
    this.hashes = new Int32Array(slots);
  }

  /** The cached clause whose text is text[start, end), if any. `remember` then caches one for that text. */
  lookup(text: string, start: number, end: number): DependencyClause | undefined {
    // FNV-1a over the UTF-16 code units: cheap, and spreads clause texts well enough.
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    const slot = (hash ^ (hash >>> 15)) & this.mask;
    this.hash = hash;
    this.slot = slot;
    if (this.hashes[slot] !== hash) return undefined;
    const key = this.keys[slot];
    if (key === undefined || key.length !== end - start) return undefined;
    // A loop, not startsWith: V8 runs that in its runtime, far slower for strings this short.
    for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) !== text.charCodeAt(start + i)) return undefined;
    return this.clauses[slot];
  }

  /** Caches `clause` for the text of the last lookup (`key`), in place of what that slot held. */
  remember(key: string, clause: DependencyClause): void {
    this.hashes[this.slot] = this.hash;
    this.keys[this.slot] = key;
    this.clauses[this.slot] = clause;
  }
}

export interface RelationOptions {
  substvars?: SubstvarCollector;
  /** Share clauses through this cache (not used together with `substvars`). */
  cache?: ClauseCache;
}

/** Parses a relationship field (Depends, Build-Depends, Conflicts, ...) into clauses of alternatives. */
export function parseRelations(value: string, at: FieldPlace, issues: ParseIssue[], options: RelationOptions = {}): DependencyClause[] {
  const scanner = new Scanner(value, options.substvars);
  const cache = options.substvars ? undefined : options.cache;
  const clauses = gathered.clauses;
  clauses.length = 0;
  while (scanner.more()) {
    const start = scanner.pos;
    let end = -1;
    if (cache) {
      end = clauseEnd(value, start);
      const cached = cache.lookup(value, start, end);
      if (cached) {
        clauses.push(cached);
        scanner.pos = end;
        continue;
      }
    }
    try {
      const clause = scanner.clause();
      if (clause.length > 0) {
        if (end >= 0) cache!.remember(value.slice(start, end), clause);
        clauses.push(clause);
      }
    } catch (error) {
      if (!(error instanceof ClauseError)) throw error;
      issues.push({ file: at.file, line: lineAt(value, error.offset, at.line), message: `${at.field}: ${error.message} in "${clauseText(value, start)}"; clause left out` });
      scanner.skipClause();
    }
  }
  return clauses.slice();
}

/** Where the clause at `start` ends: at its comma (or the end), less trailing whitespace. */
function clauseEnd(value: string, start: number): number {
  let end = value.indexOf(',', start);
  if (end < 0) end = value.length;
  while (end > start && isSpace(value.charCodeAt(end - 1))) end--;
  return end;
}

/** Parses a Provides field: names with an optional `(= version)`, no alternatives. */
export function parseProvides(value: string, at: FieldPlace, issues: ParseIssue[], options: RelationOptions = {}): Provide[] {
  const provides: Provide[] = [];
  for (const clause of parseRelations(value, at, issues, options)) {
    const atom = clause[0]!;
    let problem: string | null = null;
    if (clause.length > 1) problem = 'alternatives ("|") are not allowed in Provides';
    else if (atom.constraint && atom.constraint.op !== '=') problem = `only "=" versions are allowed in Provides, found "${atom.constraint.op}"`;
    else if (atom.profiles) problem = 'build profiles are not allowed in Provides';
    if (problem) {
      issues.push({ file: at.file, line: at.line, message: `${at.field}: ${problem} ("${clause.map((d) => d.name).join(' | ')}"); left out` });
      continue;
    }
    const provide: Provide = { name: atom.archQualifier ? `${atom.name}:${atom.archQualifier}` : atom.name };
    if (atom.constraint) provide.version = atom.constraint.version;
    if (atom.arches) provide.arches = atom.arches;
    provides.push(provide);
  }
  return exactSize(provides);
}

class Scanner {
  pos = 0;
  private readonly end: number;

  constructor(
    private readonly text: string,
    private readonly substvars: SubstvarCollector | undefined,
  ) {
    this.end = text.length;
  }

  /** Skips whitespace and empty clauses (`a, , b` and a trailing comma are accepted); true if a clause follows. */
  more(): boolean {
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.end) return false;
      if (this.text.charCodeAt(this.pos) !== COMMA) return true;
      this.pos++;
    }
  }

  /** After an error: on to the next comma. */
  skipClause(): void {
    const comma = this.text.indexOf(',', this.pos);
    this.pos = comma < 0 ? this.end : comma + 1;
  }

  /** Reads one clause up to its comma (consumed) or the end. */
  clause(): DependencyClause {
    const clause = gathered.atoms;
    clause.length = 0;
    for (;;) {
      this.skipSpace();
      const atom = this.atom();
      if (atom) clause.push(atom);
      this.skipSpace();
      if (this.pos >= this.end) return clause.slice();
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c === COMMA) return clause.slice();
      if (c !== PIPE) throw new ClauseError(this.pos - 1, `unexpected "${String.fromCharCode(c)}"`);
    }
  }

  /** One alternative; null for a substitution variable that stands for whole atoms. */
  private atom(): Dependency | null {
    const text = this.text;
    const start = this.pos;
    if (text.charCodeAt(start) === DOLLAR && text.charCodeAt(start + 1) === OPEN_BRACE) {
      this.substvar();
      return null;
    }
    const name = this.name();
    let qualifier: string | undefined;
    if (this.peek() === COLON) {
      this.pos++;
      qualifier = this.name();
    }
    this.skipSpace();
    let c = this.peek();
    let constraint: Dependency['constraint'] | null = null;
    if (c === OPEN_PAREN) {
      this.pos++;
      constraint = this.constraint();
      this.skipSpace();
      c = this.peek();
    }
    // Made with its common properties at once: adding one later would cost V8 an extra allocation.
    const dependency: Dependency = constraint ? { name, constraint } : { name };
    if (qualifier !== undefined) dependency.archQualifier = qualifier;
    if (c === OPEN_BRACKET) {
      this.pos++;
      dependency.arches = this.arches();
      this.skipSpace();
      c = this.peek();
    }
    while (c === LESS) {
      this.pos++;
      (dependency.profiles ??= []).push(this.profileTerms());
      this.skipSpace();
      c = this.peek();
    }
    if (this.pos < this.end && c !== COMMA && c !== PIPE) {
      throw new ClauseError(this.pos, `unexpected "${text[this.pos]}" after "${text.slice(start, this.pos).trim()}"`);
    }
    return dependency;
  }

  /** A `${...}` standing for whole atoms: collected, or an error where none may appear. */
  private substvar(): string {
    const close = this.text.indexOf('}', this.pos);
    if (close < 0) throw new ClauseError(this.pos, 'unterminated "${"');
    const variable = this.text.slice(this.pos, close + 1);
    if (!this.substvars) throw new ClauseError(this.pos, `unresolved substitution variable ${variable}`);
    this.substvars.found.push(variable);
    this.pos = close + 1;
    return variable;
  }

  /** A package name (or architecture qualifier): starts alphanumeric, then alphanumerics and `+-._`. */
  private name(): string {
    const text = this.text;
    const start = this.pos;
    let i = start;
    for (; i < this.end; i++) {
      const c = text.charCodeAt(i);
      // a-z 0-9 first (the common case), then A-Z and + - . _
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) continue;
      if ((c >= 65 && c <= 90) || ((c === 43 || c === 45 || c === 46 || c === 95) && i > start)) continue;
      break;
    }
    if (i === start) {
      if (i >= this.end || text.charCodeAt(i) === COMMA) throw new ClauseError(i, 'missing package name');
      if (text.charCodeAt(i) === DOLLAR && text.charCodeAt(i + 1) === OPEN_BRACE) throw new ClauseError(i, `substitution variable ${text.slice(i, text.indexOf('}', i) + 1 || this.end)} where a name belongs`);
      throw new ClauseError(i, `expected a package name, found "${text[i]}"`);
    }
    this.pos = i;
    return text.slice(start, i);
  }

  /** `op version)` after the `(`. */
  private constraint(): { op: VersionOperator; version: string } | null {
    const text = this.text;
    this.skipSpace();
    const c = text.charCodeAt(this.pos);
    const d = text.charCodeAt(this.pos + 1);
    let op: VersionOperator;
    let length = 2;
    if (c === LESS) {
      // The obsolete single `<` and `>` mean `<=` and `>=`.
      op = d === LESS ? '<' : '<=';
      if (d !== LESS && d !== EQUALS) length = 1;
    } else if (c === GREATER) {
      op = d === GREATER ? '>' : '>=';
      if (d !== GREATER && d !== EQUALS) length = 1;
    } else if (c === EQUALS) {
      op = '=';
      length = 1;
    } else {
      throw new ClauseError(this.pos, 'expected a relation (<<, <=, =, >=, >>) after "("');
    }
    this.pos += length;
    this.skipSpace();
    // One pass to the ")": it finds the end, and whether the version needs a closer look.
    const from = this.pos;
    let close = from;
    let unusual = false;
    for (; close < this.end; close++) {
      const v = text.charCodeAt(close);
      if (v === CLOSE_PAREN) break;
      if (v === COMMA) throw new ClauseError(from, 'missing ")"');
      if (v <= SPACE || v === OPEN_PAREN || v === PIPE || v === DOLLAR) unusual = true;
    }
    if (close >= this.end) throw new ClauseError(from, 'missing ")"');
    let to = close;
    while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
    this.pos = close + 1;
    if (from === to) throw new ClauseError(from, `missing version after "${op}"`);
    let version = text.slice(from, to);
    if (unusual) {
      for (let i = 0; i < version.length; i++) {
        const v = version.charCodeAt(i);
        if (isSpace(v) || v === OPEN_PAREN || v === PIPE) throw new ClauseError(from + i, `malformed version "${version}"`);
      }
      if (version.includes('${')) {
        const resolved = this.resolveVersion(version, from);
        if (resolved === null) return null;
        version = resolved;
      }
    }
    return { op, version };
  }

  /** A version made of substitution variables: resolved from the collector's values, or dropped (and collected). */
  private resolveVersion(version: string, offset: number): string | null {
    if (!this.substvars) throw new ClauseError(offset, `unresolved substitution variable in version "${version}"`);
    const values = this.substvars.values;
    let unresolved = false;
    const resolved = version.replace(/\$\{([^}]*)\}/g, (whole, variable: string) => {
      const value = values?.get(variable);
      if (value === undefined) {
        unresolved = true;
        this.substvars!.found.push(whole);
        return whole;
      }
      return value;
    });
    return unresolved ? null : resolved;
  }

  /** `amd64 !i386 linux-any]` after the `[`: all negated or none. */
  private arches(): { negated: boolean; arches: string[] } {
    const text = this.text;
    const close = this.closing(']');
    const arches: string[] = [];
    let negated: boolean | null = null;
    for (const word of words(text, this.pos, close)) {
      const not = word.charCodeAt(0) === BANG;
      const arch = not ? word.slice(1) : word;
      if (!isArchitecture(arch)) throw new ClauseError(this.pos, `malformed architecture "${word}"`);
      if (negated !== null && negated !== not) throw new ClauseError(this.pos, 'architecture list mixes negated and plain architectures');
      negated = not;
      arches.push(arch);
    }
    if (arches.length === 0) throw new ClauseError(this.pos, 'empty architecture list "[]"');
    this.pos = close + 1;
    return { negated: negated === true, arches };
  }

  /** `!nocheck stage1>` after the `<`: one conjunction of profile terms. */
  private profileTerms(): string[] {
    const text = this.text;
    const close = this.closing('>');
    const terms = words(text, this.pos, close);
    if (terms.length === 0) throw new ClauseError(this.pos, 'empty build profile "<>"');
    for (const term of terms) {
      if (!isArchitecture(term.charCodeAt(0) === BANG ? term.slice(1) : term)) throw new ClauseError(this.pos, `malformed build profile "${term}"`);
    }
    this.pos = close + 1;
    return terms;
  }

  /** Where `bracket` closes what was just opened; a missing one is an error, also when the clause ends first. */
  private closing(bracket: string): number {
    const close = this.text.indexOf(bracket, this.pos);
    const comma = this.text.indexOf(',', this.pos);
    if (close < 0 || (comma >= 0 && comma < close)) throw new ClauseError(this.pos, `missing "${bracket}"`);
    return close;
  }

  /**
   * The character at the scan position, or -1 at the end. (Reading past the end gives NaN, which
   * costs optimised code a deoptimisation the first time at each place it happens.)
   */
  private peek(): number {
    return this.pos < this.end ? this.text.charCodeAt(this.pos) : -1;
  }

  private skipSpace(): void {
    while (this.pos < this.end && isSpace(this.text.charCodeAt(this.pos))) this.pos++;
  }
}

/** A list copied to its exact size (see `gathered`). */
function exactSize<T>(list: T[]): T[] {
  return list.length === 0 || list.length > 16 ? list : list.slice();
}

function isSpace(c: number): boolean {
  return c === SPACE || c === NEWLINE || c === TAB;
}

/** Lower-case alphanumerics and `-` (architecture names, wildcards, profile names). */
function isArchitecture(word: string): boolean {
  if (word.length === 0) return false;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46)) return false;
  }
  return true;
}

function words(text: string, from: number, to: number): string[] {
  const out: string[] = [];
  let i = from;
  while (i < to) {
    while (i < to && isSpace(text.charCodeAt(i))) i++;
    const start = i;
    while (i < to && !isSpace(text.charCodeAt(i))) i++;
    if (i > start) out.push(text.slice(start, i));
  }
  return out;
}

function lineAt(text: string, offset: number, first: number): number {
  let line = first;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function clauseText(text: string, start: number): string {
  const comma = text.indexOf(',', start);
  const clause = text.slice(start, comma < 0 ? text.length : comma).replace(/\s+/g, ' ').trim();
  return clause.length > 80 ? `${clause.slice(0, 77)}...` : clause;
}
