/**
 * An incremental reader of deb822 text (Debian `Packages`, `Sources`, `debian/control`): fed
 * chunks as they arrive, it reports each paragraph's fields with their values and lines.
 *
 * It is the hot loop of reading an archive index (50 MB for bookworm's Packages), so it scans
 * with indexOf and char codes, never a regex or a split per line, and materialises only the
 * fields the caller names. It works on whole paragraphs: text is held until a blank line
 * arrives, so a chunk may end anywhere (mid-line, mid-field, mid-CRLF, mid-UTF-8 sequence).
 *
 * Two interfaces: `Deb822Scanner` hands fields to a sink by index (no per-paragraph objects,
 * for the archive indices), `Deb822Reader` returns paragraphs as maps.
 */
import type { ParseIssue } from './model.js';

export interface Deb822Options {
  /** The file name issues carry. */
  file: string;
  /** Materialise only these fields (matched case-insensitively; spell them as in Debian Policy, e.g. "Build-Depends"); absent = all fields. */
  fields?: readonly string[];
  /** Lines starting with `#` are comments (debian/control); in archive indices they are not. */
  comments?: boolean;
}

/** Receives what a Deb822Scanner reads. */
export interface Deb822Sink {
  /** A field of the current paragraph: its index in the scanner's `names`, its value, the line of its name. */
  field(index: number, value: string, line: number): void;
  /** The current paragraph ended; `line` is the line of its first field. */
  paragraph(line: number): void;
}

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const SPACE = 32;
const TAB = 9;
const HASH = 35;
// When every field is wanted, field names are numbered as they are met; a paragraph's names are
// looked up in a map from spelling to index. Bounded against hostile input: past the limit, a
// field with a new name is reported and skipped.
const FIELD_LIMIT = 4096;

/** Scans deb822 text pushed in chunks (text or UTF-8 bytes) and hands each field to a sink. */
export class Deb822Scanner {
  /** Every problem found so far: lines that are no field, a second occurrence of a field asked for. */
  readonly issues: ParseIssue[] = [];
  /**
   * The fields' names by index: as the caller spelled them in `fields`, or (all fields wanted)
   * as first written in the text.
   */
  readonly names: string[];
  private readonly file: string;
  /** The lower-cased names, and for `fields` the indices of the names of each length. */
  private readonly keys: string[];
  private readonly byLength: number[][] | null = null;
  private readonly indexBySpelling: Map<string, number> | null = null;
  private readonly indexByKey: Map<string, number> | null = null;
  private readonly comments: boolean;
  /** Per field index: the line it was first met on in the current paragraph (0: not yet). */
  private readonly seenOn: number[] = [];
  private readonly seen: number[] = [];
  private decoder: InstanceType<typeof TextDecoder> | null = null;
  /** Text received but not yet scanned: it holds no complete paragraph followed by a blank line. */
  private pending: string[] = [];
  private pendingEndsWithNewline = false;
  private carriageReturn = false;
  private started = false;
  private ended = false;
  /** The line number of the first line of the pending text. */
  private line = 1;

  constructor(
    options: Deb822Options,
    private readonly sink: Deb822Sink,
  ) {
    this.file = options.file;
    this.comments = options.comments ?? false;
    if (options.fields) {
      this.names = [...options.fields];
      this.keys = this.names.map((f) => f.toLowerCase());
      this.byLength = [];
      for (const [index, key] of this.keys.entries()) (this.byLength[key.length] ??= []).push(index);
    } else {
      this.names = [];
      this.keys = [];
      this.indexBySpelling = new Map();
      this.indexByKey = new Map();
    }
  }

  /** Adds a chunk; the sink hears of every paragraph it completed. */
  push(chunk: string | Uint8Array): void {
    if (this.ended) throw new Error('Deb822Scanner: push after end');
    let text = typeof chunk === 'string' ? chunk : (this.decoder ??= new TextDecoder()).decode(chunk, { stream: true });
    text = this.normalise(text);
    if (text.length === 0) return;
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
          return;
        }
        start = boundary + 2;
      }
      const head = this.pending.join('') + text.slice(0, start);
      this.pending = [];
      this.scan(head, 0, head.length);
    }
    const last = text.lastIndexOf('\n\n');
    if (last >= 0 && last + 2 > start) {
      this.scan(text, start, last + 2);
      start = last + 2;
    }
    if (start < text.length) {
      this.pending.push(start === 0 ? text : text.slice(start));
      this.pendingEndsWithNewline = text.charCodeAt(text.length - 1) === NEWLINE;
    }
  }

  /** Ends the input: the sink hears of the last paragraph. */
  end(): void {
    if (this.ended) return;
    let text = this.decoder ? this.normalise(this.decoder.decode()) : '';
    // A carriage return at the very end ends the last line like a newline would.
    if (this.carriageReturn) text += '\n';
    this.carriageReturn = false;
    this.ended = true;
    const buffer = this.pending.join('') + text;
    this.pending = [];
    this.scan(buffer, 0, buffer.length);
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

  /** The index of the field named buffer[pos, pos+length), or -1 if it is not wanted. */
  private fieldIndex(buffer: string, pos: number, length: number, line: number): number {
    if (this.byLength !== null) {
      // Compared in place, case-insensitively: no string is made for a field nobody asked for.
      const candidates = this.byLength[length];
      if (candidates === undefined) return -1;
      next: for (const index of candidates) {
        const key = this.keys[index]!;
        for (let i = 0; i < length; i++) {
          let c = buffer.charCodeAt(pos + i);
          if (c >= 65 && c <= 90) c += 32;
          if (c !== key.charCodeAt(i)) continue next;
        }
        return index;
      }
      return -1;
    }
    const spelling = buffer.slice(pos, pos + length);
    let index = this.indexBySpelling!.get(spelling);
    if (index === undefined) {
      const key = spelling.toLowerCase();
      index = this.indexByKey!.get(key);
      if (index === undefined) {
        if (this.keys.length >= FIELD_LIMIT) {
          this.issue(line, `more than ${FIELD_LIMIT} different field names; "${spelling}" skipped`);
          return -1;
        }
        index = this.keys.length;
        this.keys.push(key);
        this.names.push(spelling);
        this.indexByKey!.set(key, index);
      }
      if (this.indexBySpelling!.size < FIELD_LIMIT) this.indexBySpelling!.set(spelling, index);
    }
    return index;
  }

  private issue(line: number, message: string): void {
    this.issues.push({ file: this.file, line, message });
  }

  /**
   * Scans the lines of buffer[start, end): `end` is just after a blank line, or the end of input.
   * The state of the open field and paragraph stays in local variables (no closure shares them,
   * which would move them out of registers): this loop runs for every line of an archive index.
   */
  private scan(buffer: string, start: number, end: number): void {
    let line = this.line;
    let paragraphLine = 0;
    // The open field: inField is true from a field line through its continuation lines;
    // index is -1 for a field nobody asked for.
    let inField = false;
    let index = -1;
    let fieldLine = 0;
    let valueStart = 0;
    let valueEnd = 0;
    // Only when comment lines interrupt a field: its earlier pieces.
    let pieces: string[] | null = null;

    // One step more than there are lines: at `end` the open paragraph closes, as at a blank line.
    for (let pos = start; ; line++) {
      let eol = end;
      let first = NEWLINE;
      if (pos < end) {
        eol = buffer.indexOf('\n', pos);
        if (eol < 0 || eol > end) eol = end;
        first = eol === pos ? NEWLINE : buffer.charCodeAt(pos);
      }
      const indented = first === SPACE || first === TAB;
      const blank = first === NEWLINE || (indented && isBlank(buffer, pos, eol));
      const comment = first === HASH && this.comments;
      if (blank || (!indented && !comment)) {
        // A blank line or a new field closes the open field.
        if (index >= 0) this.closeField(buffer, index, fieldLine, valueStart, valueEnd, pieces);
        pieces = null;
        inField = false;
        index = -1;
      }
      if (blank) {
        if (paragraphLine !== 0) this.closeParagraph(paragraphLine);
        paragraphLine = 0;
        if (pos >= end) break;
      } else if (indented) {
        if (inField) {
          if (index >= 0) {
            if (valueStart < 0) valueStart = pos;
            valueEnd = eol;
          }
        } else {
          this.issue(line, paragraphLine === 0 ? 'continuation line (starting with whitespace) before any field' : 'continuation line (starting with whitespace) after a line that is no field');
        }
      } else if (comment) {
        if (inField && index >= 0) {
          // A comment between continuation lines: keep what came before, resume after it.
          if (valueStart >= 0) (pieces ??= []).push(buffer.slice(valueStart, valueEnd));
          valueStart = -1;
        }
      } else {
        if (paragraphLine === 0) paragraphLine = line;
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
            index = this.fieldIndex(buffer, pos, colon - pos, line);
            fieldLine = line;
            valueStart = colon + 1;
            valueEnd = eol;
          }
        }
      }
      pos = eol + 1;
    }
    // `end` is either just after "\n\n" or the end of input: every line in between was counted.
    this.line = line;
  }

  /** Hands a wanted field to the sink (a second occurrence is an issue): its value is buffer[valueStart, valueEnd), after `pieces` if a comment cut it. */
  private closeField(buffer: string, index: number, line: number, valueStart: number, valueEnd: number, pieces: string[] | null): void {
    let value: string;
    if (pieces === null) {
      value = trimmed(buffer, valueStart, valueEnd);
    } else {
      if (valueStart >= 0) pieces.push(buffer.slice(valueStart, valueEnd));
      const joined = pieces.join('\n');
      value = trimmed(joined, 0, joined.length);
    }
    const first = this.seenOn[index] ?? 0;
    if (first !== 0) {
      this.issue(line, `duplicate field "${this.names[index]}" (first on line ${first}); keeping the first`);
    } else {
      this.seenOn[index] = line;
      this.seen.push(index);
      this.sink.field(index, value, line);
    }
  }

  private closeParagraph(line: number): void {
    for (const seen of this.seen) this.seenOn[seen] = 0;
    this.seen.length = 0;
    this.sink.paragraph(line);
  }
}

/** One field of a paragraph: its name (as the caller spelled it in `fields`, else as first written), its value, the line its name is on. */
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

/** Reads deb822 paragraphs from chunks of text or UTF-8 bytes: `push` each chunk, then `end`. */
export class Deb822Reader {
  private readonly scanner: Deb822Scanner;
  private fields = new Map<string, Deb822Field>();
  private out: Deb822Paragraph[] = [];

  constructor(options: Deb822Options) {
    this.scanner = new Deb822Scanner(options, {
      field: (index, value, line) => {
        const name = this.scanner.names[index]!;
        this.fields.set(name.toLowerCase(), { name, value, line });
      },
      paragraph: (line) => {
        this.out.push({ line, fields: this.fields });
        this.fields = new Map();
      },
    });
  }

  /** Every problem found so far: lines that are no field, duplicate fields. */
  get issues(): ParseIssue[] {
    return this.scanner.issues;
  }

  /** Adds a chunk; returns the paragraphs it completed. */
  push(chunk: string | Uint8Array): Deb822Paragraph[] {
    this.scanner.push(chunk);
    return this.take();
  }

  /** Ends the input; returns the last paragraphs. */
  end(): Deb822Paragraph[] {
    this.scanner.end();
    return this.take();
  }

  private take(): Deb822Paragraph[] {
    const out = this.out;
    this.out = [];
    return out;
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
