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
 * threads while the calling thread copies the next chunks, then the tree over the leaf hashes is
 * built here. The result is identical to treeDigestSync for any thread count. Do not modify
 * `data` until the promise settles.
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
  const hashes = await hashLeavesInWorkers(data, resolved, leafCount);
  const leaves: Uint8Array[] = [];
  for (let i = 0; i < leafCount; i++)
    leaves.push(hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return { root: treeHash(leaves, 0, leafCount), leafSize: resolved.leafSize, leafCount };
}

/**
 * Feeds chunks to the pool, at most two per thread in flight so each worker always has its next
 * job queued. A plain ArrayBuffer is copied chunk by chunk into buffers the workers hand back
 * (no up-front copy of the whole input, and copying overlaps hashing); a SharedArrayBuffer is
 * read by the workers in place.
 */
function hashLeavesInWorkers(
  data: Uint8Array,
  options: ResolvedTreeDigestOptions,
  leafCount: number,
): Promise<Uint8Array> {
  const { leafSize, threads, chunkSize } = options;
  const out = new Uint8Array(leafCount * HASH_SIZE);
  const chunkCount = Math.ceil(data.length / chunkSize);
  const shared = isShared(data.buffer);
  const spareBuffers: ArrayBuffer[] = [];
  const maxInFlight = threads * 2;
  const pool = hashPool();

  return new Promise<Uint8Array>((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    let failed = false;

    const jobFor = (offset: number, length: number): HashJob => {
      if (shared) {
        const byteOffset = data.byteOffset + offset;
        return {
          buffer: data.buffer,
          byteOffset,
          byteLength: length,
          leafSize,
          returnBuffer: false,
        };
      }
      const buffer = spareBuffers.pop() ?? new ArrayBuffer(chunkSize);
      new Uint8Array(buffer, 0, length).set(data.subarray(offset, offset + length));
      return { buffer, byteOffset: 0, byteLength: length, leafSize, returnBuffer: true };
    };

    const pump = (): void => {
      while (!failed && inFlight < maxInFlight && next < chunkCount) {
        const offset = next * chunkSize;
        const length = Math.min(chunkSize, data.length - offset);
        next++;
        inFlight++;
        pool.run(jobFor(offset, length), threads).then(
          (result) => {
            inFlight--;
            out.set(result.hashes, (offset / leafSize) * HASH_SIZE);
            if (result.buffer !== null) spareBuffers.push(result.buffer);
            if (next === chunkCount && inFlight === 0) resolve(out);
            else pump();
          },
          (error: unknown) => {
            failed = true;
            reject(error);
          },
        );
      }
    };
    pump();
  });
}

function isShared(buffer: ArrayBufferLike): buffer is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
}
