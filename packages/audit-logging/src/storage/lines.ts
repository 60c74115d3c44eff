import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { AuditUnreadableError } from '../errors.js';
import { MAX_LINE_BYTES } from './layout.js';

/**
 * What a log file holds, piece by piece, in order:
 * - `line`: a complete line, its exact bytes without the newline
 * - `oversized`: a line longer than MAX_LINE_BYTES, never written by the logger; ends the stream
 * - `torn`: the bytes after the last complete line that are not one (a write cut short by a
 *   crash); ends the stream. Only their length and SHA-256 are kept, for the repair record.
 * - `unused`: the preallocated zeros after the last line of a segment being written (see
 *   `readLines`'s `preallocated`); ends the stream
 */
export type FileLine =
  | { readonly kind: 'line'; readonly raw: Buffer; readonly offset: number }
  | { readonly kind: 'oversized'; readonly offset: number }
  | {
      readonly kind: 'torn';
      readonly offset: number;
      readonly length: number;
      readonly sha256: string;
      /** Where a NUL cuts the torn line short, if one does (with `preallocated` only). */
      readonly nulInLine?: number;
    }
  | { readonly kind: 'unused'; readonly offset: number; readonly length: number };

export interface ReadLinesOptions {
  /**
   * The file may end in zero bytes written ahead of the records (a segment the writer preallocates).
   * The logger never writes a NUL (JSON escapes it), and every record it acknowledged was synced
   * before anything after it was written, so the first NUL marks where the records end: all zeros
   * from there to the end of the file are `unused`. Any other byte after it (or before it on the
   * same line) is a `torn` write: the disk kept some pages of the writes in flight and not others.
   */
  readonly preallocated?: boolean;
}

/**
 * The one line splitter of every log reader (the writer's recovery and the verifier). Streams the
 * file (opened without following symlinks; one chunk and one line in memory), split on LF (0x0A)
 * only. Not readline: it also ends lines at a lone CR, so a newline edited into a CR would split the
 * same way and hide the edit. A line longer than MAX_LINE_BYTES, or a tail that grows past it, ends
 * the stream with one `oversized` line, so memory stays flat even on a file with no newline at all.
 * Throws AuditUnreadableError when the file cannot be opened or is not a regular file.
 */
export async function* readLines(
  file: string,
  options: ReadLinesOptions = {},
): AsyncGenerator<FileLine> {
  const handle = await openRegularFile(file);
  const stream = handle.createReadStream();
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let offset = 0; // of the line being assembled
    let tail: TailScan | undefined;
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      if (tail) {
        tail.scan(buf);
        continue;
      }
      const zero = options.preallocated ? buf.indexOf(0) : -1;
      const end = zero === -1 ? buf.length : zero;
      let start = 0;
      for (let lf = buf.indexOf(10, start); lf !== -1 && lf < end; lf = buf.indexOf(10, start)) {
        pending.push(buf.subarray(start, lf));
        const raw = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        if (raw.length > MAX_LINE_BYTES) {
          yield { kind: 'oversized', offset };
          return;
        }
        yield { kind: 'line', raw, offset };
        offset += raw.length + 1;
        start = lf + 1;
      }
      if (start < end) {
        pending.push(buf.subarray(start, end));
        pendingBytes += end - start;
        if (pendingBytes > MAX_LINE_BYTES) {
          yield { kind: 'oversized', offset };
          return;
        }
      }
      if (zero !== -1) {
        tail = new TailScan(offset, pending, pendingBytes);
        tail.scan(buf.subarray(zero));
      }
    }
    if (tail) {
      yield tail.result();
    } else if (pending.length > 0) {
      const hash = createHash('sha256');
      for (const piece of pending) hash.update(piece);
      yield { kind: 'torn', offset, length: pendingBytes, sha256: hash.digest('hex') };
    }
  } finally {
    stream.destroy();
    await handle.close().catch(() => {});
  }
}

/**
 * Everything from the start of the line that holds the first NUL to the end of the file, in
 * constant memory: its length, and the SHA-256 of the bytes up to the last one that is not zero
 * (the zeros after it are unused space, not part of what a repair cuts).
 */
class TailScan {
  readonly #hash = createHash('sha256');
  /** Bytes up to and including the last non-zero byte seen. */
  #significant = 0;
  /** Zeros seen since then: hashed only if a non-zero byte follows them. */
  #zeros = 0;

  readonly #nulInLine: number | undefined;

  constructor(
    private readonly offset: number,
    lineStart: readonly Buffer[],
    lineStartBytes: number,
  ) {
    for (const piece of lineStart) this.#take(piece);
    this.#nulInLine = lineStartBytes > 0 ? offset + lineStartBytes : undefined;
  }

  scan(buf: Buffer): void {
    for (let at = 0; at < buf.length; ) {
      const nonZero = indexOfNonZero(buf, at);
      if (nonZero === -1) {
        this.#zeros += buf.length - at;
        return;
      }
      this.#zeros += nonZero - at;
      const zero = buf.indexOf(0, nonZero);
      const end = zero === -1 ? buf.length : zero;
      this.#take(buf.subarray(nonZero, end));
      at = end;
    }
  }

  result(): FileLine {
    if (this.#significant === 0) {
      return { kind: 'unused', offset: this.offset, length: this.#zeros };
    }
    return {
      kind: 'torn',
      offset: this.offset,
      length: this.#significant,
      sha256: this.#hash.digest('hex'),
      ...(this.#nulInLine === undefined ? {} : { nulInLine: this.#nulInLine }),
    };
  }

  #take(bytes: Buffer): void {
    if (bytes.length === 0) return;
    for (let left = this.#zeros; left > 0; left -= ZEROS.length) {
      this.#hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
    }
    this.#significant += this.#zeros + bytes.length;
    this.#zeros = 0;
    this.#hash.update(bytes);
  }
}

const ZEROS = Buffer.alloc(64 * 1024);

function indexOfNonZero(buf: Buffer, from: number): number {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return i;
  return -1;
}

async function openRegularFile(file: string): Promise<fs.promises.FileHandle> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    throw new AuditUnreadableError(`cannot open ${file}: ${(error as Error).message}`, error);
  }
  const isFile = await handle.stat().then(
    (stat) => stat.isFile(),
    () => false,
  );
  if (!isFile) {
    await handle.close().catch(() => {});
    throw new AuditUnreadableError(`${file} is not a regular file`);
  }
  return handle;
}
