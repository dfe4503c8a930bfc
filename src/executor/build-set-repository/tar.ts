/**
 * A small reader of tar archives held in memory: enough for a pacman database (a few hundred KB to a
 * few MB, written by bsdtar through repo-add). Reads ustar and GNU headers, the ustar name prefix,
 * pax `path` records and GNU long names; checks every header's checksum. The executor carries no tar
 * library: it is one bundle loaded on every stage, and this is all it needs of one.
 */

/** One regular file of an archive. */
export interface TarFile {
  path: string;
  data: Uint8Array;
}

/** An archive that is not a readable tar. */
export class TarError extends Error {
  override name = 'TarError';
}

const BLOCK = 512;
const decoder = new TextDecoder();

function text(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

function octal(block: Uint8Array, offset: number, length: number, what: string, at: number): number {
  // GNU's base-256 form (high bit set) only appears for sizes beyond 8 GiB: no index is that large.
  if ((block[offset]! & 0x80) !== 0) throw new TarError(`the ${what} of the header at byte ${at} is in base-256 form, too large for an index`);
  const digits = text(block, offset, length).trim();
  if (!/^[0-7]*$/.test(digits)) throw new TarError(`the ${what} of the header at byte ${at} is not octal: "${digits}"`);
  return digits === '' ? 0 : Number.parseInt(digits, 8);
}

function checksumMatches(block: Uint8Array): boolean {
  const digits = text(block, 148, 8).trim();
  if (!/^[0-7]+$/.test(digits)) return false;
  const recorded = Number.parseInt(digits, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === recorded;
}

/** The `path` of a pax extended header ("LEN path=VALUE\n" records), if it has one. */
function paxPath(data: Uint8Array): string | undefined {
  let path: string | undefined;
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(32, i);
    if (space === -1) break;
    const length = Number(decoder.decode(data.subarray(i, space)));
    if (!Number.isInteger(length) || length <= 0 || i + length > data.length) throw new TarError('a pax extended header is malformed');
    const record = decoder.decode(data.subarray(space + 1, i + length - 1));
    const equals = record.indexOf('=');
    if (record.slice(0, equals) === 'path') path = record.slice(equals + 1);
    i += length;
  }
  return path;
}

/** The regular files of an uncompressed tar archive, in order. */
export function tarFiles(archive: Uint8Array): TarFile[] {
  const files: TarFile[] = [];
  let nextPath: string | undefined;
  let at = 0;
  while (at + BLOCK <= archive.length) {
    const header = archive.subarray(at, at + BLOCK);
    // The archive ends with zero blocks.
    if (header.every((b) => b === 0)) return files;
    if (!checksumMatches(header)) throw new TarError(`the header at byte ${at} has a wrong checksum: not a tar archive, or a damaged one`);
    const size = octal(header, 124, 12, 'size', at);
    const type = String.fromCharCode(header[156]!);
    const start = at + BLOCK;
    if (start + size > archive.length) throw new TarError(`the entry at byte ${at} runs past the end of the archive (truncated)`);
    const data = archive.subarray(start, start + size);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      nextPath = paxPath(data) ?? nextPath;
      continue;
    }
    if (type === 'L') {
      nextPath = text(data, 0, data.length);
      continue;
    }
    if (type === 'g') continue;
    const magic = text(header, 257, 6);
    const prefix = magic === 'ustar' ? text(header, 345, 155) : '';
    const name = text(header, 0, 100);
    const path = nextPath ?? (prefix ? `${prefix}/${name}` : name);
    nextPath = undefined;
    if (type === '0' || type === '\0') files.push({ path, data });
  }
  throw new TarError('the archive ends without its end-of-archive blocks (truncated)');
}
