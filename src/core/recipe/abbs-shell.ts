/**
 * Reading abbs's shell-variable files (`spec`, `autobuild/defines`) the way bash would evaluate
 * their assignments, without running bash: `KEY=value` and `KEY+=value`, arrays `KEY=( ... )`,
 * single, double and `$'...'` quoting, backslash line continuations, comments, `$VAR`/`${VAR}`
 * references and the parameter expansions abbs trees use (`${V:-w}`, `${V:+w}`, `${V:off:len}`,
 * `${V#p}`, `${V##p}`, `${V%p}`, `${V%%p}`, `${V/p/r}`, `${V//p/r}`, `${V/#p/r}`, `${V/%p/r}`,
 * `${V^^}`, `${V,,}`, `${#V}`, `${A[@]}`).
 *
 * What cannot be evaluated statically (command substitution, arithmetic, `if`/`case` blocks,
 * commands) never stops the reader: the construct becomes a *problem* attached to every variable
 * whose value depends on it, so a caller reports it only when it reads that variable.
 * Function definitions (`build() { ... }`) are skipped: they assign nothing.
 */
import type { ParseIssue } from './model.js';
import { compileBashPattern, removePrefix, removeSuffix, substitute, UnsupportedPatternError, type PatternPiece } from './bash-pattern.js';

/** One variable as bash would hold it after the file ran. */
export interface ShellVariable {
  /** The value (an array's elements joined by spaces, as `${A[*]}` gives them). */
  value: string;
  /** The elements, when the variable was assigned as an array. */
  elements?: string[];
  /** Where it was (last) assigned. */
  file: string;
  line: number;
  /** Why the value may differ from what bash computes: unsupported constructs it depends on, directly or through other variables. */
  problems: ParseIssue[];
  /** Unset variables its value referred to (bash expands them to nothing, and so does the reader), directly or through other variables. */
  unset: UnsetReference[];
}

/** A reference to a variable that was not set at that point. */
export interface UnsetReference {
  name: string;
  file: string;
  line: number;
}

/** Variables by name. */
export type ShellScope = Map<string, ShellVariable>;

/** What a file gave: its variables (with any inherited ones) and the problems that concern the file as a whole (syntax). */
export interface ShellReadResult {
  variables: ShellScope;
  issues: ParseIssue[];
}

const isNameStart = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 0x30 && c <= 0x39);
/** Expansions nest this deep at most (the reader recurses into them; real recipes nest two or three). */
const MAX_NESTING = 64;
/** Pattern expansions cost up to the square of the value's length in contrived cases; real recipes stay far below this. */
const PATTERN_SUBJECT_MAX = 8192;
/** A run of characters an unquoted word takes literally. */
const LITERAL_RUN = /[^\s;&|<>()\\'"$`]+/y;
const BLANK = new Set([' ', '\t', '\r']);
/** Characters that end an unquoted word. */
const WORD_END = new Set([' ', '\t', '\r', '\n', ';', '&', '|', '<', '>', '(', ')']);
const COMPOUND_KEYWORDS = new Map([
  ['if', 'fi'],
  ['case', 'esac'],
  ['for', 'done'],
  ['while', 'done'],
  ['until', 'done'],
  ['select', 'done'],
]);
const DECLARATION_KEYWORDS = new Set(['export', 'readonly', 'declare', 'typeset', 'local']);

/** A value under construction: its pieces (quoted or not, for patterns) and the problems met on the way. */
interface Word {
  pieces: PatternPiece[];
  problems: ParseIssue[];
  unset?: UnsetReference[];
  /** Array elements a `"${A[@]}"` expansion spliced in (only meaningful inside `( ... )`). */
  splice?: string[];
}

/** What a value depends on: the problems and unset references of the parts it was made of. */
function dependencies(word: Pick<Word, 'problems' | 'unset'>): Pick<Word, 'problems' | 'unset'> {
  return word.unset && word.unset.length > 0 ? { problems: word.problems, unset: word.unset } : { problems: word.problems };
}

/** Adds what `part` depends on to `into`. */
function absorb(into: Word, part: Pick<Word, 'problems' | 'unset'>): void {
  into.problems = mergeProblems(into.problems, part.problems);
  if (part.unset && part.unset.length > 0) into.unset = mergeUnset(into.unset ?? [], part.unset);
}

function text(word: Word): string {
  return word.pieces.map((p) => p.text).join('');
}

/** Reads a shell-variable file. `inherited` variables are visible to it (e.g. `spec`'s, for `defines`). */
export function readShellVariables(source: string, file: string, inherited?: ShellScope): ShellReadResult {
  return new ShellReader(source, file, new Map(inherited)).run();
}

class ShellReader {
  private pos = 0;
  private readonly lineStarts: number[] = [0];
  private readonly issues: ParseIssue[] = [];
  /** The variable being assigned: `X="$X more"` with X unset is the usual idiom, not a mistake. */
  private target = '';
  /** How many `${` the reader is inside. */
  private depth = 0;

  constructor(
    private readonly src: string,
    private readonly file: string,
    private readonly scope: ShellScope,
  ) {
    for (let i = 0; i < src.length; i += 1) if (src[i] === '\n') this.lineStarts.push(i + 1);
  }

  run(): ShellReadResult {
    while (this.pos < this.src.length) this.statement();
    return { variables: this.scope, issues: this.issues };
  }

  private lineAt(pos: number): number {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  private problem(pos: number, message: string): ParseIssue {
    return { file: this.file, line: this.lineAt(pos), message };
  }

  private unsetReference(name: string, at: number): UnsetReference[] {
    return name === this.target ? [] : [{ name, file: this.file, line: this.lineAt(at) }];
  }

  private peek(offset = 0): string {
    return this.src[this.pos + offset] ?? '';
  }

  private skipBlanks(): void {
    for (;;) {
      const c = this.peek();
      if (BLANK.has(c)) this.pos += 1;
      else if (c === '\\' && this.peek(1) === '\n') this.pos += 2;
      else return;
    }
  }

  private skipComment(): void {
    while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos += 1;
  }

  private matchName(at = this.pos): string | null {
    if (!isNameStart(this.src.charCodeAt(at))) return null;
    let end = at + 1;
    while (end < this.src.length && isNameChar(this.src.charCodeAt(end))) end += 1;
    return this.src.slice(at, end);
  }

  /** The first word of a command, as written (for keywords and messages). */
  private bareWord(): string {
    const m = /^[^\s;&|<>()]*/.exec(this.src.slice(this.pos, this.pos + 200));
    return m ? m[0] : '';
  }

  private statement(): void {
    this.skipBlanks();
    const c = this.peek();
    if (c === '') return;
    if (c === '\n' || c === ';') {
      this.pos += 1;
      return;
    }
    if (c === '#') {
      this.skipComment();
      return;
    }
    const start = this.pos;
    const name = this.matchName();
    if (name !== null && this.isAssignmentAt(start)) {
      this.assignments();
      return;
    }
    const word = this.bareWord();
    if (DECLARATION_KEYWORDS.has(word)) {
      this.declaration(word);
      return;
    }
    if (this.functionDefinition()) return;
    const closing = COMPOUND_KEYWORDS.get(word);
    if (closing !== undefined) {
      this.compound(word, closing);
      return;
    }
    // Any other command, a test (`[[ ... ]] && X=1`) or a group (`{ ...; }`, `( ... )`) included.
    this.skipCommand(start, word || c);
  }

  private isAssignmentAt(at: number): boolean {
    const name = this.matchName(at);
    if (name === null) return false;
    const after = at + name.length;
    return this.src[after] === '=' || (this.src[after] === '+' && this.src[after + 1] === '=');
  }

  /** `export A=1 B=2`, `declare -a X=(...)`: assignments after the keyword; a bare `export A` assigns nothing. */
  private declaration(keyword: string): void {
    this.pos += keyword.length;
    for (;;) {
      this.skipBlanks();
      const c = this.peek();
      if (c === '' || c === '\n' || c === ';' || c === '#') return;
      if (c === '-') {
        while (this.pos < this.src.length && !WORD_END.has(this.src[this.pos]!)) this.pos += 1;
        continue;
      }
      if (this.isAssignmentAt(this.pos)) {
        this.assignment();
        continue;
      }
      const name = this.matchName();
      if (name === null) {
        this.skipCommand(this.pos, keyword);
        return;
      }
      this.pos += name.length;
    }
  }

  /** One or more assignments on a line; an assignment prefixing a command (`A=1 cmd`) sets nothing. */
  private assignments(): void {
    const start = this.pos;
    const saved = new Map<string, ShellVariable | undefined>();
    for (;;) {
      const name = this.matchName()!;
      if (!saved.has(name)) saved.set(name, this.scope.get(name));
      this.assignment();
      this.skipBlanks();
      const c = this.peek();
      if (c === '' || c === '\n' || c === ';' || c === '#') return;
      if (this.isAssignmentAt(this.pos)) continue;
      const command = this.bareWord();
      this.issues.push(this.problem(start, `an assignment before a command ("${command}") applies only to that command, which is not run: skipped`));
      for (const [key, previous] of saved) {
        if (previous) this.scope.set(key, previous);
        else this.scope.delete(key);
      }
      this.skipCommand(this.pos, command, false);
      return;
    }
  }

  /** Parses one assignment at `pos` and applies it. */
  private assignment(): void {
    const start = this.pos;
    const name = this.matchName()!;
    this.pos += name.length;
    const append = this.peek() === '+';
    this.pos += append ? 2 : 1;
    let value: string;
    let elements: string[] | undefined;
    let word: Word;
    this.target = name;
    if (this.peek() === '(') {
      this.pos += 1;
      const array = this.arrayElements(start);
      elements = array.elements;
      value = elements.join(' ');
      word = array.word;
    } else {
      word = this.readWord();
      value = text(word);
    }
    this.target = '';
    const previous = this.scope.get(name);
    const line = this.lineAt(start);
    if (append && previous) {
      const joined = elements || previous.elements ? [...(previous.elements ?? [previous.value]), ...(elements ?? [value])] : undefined;
      this.scope.set(name, {
        value: joined ? joined.join(' ') : previous.value + value,
        ...(joined ? { elements: joined } : {}),
        file: this.file,
        line,
        problems: mergeProblems(previous.problems, word.problems),
        unset: mergeUnset(previous.unset, word.unset ?? []),
      });
    } else {
      this.scope.set(name, { value, ...(elements ? { elements } : {}), file: this.file, line, problems: word.problems, unset: word.unset ?? [] });
    }
  }

  private arrayElements(start: number): { elements: string[]; word: Word } {
    const elements: string[] = [];
    const all: Word = { pieces: [], problems: [] };
    for (;;) {
      this.skipBlanks();
      const c = this.peek();
      if (c === '') {
        this.issues.push(this.problem(start, 'array "(" is never closed by ")"'));
        return { elements, word: all };
      }
      if (c === ')') {
        this.pos += 1;
        return { elements, word: all };
      }
      if (c === '\n') {
        this.pos += 1;
        continue;
      }
      if (c === '#') {
        this.skipComment();
        continue;
      }
      const before = this.pos;
      const word = this.readWord();
      if (this.pos === before) {
        // `;`, `|`, `&`, `<`, `>` or `(` cannot start an element.
        this.issues.push(this.problem(before, `unexpected "${c}" inside the array "(" ... ")": skipped`));
        this.pos += 1;
        continue;
      }
      absorb(all, word);
      if (word.splice) elements.push(...word.splice);
      else elements.push(text(word));
    }
  }

  /** `name() { ... }` or `function name { ... }`: skipped whole. */
  private functionDefinition(): boolean {
    const rest = this.src.slice(this.pos, this.pos + 200);
    const m = /^(?:function\s+[A-Za-z_][\w-]*\s*(?:\(\s*\))?|[A-Za-z_][\w-]*\s*\(\s*\))\s*/.exec(rest);
    if (!m) return false;
    this.pos += m[0].length;
    while (this.peek() === '\n' || BLANK.has(this.peek())) this.pos += 1;
    if (this.peek() === '{' || this.peek() === '(') {
      this.skipBalanced(this.peek(), this.peek() === '{' ? '}' : ')');
    } else {
      this.issues.push(this.problem(this.pos, 'a function definition without a "{ ... }" body: skipped to the end of the line'));
      this.skipCommand(this.pos, 'function', false);
    }
    return true;
  }

  /** Skips a block that opens with `open` at `pos` up to its matching `close`, minding quotes and comments. */
  private skipBalanced(open: string, close: string): void {
    let depth = 0;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === '\\') {
        this.pos += 2;
        continue;
      }
      if (c === "'" || c === '"' || c === '`') {
        this.skipQuoted(c);
        continue;
      }
      if (c === '#' && (this.pos === 0 || /\s/.test(this.src[this.pos - 1]!))) {
        this.skipComment();
        continue;
      }
      this.pos += 1;
      if (c === open) depth += 1;
      else if (c === close) {
        depth -= 1;
        if (depth === 0) return;
      }
    }
  }

  private skipQuoted(quote: string): void {
    const start = this.pos;
    this.pos += 1;
    while (this.pos < this.src.length && this.src[this.pos] !== quote) {
      if (this.src[this.pos] === '\\' && quote !== "'") this.pos += 1;
      this.pos += 1;
    }
    if (this.pos >= this.src.length) this.issues.push(this.problem(start, `the quote ${quote} is never closed`));
    this.pos += 1;
  }

  /**
   * `if ... fi` and friends: not evaluated. Every variable assigned inside gets a problem, because
   * its value depends on a condition (usually the architecture) the reader does not decide.
   */
  private compound(keyword: string, closing: string): void {
    const start = this.pos;
    let depth = 0;
    let end = this.src.length;
    // Walk keywords outside quotes and comments to find the matching closer.
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === "'" || c === '"' || c === '`') {
        this.skipQuoted(c);
        continue;
      }
      if (c === '\\') {
        this.pos += 2;
        continue;
      }
      const before = this.src[this.pos - 1] ?? ' ';
      if (c === '#' && /\s/.test(before)) {
        this.skipComment();
        continue;
      }
      const word = /[\s;&|()]/.test(before) || this.pos === start ? /^(if|case|for|while|until|select|fi|esac|done)(?=$|[\s;&|()])/.exec(this.src.slice(this.pos, this.pos + 8)) : null;
      if (!word) {
        this.pos += 1;
        continue;
      }
      this.pos += word[1]!.length;
      if (COMPOUND_KEYWORDS.has(word[1]!)) depth += 1;
      else {
        depth -= 1;
        if (depth === 0) {
          end = this.pos;
          break;
        }
      }
    }
    if (depth !== 0) this.issues.push(this.problem(start, `"${keyword}" is never closed by "${closing}"`));
    const body = this.src.slice(start, end);
    const problem = this.problem(start, `the "${keyword}" block here is not evaluated (quarters reads assignments, not shell logic)`);
    const assigned = new Set<string>();
    for (const m of body.matchAll(/(?:^|[\s;])([A-Za-z_][A-Za-z0-9_]*)\+?=/g)) assigned.add(m[1]!);
    for (const name of assigned) {
      const previous = this.scope.get(name);
      this.scope.set(name, {
        value: previous?.value ?? '',
        ...(previous?.elements ? { elements: previous.elements } : {}),
        file: previous?.file ?? this.file,
        line: previous?.line ?? this.lineAt(start),
        problems: mergeProblems(previous?.problems ?? [], [problem]),
        unset: previous?.unset ?? [],
      });
    }
    if (assigned.size === 0) this.issues.push(problem);
    this.pos = end;
    this.skipCommand(end, keyword, false);
  }

  /** A command: not run. It is reported unless `report` is false (the caller reported it). Skips to the end of its line. */
  private skipCommand(start: number, command: string, report = true): void {
    if (report) this.issues.push(this.problem(start, `the command "${command}" is not run (quarters reads assignments only): skipped`));
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === '\n') return;
      if (c === '\\') {
        this.pos += 2;
        continue;
      }
      if (c === "'" || c === '"' || c === '`') {
        this.skipQuoted(c);
        continue;
      }
      if (c === '{') {
        this.skipBalanced('{', '}');
        continue;
      }
      if (c === '(') {
        this.skipBalanced('(', ')');
        continue;
      }
      if (c === '#' && /\s/.test(this.src[this.pos - 1] ?? ' ')) {
        this.skipComment();
        return;
      }
      this.pos += 1;
    }
  }

  /** Reads an unquoted word (an assignment's value or an array element). */
  private readWord(): Word {
    const word: Word = { pieces: [], problems: [] };
    // A word that is exactly one `"${A[@]}"` expansion gives the array's elements.
    let components = 0;
    let splice: string[] | undefined;
    const add = (part: Word): void => {
      word.pieces.push(...part.pieces);
      absorb(word, part);
      if (part.splice || text(part) !== '') components += 1;
      splice = part.splice;
    };
    for (;;) {
      const c = this.peek();
      if (c === '' || WORD_END.has(c)) {
        // An extglob group such as !(amd64) is part of the word.
        if (c === '(' && /[?*+@!]$/.test(text(word))) {
          const open = this.pos;
          this.skipBalanced('(', ')');
          add({ pieces: [{ text: this.src.slice(open, this.pos), quoted: false }], problems: [] });
          continue;
        }
        break;
      }
      if (c === '\\') {
        if (this.peek(1) !== '\n') add({ pieces: [{ text: this.peek(1), quoted: true }], problems: [] });
        this.pos += 2;
      } else if (c === "'") {
        add({ pieces: [{ text: this.singleQuoted(), quoted: true }], problems: [] });
      } else if (c === '"') {
        add(this.doubleQuoted());
      } else if (c === '$') {
        add(this.dollar(false));
      } else if (c === '`') {
        add({ pieces: [], problems: [this.commandSubstitution('`')] });
      } else {
        LITERAL_RUN.lastIndex = this.pos;
        const run = LITERAL_RUN.exec(this.src)?.[0] ?? c;
        add({ pieces: [{ text: run, quoted: false }], problems: [] });
        this.pos += run.length;
      }
    }
    if (components === 1 && splice) word.splice = splice;
    return word;
  }

  private singleQuoted(): string {
    const start = this.pos;
    const close = this.src.indexOf("'", start + 1);
    if (close < 0) {
      this.issues.push(this.problem(start, "the quote ' is never closed"));
      this.pos = this.src.length;
      return this.src.slice(start + 1);
    }
    this.pos = close + 1;
    return this.src.slice(start + 1, close);
  }

  /** `"..."` from `pos`: expansions inside are done; the text is quoted (literal in patterns). */
  private doubleQuoted(): Word {
    const start = this.pos;
    this.pos += 1;
    const word: Word = { pieces: [], problems: [] };
    for (;;) {
      const c = this.peek();
      if (c === '') {
        this.issues.push(this.problem(start, 'the quote " is never closed'));
        return word;
      }
      if (c === '"') {
        this.pos += 1;
        return word;
      }
      if (c === '\\') {
        const next = this.peek(1);
        if (next === '\n') {
          // A continuation inside double quotes removes the backslash and the newline.
        } else if (next === '$' || next === '`' || next === '"' || next === '\\') {
          word.pieces.push({ text: next, quoted: true });
        } else {
          word.pieces.push({ text: `\\${next}`, quoted: true });
        }
        this.pos += 2;
      } else if (c === '$') {
        const expanded = this.dollar(true);
        for (const piece of expanded.pieces) word.pieces.push({ text: piece.text, quoted: true });
        absorb(word, expanded);
        if (expanded.splice) word.splice = expanded.splice;
      } else if (c === '`') {
        word.problems = mergeProblems(word.problems, [this.commandSubstitution('`')]);
      } else {
        const m = /^[^"\\$`]+/.exec(this.src.slice(this.pos, this.pos + 4096))!;
        word.pieces.push({ text: m[0], quoted: true });
        this.pos += m[0].length;
      }
    }
  }

  /** `$'...'`: the C-style escapes bash knows. */
  private ansiQuoted(): string {
    const start = this.pos;
    this.pos += 2;
    let out = '';
    const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
    while (this.pos < this.src.length && this.src[this.pos] !== "'") {
      const c = this.src[this.pos]!;
      if (c === '\\') {
        const e = this.src[this.pos + 1] ?? '';
        out += escapes[e] ?? `\\${e}`;
        this.pos += 2;
      } else {
        out += c;
        this.pos += 1;
      }
    }
    if (this.pos >= this.src.length) this.issues.push(this.problem(start, "the quote $' is never closed"));
    this.pos += 1;
    return out;
  }

  /** `$(...)`, `$((...))` or a backtick: skipped, with the problem it causes. */
  private commandSubstitution(kind: '`' | '$(' | '$(('): ParseIssue {
    const start = this.pos;
    if (kind === '`') this.skipQuoted('`');
    else {
      this.pos += 1;
      this.skipBalanced('(', ')');
    }
    const what = kind === '$((' ? 'arithmetic expansion' : 'command substitution';
    return this.problem(start, `${what} "${this.src.slice(start, Math.min(this.pos, start + 60))}" is not evaluated (it expands to nothing here)`);
  }

  /** An expansion at `$`. */
  private dollar(inDoubleQuotes: boolean): Word {
    const start = this.pos;
    const next = this.peek(1);
    if (next === '{') return this.braced();
    if (next === '(') return { pieces: [], problems: [this.commandSubstitution(this.peek(2) === '(' ? '$((' : '$(')] };
    if (next === "'" && !inDoubleQuotes) return { pieces: [{ text: this.ansiQuoted(), quoted: true }], problems: [] };
    if (next === '"' && !inDoubleQuotes) {
      this.pos += 1;
      return this.doubleQuoted();
    }
    const name = this.matchName(this.pos + 1);
    if (name !== null) {
      this.pos += 1 + name.length;
      return this.lookup(name, start, false);
    }
    if (/[0-9@*#?$!-]/.test(next)) {
      this.pos += 2;
      return { pieces: [], problems: [this.problem(start, `the special parameter "$${next}" has no value here (it expands to nothing)`)] };
    }
    this.pos += 1;
    return { pieces: [{ text: '$', quoted: inDoubleQuotes }], problems: [] };
  }

  /** A variable's value; an unset one expands to nothing, which is a problem unless the expansion gave a default. */
  private lookup(name: string, at: number, allowUnset: boolean): Word {
    const variable = this.scope.get(name);
    if (!variable) {
      return { pieces: [], problems: [], unset: allowUnset ? [] : this.unsetReference(name, at) };
    }
    const value = variable.elements ? (variable.elements[0] ?? '') : variable.value;
    return { pieces: [{ text: value, quoted: false }], ...dependencies(variable) };
  }

  /** `${...}` from `pos`. */
  private braced(): Word {
    if (this.depth >= MAX_NESTING) {
      const start = this.pos;
      this.pos += 1;
      this.skipBalanced('{', '}');
      return { pieces: [], problems: [this.problem(start, `expansions nested more than ${MAX_NESTING} deep are not evaluated (this one expands to nothing here)`)] };
    }
    this.depth += 1;
    try {
      return this.bracedExpansion();
    } finally {
      this.depth -= 1;
    }
  }

  /** `${...}` from `pos`, within the nesting limit. */
  private bracedExpansion(): Word {
    const start = this.pos;
    this.pos += 2;
    const unsupported = (what: string): Word => {
      this.pos = start + 1;
      this.skipBalanced('{', '}');
      return { pieces: [], problems: [this.problem(start, `${what} in "${this.src.slice(start, this.pos)}" is not supported (it expands to nothing here)`)] };
    };
    if (this.peek() === '#' && this.matchName(this.pos + 1) !== null) {
      const name = this.matchName(this.pos + 1)!;
      if (this.src[this.pos + 1 + name.length] === '}') {
        this.pos += 2 + name.length;
        const value = this.lookup(name, start, false);
        return { pieces: [{ text: String(text(value).length), quoted: false }], ...dependencies(value) };
      }
    }
    if (this.peek() === '!') return unsupported('indirect expansion');
    const name = this.matchName();
    if (name === null) return unsupported('this parameter');
    this.pos += name.length;
    const variable = this.scope.get(name);
    // What the parameter designates: the first element for `$A`, all of them for `${A[@]}`, one for `${A[n]}`.
    let selected: string | undefined = variable ? (variable.elements ? variable.elements[0] : variable.value) : undefined;
    let splice: string[] | undefined;
    if (this.peek() === '[') {
      const close = this.src.indexOf(']', this.pos);
      const index = close > 0 ? this.src.slice(this.pos + 1, close) : '';
      if (index === '@' || index === '*') {
        selected = variable?.value;
        splice = variable?.elements;
      } else if (/^[0-9]+$/.test(index)) {
        selected = variable ? (variable.elements ?? [variable.value])[Number(index)] : undefined;
      } else return unsupported(`the array index "${index}"`);
      this.pos = close + 1;
    }
    const valueOf = (allowUnset: boolean): Word => {
      if (selected === undefined) return { pieces: [], problems: [], unset: allowUnset ? [] : this.unsetReference(name, start) };
      const word: Word = { pieces: [{ text: selected, quoted: false }], ...dependencies(variable!) };
      if (splice) word.splice = splice;
      return word;
    };
    const op = this.peek();
    if (op === '}') {
      this.pos += 1;
      return valueOf(false);
    }
    const colon = op === ':' && /[-=+?]/.test(this.peek(1));
    if (colon || /[-=+?]/.test(op)) {
      const kind = colon ? this.peek(1) : op;
      this.pos += colon ? 2 : 1;
      const arg = this.wordUntil(new Set(['}']));
      this.pos += 1;
      const set = selected !== undefined && (!colon || selected !== '');
      if (kind === '-' || kind === '=') {
        if (set) return valueOf(false);
        if (kind === '=') this.scope.set(name, { value: text(arg), file: this.file, line: this.lineAt(start), ...dependencies(arg), unset: arg.unset ?? [] });
        return arg;
      }
      if (kind === '+') {
        if (!set) return { pieces: [], problems: [] };
        const word: Word = { pieces: arg.pieces, ...dependencies(variable!) };
        absorb(word, arg);
        return word;
      }
      return set ? valueOf(false) : { pieces: [], problems: [this.problem(start, `$${name} is not set ("${this.src.slice(start, this.pos)}" would stop bash)`)] };
    }
    if (op === ':') {
      this.pos += 1;
      const spec = this.wordUntil(new Set(['}']));
      this.pos += 1;
      const m = /^\s*(-?\d+)\s*(?::\s*(-?\d+)\s*)?$/.exec(text(spec));
      if (!m) return { pieces: [], problems: [this.problem(start, `the substring expansion "${this.src.slice(start, this.pos)}" needs plain numbers here (it expands to nothing)`)] };
      const base = valueOf(false);
      const value = text(base);
      let offset = Number(m[1]);
      if (offset < 0) offset = Math.max(0, value.length + offset);
      let end = value.length;
      if (m[2] !== undefined) {
        const length = Number(m[2]);
        end = length >= 0 ? Math.min(value.length, offset + length) : value.length + length;
        if (end < offset) return { pieces: [], ...dependencies(base), problems: [...base.problems, this.problem(start, `the substring length in "${this.src.slice(start, this.pos)}" is before its offset`)] };
      }
      return { pieces: [{ text: value.slice(offset, end), quoted: false }], ...dependencies(base) };
    }
    if (op === '#' || op === '%') {
      const longest = this.peek(1) === op;
      this.pos += longest ? 2 : 1;
      const pattern = this.wordUntil(new Set(['}']));
      this.pos += 1;
      const base = valueOf(false);
      return this.withPattern(start, base, pattern, (compiled, value) =>
        op === '#' ? removePrefix(value, compiled, longest) : removeSuffix(value, compiled, longest),
      );
    }
    if (op === '/') {
      this.pos += 1;
      let all = false;
      let anchor: 'anywhere' | 'start' | 'end' = 'anywhere';
      if (this.peek() === '/') {
        all = true;
        this.pos += 1;
      } else if (this.peek() === '#') {
        anchor = 'start';
        this.pos += 1;
      } else if (this.peek() === '%') {
        anchor = 'end';
        this.pos += 1;
      }
      const pattern = this.wordUntil(new Set(['/', '}']));
      let replacement: Word = { pieces: [], problems: [] };
      if (this.peek() === '/') {
        this.pos += 1;
        replacement = this.wordUntil(new Set(['}']));
      }
      this.pos += 1;
      const base = valueOf(false);
      const replaced = this.withPattern(start, base, pattern, (compiled, value) => substitute(value, compiled, text(replacement), all, anchor));
      absorb(replaced, replacement);
      return replaced;
    }
    if (op === '^' || op === ',') {
      const every = this.peek(1) === op;
      this.pos += every ? 2 : 1;
      if (this.peek() !== '}') return unsupported('a case-conversion pattern');
      this.pos += 1;
      const base = valueOf(false);
      const value = text(base);
      const convert = (s: string): string => (op === '^' ? s.toUpperCase() : s.toLowerCase());
      return { pieces: [{ text: every ? convert(value) : convert(value.slice(0, 1)) + value.slice(1), quoted: false }], ...dependencies(base) };
    }
    return unsupported(`the operator "${op}"`);
  }

  private withPattern(start: number, base: Word, pattern: Word, apply: (compiled: ReturnType<typeof compileBashPattern>, value: string) => string): Word {
    const result: Word = { pieces: base.pieces, ...dependencies(base) };
    absorb(result, pattern);
    const value = text(base);
    if (value.length > PATTERN_SUBJECT_MAX) {
      result.problems = [...result.problems, this.problem(start, `the value is ${value.length} characters long, too long for a pattern expansion here (at most ${PATTERN_SUBJECT_MAX}); it is left unchanged`)];
      return result;
    }
    try {
      result.pieces = [{ text: apply(compileBashPattern(pattern.pieces), value), quoted: false }];
    } catch (error) {
      if (!(error instanceof UnsupportedPatternError)) throw error;
      result.problems = [...result.problems, this.problem(start, `${error.message}; the value is left unchanged`)];
    }
    return result;
  }

  /** The words inside `${...}` (a default, a pattern, a replacement), up to an unquoted stop character. */
  private wordUntil(stops: Set<string>): Word {
    const word: Word = { pieces: [], problems: [] };
    const start = this.pos;
    for (;;) {
      const c = this.peek();
      if (c === '') {
        this.issues.push(this.problem(start, '"${" is never closed by "}"'));
        return word;
      }
      if (stops.has(c)) return word;
      if (c === '\\') {
        word.pieces.push({ text: this.peek(1), quoted: true });
        this.pos += 2;
      } else if (c === "'") {
        word.pieces.push({ text: this.singleQuoted(), quoted: true });
      } else if (c === '"') {
        const inner = this.doubleQuoted();
        word.pieces.push(...inner.pieces);
        absorb(word, inner);
      } else if (c === '$') {
        const inner = this.dollar(false);
        word.pieces.push(...inner.pieces);
        absorb(word, inner);
      } else if (c === '`') {
        word.problems = mergeProblems(word.problems, [this.commandSubstitution('`')]);
      } else {
        word.pieces.push({ text: c, quoted: false });
        this.pos += 1;
      }
    }
  }
}

/** Both lists of unset references, each once. */
function mergeUnset(a: readonly UnsetReference[], b: readonly UnsetReference[]): UnsetReference[] {
  if (b.length === 0 || a.length >= KEPT_PER_VARIABLE) return a as UnsetReference[];
  if (a.length === 0) return b as UnsetReference[];
  const out = [...a];
  for (const r of b) if (out.length < KEPT_PER_VARIABLE && !out.some((o) => o.name === r.name && o.file === r.file && o.line === r.line)) out.push(r);
  return out;
}

/** How many problems (and unset references) a variable keeps: the first few explain it, and the bound keeps merging cheap whatever the file holds. */
const KEPT_PER_VARIABLE = 16;

function sameIssue(a: ParseIssue, b: ParseIssue): boolean {
  return a.file === b.file && a.line === b.line && a.message === b.message;
}

/** Both lists of problems, each problem once, at most KEPT_PER_VARIABLE of them. */
export function mergeProblems(a: readonly ParseIssue[], b: readonly ParseIssue[]): ParseIssue[] {
  if (b.length === 0 || a.length >= KEPT_PER_VARIABLE) return a as ParseIssue[];
  if (a.length === 0) return b as ParseIssue[];
  const out = [...a];
  for (const issue of b) if (out.length < KEPT_PER_VARIABLE && !out.some((o) => sameIssue(o, issue))) out.push(issue);
  return out;
}
