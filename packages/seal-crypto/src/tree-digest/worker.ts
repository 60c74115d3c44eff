/**
 * The leaf-hashing worker of treeDigest's pool: a module of its own that hashes with this
 * package's one RFC 6962 implementation (merkle/). The pool starts it from the file next to its
 * own module: worker.ts from src (run through tsx), worker.js from dist.
 *
 * Message in:  a HashJob plus its `id` (see pool.ts). With `prefixed`, the bytes are laid out as
 *              [0x00 | leaf][0x00 | leaf]..., each leaf already behind its RFC 6962 prefix.
 * Message out: { id, hashes }: the chunk's leaf hashes (leafCount * 32 bytes), or with
 *              `subtreeRoot` the 32-byte Merkle Tree Hash of those leaves; plus `buffer` back
 *              (transferred) when `returnBuffer` is set, so the caller can reuse it; or { id, error }.
 */
import { parentPort } from 'node:worker_threads';
import { HASH_SIZE, hashLeaf, hashPrefixedLeaf } from '../merkle/hash.js';
import { treeHash } from '../merkle/tree.js';
import type { HashJob } from './pool.js';

function leafHashes(bytes: Uint8Array, leafSize: number): Uint8Array[] {
  const hashes: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += leafSize) {
    hashes.push(hashLeaf(bytes.subarray(offset, offset + leafSize)));
  }
  return hashes;
}

function prefixedLeafHashes(bytes: Uint8Array, leafSize: number): Uint8Array[] {
  const hashes: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += leafSize + 1) {
    hashes.push(hashPrefixedLeaf(bytes.subarray(offset, offset + leafSize + 1)));
  }
  return hashes;
}

function concat(hashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  hashes.forEach((digest, i) => {
    out.set(digest, i * HASH_SIZE);
  });
  return out;
}

const port = parentPort;
if (port === null) throw new Error('tree-digest/worker is a worker thread, not a module to import');

port.on('message', (job: HashJob & { id: number }) => {
  try {
    const bytes = new Uint8Array(job.buffer, job.byteOffset, job.byteLength);
    const leaves = job.prefixed
      ? prefixedLeafHashes(bytes, job.leafSize)
      : leafHashes(bytes, job.leafSize);
    const hashes = concat(job.subtreeRoot ? [treeHash(leaves, 0, leaves.length)] : leaves);
    const transfer: ArrayBuffer[] = [hashes.buffer as ArrayBuffer];
    if (job.returnBuffer) transfer.push(job.buffer as ArrayBuffer);
    port.postMessage(
      { id: job.id, hashes, buffer: job.returnBuffer ? job.buffer : null },
      transfer,
    );
  } catch (error) {
    port.postMessage({ id: job.id, error: String((error as Error)?.message ?? error) });
  }
});
