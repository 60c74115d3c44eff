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

export function segmentBytes(leafSize: number): number {
  return Math.max(leafSize, SEGMENT_TARGET_BYTES);
}

/**
 * Streams `source` into `allocation` and measures both digests of the seal:
 * - the flat SHA-256 of the source's bytes, on the host, chunk by chunk;
 * - the tree root of what landed in device memory, computed there by the backend (CUDA kernel,
 *   or native threads on the mock) segment by segment as the segments land.
 * Chunks in a SharedArrayBuffer (the file reader's own buffers, or a caller's) are copied to the
 * device on a worker thread while the host hashes them, with one more copy in flight behind; other
 * chunks, which could be detached under a worker, are copied on this thread. Nothing is read
 * back, and the host holds no more than the source's few chunk buffers whatever the shard size.
 *
 * On any failure the copies and digests already started are awaited before the error is
 * rethrown, so the caller can free the allocation knowing nothing still touches it.
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
  let landed = 0; // bytes known to be in device memory
  let digested = 0; // bytes handed to segment digests
  let previous: { copy: Promise<void>; end: number } | undefined;
  const settlePrevious = async () => {
    if (previous === undefined) return;
    await previous.copy;
    landed = previous.end;
    previous = undefined;
    for (; landed - digested >= segment; digested += segment) digestSegment(digested, segment);
  };
  const progress = reporter(source.byteLength, onProgress, onProgressError);
  let written = 0;
  try {
    for await (const chunk of source.chunks()) {
      signal?.throwIfAborted();
      const copy = copyToDevice(allocation, written, chunk);
      written += chunk.length;
      hasher.update(chunk);
      // The copy before this one must be done before the source may reuse its buffer (the file
      // reader keeps three) and before its segment is digested.
      await settlePrevious();
      previous = { copy: copy ?? Promise.resolve(), end: written };
      if (copy === undefined) await settlePrevious(); // copied on this thread: landed already
      progress(landed);
    }
    await settlePrevious();
    progress(landed);
    signal?.throwIfAborted();
    if (digested < landed) digestSegment(digested, landed - digested);
    const roots = await Promise.all(segmentRoots);
    return {
      digest: hasher.digest(),
      treeRoot: roots.length === 1 ? roots[0]! : merkleRoot(roots),
    };
  } catch (error) {
    await previous?.copy.catch(() => {});
    await Promise.allSettled(segmentRoots);
    await source.close();
    throw error;
  }
}

/**
 * A device copy: on a worker thread for shared memory (the promise of its landing), on this
 * thread for anything else (undefined: landed on return).
 */
function copyToDevice(
  allocation: DeviceAllocation,
  offset: number,
  chunk: Uint8Array,
): Promise<void> | undefined {
  if (chunk.buffer instanceof SharedArrayBuffer) {
    const copy = allocation.writeAsync(offset, chunk);
    copy.catch(() => {}); // awaited by the caller; never unhandled if the caller stops early
    return copy;
  }
  allocation.write(offset, chunk);
  return undefined;
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
