import { invalidType } from '../errors/errors.js';
import { HASH_SIZE } from '../merkle/hash.js';
import { treeHash } from '../merkle/tree.js';
import {
  type ResolvedTreeDigestOptions,
  resolveOptions,
  type TreeDigest,
  type TreeDigestOptions,
} from './options.js';
import { type HashJob, hashPool } from './pool.js';
import { leafCountOf, treeDigestSync } from './tree-digest-sync.js';

/**
 * `sha256-tree-v1` (see treeDigestSync) using every core: leaf-aligned chunks are hashed by worker
 * threads while the calling thread copies the next chunks. The result is identical to
 * treeDigestSync for any thread count and chunk size. Do not modify `data` until it settles.
 */
export async function treeDigest(
  data: Uint8Array,
  options: TreeDigestOptions = {},
): Promise<TreeDigest> {
  const resolved = resolveOptions(data, options);
  if (data.length < resolved.inlineBelow || data.length === 0) {
    return treeDigestSync(data, { leafSize: resolved.leafSize });
  }
  const leafCount = leafCountOf(data.length, resolved.leafSize);
  // When a chunk holds a power-of-two number of leaves, every full chunk is an aligned complete
  // subtree of the RFC 6962 tree, and the tree over the chunk roots (the last chunk's root
  // included) is the tree over all leaves: the workers then also build the lower tree levels.
  const chunkLeaves = resolved.chunkSize / resolved.leafSize;
  const subtreeRoot = isPowerOfTwo(chunkLeaves);
  const units = await hashChunksInWorkers(data, resolved, subtreeRoot);
  return { root: treeHash(units, 0, units.length), leafSize: resolved.leafSize, leafCount };
}

/**
 * Feeds chunks to the pool, at most two per thread in flight so each worker always has its next
 * job queued. A plain ArrayBuffer is copied chunk by chunk into buffers the workers hand back
 * (no up-front copy of the whole input, and copying overlaps hashing); a SharedArrayBuffer is
 * read by the workers in place. Returns the leaf hashes, or the chunk roots with subtreeRoot.
 */
function hashChunksInWorkers(
  data: Uint8Array,
  options: ResolvedTreeDigestOptions,
  subtreeRoot: boolean,
): Promise<Uint8Array[]> {
  const { leafSize, threads, chunkSize } = options;
  const chunkCount = Math.ceil(data.length / chunkSize);
  const results: Uint8Array[] = new Array(chunkCount);
  const shared = isShared(data.buffer);
  const inputLength = data.length;
  const maxInFlight = threads * 2;
  const pool = hashPool();

  const jobFor = (offset: number, length: number): HashJob => {
    if (shared) {
      const byteOffset = data.byteOffset + offset;
      return {
        buffer: data.buffer,
        byteOffset,
        byteLength: length,
        leafSize,
        prefixed: false,
        subtreeRoot,
        returnBuffer: false,
      };
    }
    assertUnchanged(data, inputLength);
    const buffer = takeChunkBuffer(chunkSize + chunkSize / leafSize);
    const byteLength = copyAsPrefixedLeaves(
      data.subarray(offset, offset + length),
      leafSize,
      buffer,
    );
    return {
      buffer,
      byteOffset: 0,
      byteLength,
      leafSize,
      prefixed: true,
      subtreeRoot,
      returnBuffer: true,
    };
  };

  return new Promise<Uint8Array[]>((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    let failed = false;

    const fail = (error: unknown): void => {
      failed = true;
      reject(error);
    };

    // pump() also runs from the .then below, where a throw (a detached input, a worker that cannot
    // start) would otherwise be an unhandled rejection and leave this promise pending forever.
    const pump = (): void => {
      try {
        while (!failed && inFlight < maxInFlight && next < chunkCount) {
          const chunk = next++;
          const offset = chunk * chunkSize;
          const job = jobFor(offset, Math.min(chunkSize, inputLength - offset));
          inFlight++;
          pool.run(job, threads).then((result) => {
            inFlight--;
            results[chunk] = result.hashes;
            if (result.buffer !== null) keepChunkBuffer(result.buffer, maxInFlight);
            if (failed) return;
            if (next === chunkCount && inFlight === 0) resolve(splitHashes(results));
            else pump();
          }, fail);
        }
      } catch (error) {
        fail(error);
      }
    };
    pump();
  });
}

/**
 * The caller's bytes are copied chunk by chunk while earlier chunks hash, so an input that is
 * transferred (detached) or resized in the meantime must fail loudly, not hash a different length.
 */
function assertUnchanged(data: Uint8Array, byteLength: number): void {
  if (data.length !== byteLength) {
    throw invalidType(
      'data',
      `data changed from ${byteLength} to ${data.length} bytes (transferred or resized) while ` +
        'treeDigest was running; leave data untouched until the promise settles',
    );
  }
}

/**
 * The copy has to happen anyway (workers cannot read a non-shared buffer), so it lays each leaf
 * out behind its RFC 6962 0x00 prefix: the worker then hashes every leaf with one one-shot call,
 * without a Hash object per leaf. Returns the bytes written.
 */
function copyAsPrefixedLeaves(chunk: Uint8Array, leafSize: number, buffer: ArrayBuffer): number {
  const out = new Uint8Array(buffer);
  let at = 0;
  for (let start = 0; start < chunk.length; start += leafSize) {
    const leaf = chunk.subarray(start, start + leafSize);
    out[at] = 0x00;
    out.set(leaf, at + 1);
    at += 1 + leaf.length;
  }
  return at;
}

// Chunk buffers come back from the workers and are kept for the next chunk and the next call:
// fresh memory costs page faults and zeroing on every call. At most a few (2 per thread) are kept.
const spareBuffers: ArrayBuffer[] = [];

function takeChunkBuffer(size: number): ArrayBuffer {
  while (spareBuffers.length > 0) {
    const buffer = spareBuffers.pop()!;
    if (buffer.byteLength === size) return buffer;
  }
  return new ArrayBuffer(size);
}

function keepChunkBuffer(buffer: ArrayBuffer, limit: number): void {
  if (spareBuffers.length < limit) spareBuffers.push(buffer);
}

/**
 * Stops every treeDigest worker thread (pending digests reject with TREE_DIGEST_WORKER_FAILED)
 * and drops the kept chunk buffers. Optional: idle workers never keep the process alive. The next
 * treeDigest starts fresh ones.
 */
export function shutdownTreeDigestPool(): Promise<void> {
  spareBuffers.length = 0;
  return hashPool().shutdown();
}

/** Flattens the per-chunk hash blocks into one list of 32-byte views, in chunk order. */
function splitHashes(blocks: Uint8Array[]): Uint8Array[] {
  const hashes: Uint8Array[] = [];
  for (const block of blocks) {
    for (let at = 0; at < block.length; at += HASH_SIZE)
      hashes.push(block.subarray(at, at + HASH_SIZE));
  }
  return hashes;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function isShared(buffer: ArrayBufferLike): buffer is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
}
