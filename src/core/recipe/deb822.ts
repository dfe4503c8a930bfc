/**
 * An incremental reader of deb822 text (Debian `Packages`, `Sources`, `debian/control`): fed
 * chunks as they arrive, it hands back whole paragraphs with each field's value and line.
 *
 * It is the hot loop of reading an archive index (50 MB for bookworm's Packages), so it scans
 * with indexOf and char codes, never a regex or a split per line, and materialises only the
 * fields the caller names. It works on whole paragraphs: text is held until a blank line
 * arrives, so a chunk may end anywhere (mid-line, mid-field, mid-CRLF, mid-UTF-8 sequence).
 */
import type { ParseIssue } from './model.js';

/** One field of a paragraph: its name (as the caller spelled it in `fields`, else as written), its value, the line its name is on. */
export interface Deb822Field {
  name: string;
  /**
   * The value: the first line's text (empty if the value starts on the next line), then each
   * continuation line as written after a `\n`, so line i of the value is on line `line + i`
   * (comment lines aside). No trailing whitespace.
   */
  value: string;
  line: number;
}

/** A paragraph (stanza): its fields keyed by lower-cased name, and the line of its first field. */
export interface Deb822Paragraph {
  line: number;
  fields: Map<string, Deb822Field>;
}

export interface Deb822Options {
  /** The file name issues carry. */
  file: string;
  /** Materialise only these fields (matched case-insensitively; spell them as in Debian Policy, e.g. "Build-Depends"); absent = all fields. */
  fields?: readonly string[];
  /** Lines starting with `#` are comments (debian/control); in archive indices they are not. */
  comments?: boolean;
}

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const SPACE = 32;
const TAB = 9;
const HASH = 35;
// When every field is wanted, names repeat in every paragraph: a cache maps each spelling to its
// key so the hot loop does not lower-case each one. Bounded against hostile input.
const NAME_CACHE_LIMIT = 4096;

/** Reads deb822 paragraphs from chunks of text or UTF-8 bytes: `push` each chunk, then `end`. */
export class Deb822Reader {
  /** Every problem found so far: lines that are no field, duplicate fields. */
  readonly issues: ParseIssue[] = [];
  private readonly file: string;
  /** The wanted fields' keys (lower-cased) and spellings (as the caller wrote them), and their indices by name length. */
  private readonly wanted: string[] | null;
  private readonly spellings: readonly string[];
  private readonly byLength: number[][] = [];
  private readonly comments: boolean;
  private readonly keys = new Map<string, string>();
  private decoder: InstanceType<typeof TextDecoder> | null = null;
  /** Text received but not yet scanned: it holds no complete paragraph followed by a blank line. */
  private pending: string[] = [];
  private pendingEndsWithNewline = false;
  private carriageReturn = false;
  private started = false;
  private ended = false;
  /** The line number of the first line of the pending text. */
  private line = 1;

  constructor(options: Deb822Options) {
    this.file = options.file;
    this.wanted = options.fields ? options.fields.map((f) => f.toLowerCase()) : null;
    this.spellings = options.fields ?? [];
    this.wanted?.forEach((key, index) => (this.byLength[key.length] ??= []).push(index));
    this.comments = options.comments ?? false;
  }

  /** Adds a chunk; returns the paragraphs it completed. */
  push(chunk: string | Uint8Array): Deb822Paragraph[] {
    if (this.ended) throw new Error('Deb822Reader: push after end');
    let text = typeof chunk === 'string' ? chunk : (this.decoder ??= new TextDecoder()).decode(chunk, { stream: true });
    text = this.normalise(text);
    const out: Deb822Paragraph[] = [];
    if (text.length === 0) return out;
    let start = 0;
    if (this.pending.length > 0) {
      // Only the paragraph that straddles the chunk boundary is copied; the rest is scanned in place.
      if (this.pendingEndsWithNewline && text.charCodeAt(0) === NEWLINE) {
        start = 1;
      } else {
        const boundary = text.indexOf('\n\n');
        if (boundary < 0) {
          this.pending.push(text);
          this.pendingEndsWithNewline = text.charCodeAt(text.length - 1) === NEWLINE;
          return out;
        }
        start = boundary + 2;
      }
      const head = this.pending.join('') + text.slice(0, start);
      this.pending = [];
      this.scan(head, 0, head.length, out);
    }
    const last = text.lastIndexOf('\n\n');
    const cut = last + 2;
    if (last >= 0 && cut > start) {
      this.scan(text, start, cut, out);
      start = cut;
    }
    if (start < text.length) {
      this.pending.push(start === 0 ? text : text.slice(start));
      this.pendingEndsWithNewline = text.charCodeAt(text.length - 1) === NEWLINE;
    }
    return out;
  }

  /** Ends the input; returns the last paragraphs. */
  end(): Deb822Paragraph[] {
    if (this.ended) return [];
    let text = this.decoder ? this.normalise(this.decoder.decode()) : '';
    // A carriage return at the very end ends the last line like a newline would.
    if (this.carriageReturn) text += '\n';
    this.carriageReturn = false;
    this.ended = true;
    const buffer = this.pending.join('') + text;
    this.pending = [];
    const out: Deb822Paragraph[] = [];
    this.scan(buffer, 0, buffer.length, out);
    return out;
  }

  /** CRLF → LF (holding a trailing CR until the next chunk shows what follows it), and no BOM. */
  private normalise(text: string): string {
    if (this.carriageReturn) {
      text = '\r' + text;
      this.carriageReturn = false;
    }
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.indexOf('\r') < 0) return text;
    if (text.charCodeAt(text.length - 1) === CARRIAGE_RETURN) {
      this.carriageReturn = true;
      text = text.slice(0, -1);
    }
    return text.replaceAll('\r\n', '\n');
  }

  /** The key of a field name when all fields are wanted. */
  private keyOf(name: string): string {
    let key = this.keys.get(name);
    if (key === undefined) {
      key = name.toLowerCase();
      if (this.keys.size < NAME_CACHE_LIMIT) this.keys.set(name, key);
    }
    return key;
  }

  /** Which wanted field buffer[pos, pos+length) names (case-insensitively), without allocating; -1 if none. */
  private wantedIndex(buffer: string, pos: number, length: number): number {
    const candidates = this.byLength[length];
    if (candidates === undefined) return -1;
    next: for (const index of candidates) {
      const key = this.wanted![index]!;
      for (let i = 0; i < length; i++) {
        let c = buffer.charCodeAt(pos + i);
        if (c >= 65 && c <= 90) c += 32;
        if (c !== key.charCodeAt(i)) continue next;
      }
      return index;
    }
    return -1;
  }

  private issue(line: number, message: string): void {
    this.issues.push({ file: this.file, line, message });
  }

  /** Scans the lines of buffer[start, end) into `out`: `end` is just after a blank line, or the end of input. */
  private scan(buffer: string, start: number, end: number, out: Deb822Paragraph[]): void {
    let line = this.line;
    let paragraph: Deb822Paragraph | null = null;
    // The open field: inField is true from a field line through its continuation lines.
    let inField = false;
    let key: string | null = null;
    let name = '';
    let fieldLine = 0;
    let valueStart = 0;
    let valueEnd = 0;
    // Only when comment lines interrupt a field: its earlier pieces.
    let pieces: string[] | null = null;

    const closeField = (): void => {
      if (key !== null && paragraph !== null) {
        let value: string;
        if (pieces === null) {
          value = trimmed(buffer, valueStart, valueEnd);
        } else {
          if (valueStart >= 0) pieces.push(buffer.slice(valueStart, valueEnd));
          const joined = pieces.join('\n');
          value = trimmed(joined, 0, joined.length);
          pieces = null;
        }
        const earlier = paragraph.fields.get(key);
        if (earlier) this.issue(fieldLine, `duplicate field "${name}" (first on line ${earlier.line}); keeping the first`);
        else paragraph.fields.set(key, { name, value, line: fieldLine });
      }
      inField = false;
      key = null;
    };
    const closeParagraph = (): void => {
      closeField();
      if (paragraph !== null) out.push(paragraph);
      paragraph = null;
    };

    let pos = start;
    while (pos < end) {
      let eol = buffer.indexOf('\n', pos);
      if (eol < 0 || eol > end) eol = end;
      const first = buffer.charCodeAt(pos);
      if (eol === pos) {
        closeParagraph();
      } else if (first === SPACE || first === TAB) {
        if (isBlank(buffer, pos, eol)) {
          closeParagraph();
        } else if (inField) {
          if (key !== null) {
            if (valueStart < 0) valueStart = pos;
            valueEnd = eol;
          }
        } else {
          this.issue(line, paragraph === null ? 'continuation line (starting with whitespace) before any field' : 'continuation line (starting with whitespace) after a line that is no field');
        }
      } else if (first === HASH && this.comments) {
        if (inField && key !== null) {
          // A comment between continuation lines: keep what came before, resume after it.
          if (valueStart >= 0) (pieces ??= []).push(buffer.slice(valueStart, valueEnd));
          valueStart = -1;
        }
      } else {
        closeField();
        paragraph ??= { line, fields: new Map() };
        const colon = buffer.indexOf(':', pos);
        if (colon < 0 || colon >= eol) {
          this.issue(line, `expected "Field: value", found "${excerpt(buffer, pos, eol)}"`);
        } else if (colon === pos) {
          this.issue(line, 'field with an empty name');
        } else {
          const last = buffer.charCodeAt(colon - 1);
          if (last === SPACE || last === TAB) {
            this.issue(line, `field name "${buffer.slice(pos, colon)}" ends in whitespace`);
          } else {
            inField = true;
            if (this.wanted === null) {
              name = buffer.slice(pos, colon);
              key = this.keyOf(name);
            } else {
              const index = this.wantedIndex(buffer, pos, colon - pos);
              key = index < 0 ? null : this.wanted[index]!;
              name = index < 0 ? '' : this.spellings[index]!;
            }
            fieldLine = line;
            valueStart = colon + 1;
            valueEnd = eol;
          }
        }
      }
      pos = eol + 1;
      line++;
    }
    closeParagraph();
    // `end` is either just after "\n\n" or the end of input: every line in between was counted.
    this.line = line;
  }
}

/** Parses a whole deb822 text at once. */
export function readDeb822(text: string, options: Deb822Options): { paragraphs: Deb822Paragraph[]; issues: ParseIssue[] } {
  const reader = new Deb822Reader(options);
  const paragraphs = reader.push(text);
  for (const p of reader.end()) paragraphs.push(p);
  return { paragraphs, issues: reader.issues };
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== TAB) return false;
  }
  return true;
}

/** text[from, to) without leading blanks (the first line stays, if empty) nor trailing whitespace. */
function trimmed(text: string, from: number, to: number): string {
  let c = text.charCodeAt(from);
  while (from < to && (c === SPACE || c === TAB)) c = text.charCodeAt(++from);
  c = text.charCodeAt(to - 1);
  while (to > from && (c === SPACE || c === TAB || c === NEWLINE)) c = text.charCodeAt(--to - 1);
  return text.slice(from, to);
}

function excerpt(text: string, from: number, to: number): string {
  return to - from > 60 ? `${text.slice(from, from + 57)}...` : text.slice(from, to);
}
