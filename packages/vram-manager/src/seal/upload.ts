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
 * Streams `source` into `allocation`: each chunk is written to the device and then hashed on the
 * host (the flat SHA-256), and every completed segment is handed to the backend for its tree
 * root, which it computes from device memory (CUDA kernel, or native threads on the mock) while
 * the host goes on with the next chunks. Nothing is read back; the host never holds more than
 * the source's current chunk.
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
  let written = 0;
  let digested = 0;
  let progressBroken = false;
  try {
    for await (const chunk of source.chunks()) {
      signal?.throwIfAborted();
      allocation.write(written, chunk);
      written += chunk.length;
      for (; written - digested >= segment; digested += segment) digestSegment(digested, segment);
      hasher.update(chunk);
      if (onProgress !== undefined && !progressBroken) {
        try {
          onProgress({ bytesDone: written, totalBytes: source.byteLength });
        } catch (error) {
          progressBroken = true;
          onProgressError?.(error);
        }
      }
    }
    signal?.throwIfAborted();
    if (digested < written) digestSegment(digested, written - digested);
    const roots = await Promise.all(segmentRoots);
    return {
      digest: hasher.digest(),
      treeRoot: roots.length === 1 ? roots[0]! : merkleRoot(roots),
    };
  } catch (error) {
    await Promise.allSettled(segmentRoots);
    await source.close();
    throw error;
  }
}
