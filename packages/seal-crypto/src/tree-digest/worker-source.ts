/**
 * The leaf-hashing worker, as a small plain-JS (CommonJS) string run with
 * `new Worker(code, { eval: true })`: it needs no file on disk, so it works the same from src
 * (vitest/tsx) and from dist (consumers), and uses only node:crypto.
 *
 * Message in:  { id, buffer, byteOffset, byteLength, leafSize, returnBuffer }
 * Message out: { id, hashes } (leafCount * 32 bytes of RFC 6962 leaf hashes), plus `buffer` back
 *              (transferred) when returnBuffer is set, so the caller can reuse it; or { id, error }.
 */
export const WORKER_SOURCE = `'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const LEAF_PREFIX = new Uint8Array([0]);

function leafHashes(bytes, leafSize) {
  const count = Math.ceil(bytes.length / leafSize);
  const out = new Uint8Array(count * 32);
  for (let i = 0; i < count; i++) {
    const leaf = bytes.subarray(i * leafSize, (i + 1) * leafSize);
    out.set(createHash('sha256').update(LEAF_PREFIX).update(leaf).digest(), i * 32);
  }
  return out;
}

parentPort.on('message', (job) => {
  try {
    const hashes = leafHashes(new Uint8Array(job.buffer, job.byteOffset, job.byteLength), job.leafSize);
    const transfer = job.returnBuffer ? [hashes.buffer, job.buffer] : [hashes.buffer];
    parentPort.postMessage({ id: job.id, hashes, buffer: job.returnBuffer ? job.buffer : null }, transfer);
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: String((error && error.message) || error) });
  }
});
`;
