/**
 * The leaf-hashing worker, as a small plain-JS string run with
 * `new Worker(code, { eval: true })`: it needs no file on disk, so it works the same from src
 * (vitest/tsx) and from dist (consumers), and uses only node:crypto. It loads its modules with
 * `process.getBuiltinModule` (Node >= 20.16), not `require`: an eval worker inherits the parent's
 * `--input-type`, so under `node --input-type=module` the same string runs as an ES module, where
 * `require` does not exist.
 *
 * Message in:  { id, buffer, byteOffset, byteLength, leafSize, prefixed, subtreeRoot, returnBuffer }
 *              `prefixed`: the bytes are laid out as [0x00 | leaf][0x00 | leaf]..., each leaf
 *              already behind its RFC 6962 prefix, so one one-shot hash() per leaf suffices.
 * Message out: { id, hashes }: the chunk's RFC 6962 leaf hashes (leafCount * 32 bytes), or with
 *              subtreeRoot set, the 32-byte Merkle Tree Hash of those leaves; plus `buffer` back
 *              (transferred) when returnBuffer is set, so the caller can reuse it; or { id, error }.
 */
export const WORKER_SOURCE = `'use strict';
const { parentPort } = process.getBuiltinModule('node:worker_threads');
const { createHash, hash } = process.getBuiltinModule('node:crypto');
const LEAF_PREFIX = new Uint8Array([0]);

function leafHashes(bytes, leafSize) {
  const hashes = [];
  for (let offset = 0; offset < bytes.length; offset += leafSize) {
    const leaf = bytes.subarray(offset, offset + leafSize);
    hashes.push(createHash('sha256').update(LEAF_PREFIX).update(leaf).digest());
  }
  return hashes;
}

// crypto.hash() (Node >= 20.12) is a one-shot digest without a Hash object: cheaper per leaf.
function prefixedLeafHashes(bytes, leafSize) {
  const hashes = [];
  for (let offset = 0; offset < bytes.length; offset += leafSize + 1) {
    hashes.push(hash('sha256', bytes.subarray(offset, offset + leafSize + 1), 'buffer'));
  }
  return hashes;
}

// Interior nodes (63 per 64-leaf chunk) are the hot tiny inputs: one reused [0x01 | left | right]
// scratch buffer and a one-shot hash() cost about half of a Hash object with three updates.
const nodeScratch = new Uint8Array(65);
nodeScratch[0] = 1;
function nodeHash(left, right) {
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 33);
  return hash('sha256', nodeScratch, 'buffer');
}

// RFC 6962 Merkle Tree Hash by bottom-up pairing (an odd last node moves up unchanged).
function treeHash(level) {
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

function concat(hashes) {
  const out = new Uint8Array(hashes.length * 32);
  hashes.forEach((digest, i) => out.set(digest, i * 32));
  return out;
}

parentPort.on('message', (job) => {
  try {
    const bytes = new Uint8Array(job.buffer, job.byteOffset, job.byteLength);
    const leaves = job.prefixed ? prefixedLeafHashes(bytes, job.leafSize) : leafHashes(bytes, job.leafSize);
    const hashes = concat(job.subtreeRoot ? [treeHash(leaves)] : leaves);
    const transfer = job.returnBuffer ? [hashes.buffer, job.buffer] : [hashes.buffer];
    parentPort.postMessage({ id: job.id, hashes, buffer: job.returnBuffer ? job.buffer : null }, transfer);
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: String((error && error.message) || error) });
  }
});
`;
