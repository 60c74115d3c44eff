import fs from 'node:fs';
import { AuditUnreadableError } from '../errors.js';
import { MAX_LINE_BYTES } from './layout.js';

/** One line of a log file: its exact bytes (without the newline) and where it sits. */
export interface FileLine {
  readonly raw: Buffer;
  /** Byte offset of the line's first byte in the file. */
  readonly offset: number;
  /** False for a last line without its newline: a write cut short (a torn tail). */
  readonly terminated: boolean;
  /** The line is longer than MAX_LINE_BYTES: never written by the logger (raw is then empty). */
  readonly oversized: boolean;
}

/**
 * The one line splitter of every log reader (the writer's recovery and the verifier). Streams the
 * file (opened without following symlinks; one chunk and one line in memory), split on LF (0x0A)
 * only. Not readline: it also ends lines at a lone CR, so a newline edited into a CR would split the
 * same way and hide the edit. A line longer than MAX_LINE_BYTES, or a tail that grows past it, ends
 * the stream with one `oversized` line, so memory stays flat even on a file with no newline at all.
 * Throws AuditUnreadableError when the file cannot be opened or is not a regular file.
 */
export async function* readLines(file: string): AsyncGenerator<FileLine> {
  const handle = await openRegularFile(file);
  const stream = handle.createReadStream();
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let offset = 0; // of the line being assembled
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      let start = 0;
      for (let lf = buf.indexOf(10, start); lf !== -1; lf = buf.indexOf(10, start)) {
        pending.push(buf.subarray(start, lf));
        const raw = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        if (raw.length > MAX_LINE_BYTES) {
          yield oversizedLine(offset);
          return;
        }
        yield { raw, offset, terminated: true, oversized: false };
        offset += raw.length + 1;
        start = lf + 1;
      }
      if (start < buf.length) {
        pending.push(buf.subarray(start));
        pendingBytes += buf.length - start;
        if (pendingBytes > MAX_LINE_BYTES) {
          yield oversizedLine(offset);
          return;
        }
      }
    }
    if (pending.length > 0) {
      yield { raw: Buffer.concat(pending), offset, terminated: false, oversized: false };
    }
  } finally {
    stream.destroy();
    await handle.close().catch(() => {});
  }
}

function oversizedLine(offset: number): FileLine {
  return { raw: Buffer.alloc(0), offset, terminated: true, oversized: true };
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
