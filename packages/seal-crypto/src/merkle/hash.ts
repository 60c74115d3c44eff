import { createHash, hash } from 'node:crypto';
import { assertBytes, assertBytesOfLength } from '../errors/arguments.js';

/** RFC 6962 s2.1 domain-separation prefixes: leaves and interior nodes can never collide. */
const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = 0x01;
export const HASH_SIZE = 32;

/** RFC 6962 s2.1: MTH({d}) = SHA-256(0x00 || d). */
export function leafHash(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  return hashLeaf(data);
}

/** RFC 6962 s2.1: node = SHA-256(0x01 || left || right); both children are 32-byte hashes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertBytesOfLength(left, HASH_SIZE, 'left');
  assertBytesOfLength(right, HASH_SIZE, 'right');
  return hashChildren(left, right);
}

/**
 * Leaves up to this size are copied behind a 0x00 in one reused scratch buffer and hashed with the
 * one-shot crypto.hash() (the audit log hashes one ~500-byte line per record); larger ones, such
 * as 4 MiB shard leaves, are streamed through a Hash object rather than copied.
 */
const SMALL_LEAF = 4096;
const leafScratch = new Uint8Array(1 + SMALL_LEAF);

export function hashLeaf(data: Uint8Array): Uint8Array {
  if (data.length <= SMALL_LEAF) {
    leafScratch.set(data, 1);
    const leaf = hashPrefixedLeaf(leafScratch.subarray(0, 1 + data.length));
    // The leaf may be model weights or an audit record: no copy of it outlives the call.
    leafScratch.fill(0, 1, 1 + data.length);
    return leaf;
  }
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(data).digest());
}

/**
 * hashLeaf of a leaf already laid out behind its 0x00 prefix (`record` = 0x00 || leaf): one
 * one-shot crypto.hash() (Node >= 20.12), cheaper per leaf than a Hash object with two updates.
 */
export function hashPrefixedLeaf(record: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha256', record, 'buffer'));
}

// Hot path (one call per interior node): one reused 65-byte scratch buffer and the one-shot
// crypto.hash() instead of a Hash object per node, which is several times cheaper for tiny inputs.
const nodeScratch = new Uint8Array(1 + 2 * HASH_SIZE);
nodeScratch[0] = NODE_PREFIX;

/** Unchecked nodeHash for callers that validated their inputs (or must not throw on them). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return new Uint8Array(hash('sha256', nodeScratch, 'buffer'));
}
