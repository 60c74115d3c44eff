import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { DeviceAllocation } from '@vramseal/cuda-ffi';
import { createSha256, merkleRoot } from '@vramseal/seal-crypto';
import type { ChunkSource } from './source.js';

/** What one upload measured: the flat SHA-256 (host) and the tree root (from device memory). */
export interface UploadDigests {
  digest: Uint8Array;
  treeRoot: Uint8Array;
}

export interface UploadProgress {
  /** Bytes copied to the device so far. */
  bytesDone: number;
  totalBytes: number;
}

export interface UploadOptions {
  leafSize: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: UploadProgress) => void) | undefined;
  /** Called once when onProgress throws (it is the caller's code; the seal goes on). */
  onProgressError?: ((error: unknown) => void) | undefined;
}

/**
 * The tree is hashed in segments of a power-of-two number of leaves. Each completed segment is a
 * complete subtree of the RFC 6962 tree (when its leaf count is a power of two and it starts at a
 * multiple of its size), and the last, partial one is the subtree the RFC's split leaves over. So
 * the segment roots, combined with the same split rule, give exactly the tree root of the whole
 * shard: merkleRoot(segment roots) = MTH(all leaves). 4 MiB keeps the number of digest calls small
 * while leaving the backend room to hash one segment while the next is uploaded.
 */
const SEGMENT_TARGET_BYTES = 4 * 1024 * 1024;

function segmentBytes(leafSize: number): number {
  return Math.max(leafSize, SEGMENT_TARGET_BYTES);
}

/**
 * Streams `source` into `allocation` and measures both digests of the seal:
 * - the flat SHA-256 of the source's bytes, on the host, chunk by chunk;
 * - the tree root of what landed in device memory, computed there by the backend (CUDA kernel,
 *   or native threads on the mock) segment by segment as the segments land, while the host goes
 *   on with the next chunks.
 * Each chunk is copied to the device on this thread, then hashed. (Copying shared-memory chunks on
 * a worker with cuda-ffi's writeAsync was measured slower on the 2-core mock: the copies queue
 * behind the segment digests on libuv's pool; see the README's benchmarks.) Nothing is read back,
 * and the host holds no more than the source's current chunk whatever the shard size.
 *
 * On any failure the digests already started are awaited before the error is rethrown, so the
 * caller can free the allocation knowing no digest still reads it.
 */
export async function uploadAndDigest(
  allocation: DeviceAllocation,
  source: ChunkSource,
  { leafSize, signal, onProgress, onProgressError }: UploadOptions,
): Promise<UploadDigests> {
  const segment = segmentBytes(leafSize);
  const hasher = createSha256();
  const segmentRoots: Promise<Uint8Array>[] = [];
  const digestSegment = (offset: number, length: number) => {
    const root = allocation.treeDigest({ leafSize, offset, length });
    root.catch(() => {}); // observed below; never an unhandled rejection if we stop early
    segmentRoots.push(root);
  };
  const progress = reporter(source.byteLength, onProgress, onProgressError);
  let written = 0;
  let digested = 0;
  const chunks = source.chunks()[Symbol.asyncIterator]();
  try {
    while (true) {
      // A source that stalls (a stream that never yields again) must not hold the seal: the
      // abort wins the race, and the chunk it was waiting for is dropped.
      const next = await untilAborted(chunks.next(), signal);
      if (next.done) break;
      const chunk = next.value;
      allocation.write(written, chunk);
      written += chunk.length;
      for (; written - digested >= segment; digested += segment) digestSegment(digested, segment);
      hasher.update(chunk);
      progress(written);
      // Give the event loop a turn per chunk: a large upload from memory would otherwise run as
      // one long chain of microtasks, starving timers, I/O and the abort itself.
      await yieldToEventLoop();
    }
    signal?.throwIfAborted();
    if (digested < written) digestSegment(digested, written - digested);
    const roots = await Promise.all(segmentRoots);
    signal?.throwIfAborted();
    return {
      digest: hasher.digest(),
      treeRoot: roots.length === 1 ? roots[0]! : merkleRoot(roots),
    };
  } catch (error) {
    await Promise.allSettled(segmentRoots);
    // Not awaited: a stalled generator answers return() only when its pending step settles.
    chunks.return?.().catch(() => {});
    await source.close();
    throw error;
  }
}

/** `pending`, unless `signal` aborts first (then its reason is thrown). */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return pending;
  if (signal.aborted) {
    pending.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** onProgress after each landed chunk, once per amount; a throwing callback is reported once and dropped. */
function reporter(
  totalBytes: number,
  onProgress: UploadOptions['onProgress'],
  onProgressError: UploadOptions['onProgressError'],
): (bytesDone: number) => void {
  let last = 0;
  let broken = onProgress === undefined;
  return (bytesDone) => {
    if (broken || bytesDone === last) return;
    last = bytesDone;
    try {
      onProgress!({ bytesDone, totalBytes });
    } catch (error) {
      broken = true;
      onProgressError?.(error);
    }
  };
}
