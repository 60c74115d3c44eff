import { type FileHandle, open } from 'node:fs/promises';
import { describeValue, invalidInput, messageOf, sourceUnreadable } from '../errors.js';
import { checkInteger } from '../input/validate.js';

/** What `sealModel` reads: bytes in memory, a file path, or a stream of chunks. */
export type ShardSource = Uint8Array | string | AsyncIterable<Uint8Array>;

/** A source made uniform: its exact length and its chunks, read once. */
export interface ChunkSource {
  readonly byteLength: number;
  /** Where the bytes come from, for messages (`memory`, a path, `stream`). */
  readonly origin: string;
  chunks(): AsyncIterable<Uint8Array>;
  /** Releases what the source holds (an open file) if the seal ends early. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Bytes handed to the device per write, and per host hashing step. Big enough that per-call
 * overhead vanishes, small enough that the event loop is never blocked for long (a 4 MiB SHA-256
 * update is ~2 ms here) and that JS-visible memory stays at a couple of these whatever the shard.
 */
export const CHUNK_BYTES = 4 * 1024 * 1024;

export async function openSource(
  source: unknown,
  byteLength: unknown,
  maxBytes: number,
): Promise<ChunkSource> {
  if (source instanceof Uint8Array) return memorySource(source, byteLength, maxBytes);
  if (typeof source === 'string') return fileSource(source, byteLength, maxBytes);
  if (isAsyncIterable(source)) return streamSource(source, byteLength, maxBytes);
  throw invalidInput(
    'source',
    `source must be a Uint8Array, a file path or an AsyncIterable<Uint8Array>, got ${describeValue(source)}`,
  );
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function checkLength(bytes: number, maxBytes: number, argument: string): number {
  if (bytes === 0) {
    throw invalidInput(argument, `${argument} is 0 bytes: a shard must hold at least one byte`);
  }
  return checkInteger(bytes, argument, 1, maxBytes);
}

function matchDeclared(actual: number, declared: unknown, origin: string): void {
  if (declared !== undefined && declared !== actual) {
    throw invalidInput(
      'options.byteLength',
      `options.byteLength is ${describeValue(declared)} but ${origin} holds ${actual} bytes; leave it out or make them agree`,
    );
  }
}

function memorySource(data: Uint8Array, declared: unknown, maxBytes: number): ChunkSource {
  matchDeclared(data.length, declared, 'the source');
  const byteLength = checkLength(data.length, maxBytes, 'source.length');
  return {
    byteLength,
    origin: 'memory',
    async *chunks() {
      // Views, not copies: the device write copies each one straight from the caller's buffer.
      for (let offset = 0; offset < byteLength; offset += CHUNK_BYTES) {
        yield data.subarray(offset, Math.min(offset + CHUNK_BYTES, byteLength));
      }
    },
    async close() {},
  };
}

async function fileSource(path: string, declared: unknown, maxBytes: number): Promise<ChunkSource> {
  if (path.length === 0 || path.includes('\u0000')) {
    throw invalidInput(
      'source',
      'source is an empty path or holds a NUL byte; give the path of a weight file',
    );
  }
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw invalidInput(
      'source',
      `cannot open model file ${JSON.stringify(path)}: ${messageOf(error)}`,
      error,
    );
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw invalidInput(
        'source',
        `${JSON.stringify(path)} is not a regular file; give the path of a weight file`,
      );
    }
    matchDeclared(stat.size, declared, JSON.stringify(path));
    const byteLength = checkLength(stat.size, maxBytes, 'source file size');
    return {
      byteLength,
      origin: JSON.stringify(path),
      chunks: () => readFileChunks(handle, path, byteLength),
      close: () => handle.close().catch(() => {}),
    };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/**
 * Reads the file in CHUNK_BYTES pieces through two reused buffers: the next read is in flight
 * (on libuv's pool) while the caller copies and hashes the current piece. A buffer is read into
 * again when the caller asks for the next piece, so the caller must be done with a piece by then
 * (the upload copies and hashes it synchronously). A file that shrinks or
 * grows while it is read is refused: the seal would not describe the file.
 */
async function* readFileChunks(
  handle: FileHandle,
  path: string,
  byteLength: number,
): AsyncGenerator<Uint8Array> {
  // Two buffers: one being read (on libuv's pool) while the caller copies and hashes the other.
  const buffers = [Buffer.allocUnsafeSlow(CHUNK_BYTES), Buffer.allocUnsafeSlow(CHUNK_BYTES)];
  const readAt = (index: number, position: number) => {
    const length = Math.min(CHUNK_BYTES, byteLength - position);
    return readFully(handle, buffers[index]!, length, position, path);
  };
  try {
    let position = 0;
    let turn = 0;
    let pending = readAt(turn, position);
    while (position < byteLength) {
      const chunk = await pending;
      position += chunk.length;
      turn = (turn + 1) % buffers.length;
      pending = position < byteLength ? readAt(turn, position) : Promise.resolve(Buffer.alloc(0));
      // Keep a rejected read-ahead from surfacing as unhandled if the consumer stops early.
      pending.catch(() => {});
      yield chunk;
    }
    const extra = await handle.read(Buffer.alloc(1), 0, 1, byteLength);
    if (extra.bytesRead > 0) {
      throw sourceUnreadable(
        `model file ${JSON.stringify(path)} grew while it was being sealed; seal a file that does not change`,
      );
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

async function readFully(
  handle: FileHandle,
  buffer: Buffer,
  length: number,
  position: number,
  path: string,
): Promise<Buffer> {
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, done, length - done, position + done));
    } catch (error) {
      throw sourceUnreadable(
        `cannot read model file ${JSON.stringify(path)}: ${messageOf(error)}`,
        error,
      );
    }
    if (bytesRead === 0) {
      throw sourceUnreadable(
        `model file ${JSON.stringify(path)} shrank while it was being sealed (ended at byte ${position + done}); seal a file that does not change`,
      );
    }
    done += bytesRead;
  }
  return buffer.subarray(0, length);
}

function streamSource(
  stream: AsyncIterable<Uint8Array>,
  declared: unknown,
  maxBytes: number,
): ChunkSource {
  if (declared === undefined) {
    throw invalidInput(
      'options.byteLength',
      'options.byteLength is required for a streamed source: the device memory is reserved before the first byte arrives',
    );
  }
  const byteLength = checkLength(declared as number, maxBytes, 'options.byteLength');
  let iterator: AsyncIterator<Uint8Array> | undefined;
  return {
    byteLength,
    origin: 'stream',
    async *chunks() {
      const streamIterator = stream[Symbol.asyncIterator]();
      iterator = streamIterator; // for close()
      let received = 0;
      while (true) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await streamIterator.next();
        } catch (error) {
          throw sourceUnreadable(`the source stream failed: ${messageOf(error)}`, error);
        }
        if (next.done) break;
        const chunk = next.value;
        if (!(chunk instanceof Uint8Array)) {
          throw invalidInput(
            'source',
            `the stream yielded ${describeValue(chunk)}; it must yield Uint8Array chunks`,
          );
        }
        received += chunk.length;
        if (received > byteLength) {
          throw invalidInput(
            'source',
            `the stream produced more than options.byteLength (${byteLength}) bytes; declare the exact size`,
          );
        }
        // Large chunks are cut so no single write or hash step blocks the event loop for long.
        for (let offset = 0; offset < chunk.length; offset += CHUNK_BYTES) {
          yield offset === 0 && chunk.length <= CHUNK_BYTES
            ? chunk
            : chunk.subarray(offset, offset + CHUNK_BYTES);
        }
      }
      if (received !== byteLength) {
        throw invalidInput(
          'source',
          `the stream ended after ${received} of the ${byteLength} bytes declared in options.byteLength`,
        );
      }
    },
    async close() {
      // Not awaited: a stream stalled inside its own await answers return() only when that
      // await settles, which may be never. A hand-written iterator's return() may also throw or
      // give a plain object: either way the stream is told to stop, and nothing more is asked.
      const open = iterator;
      iterator = undefined; // told once, however often the seal's paths close the source
      try {
        Promise.resolve(open?.return?.()).catch(() => {});
      } catch {
        // It threw: the stream had its chance to clean up.
      }
    },
  };
}
