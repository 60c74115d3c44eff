import { createHash } from 'node:crypto';
import { assertHashArray, toBigIntCount } from '../errors/arguments.js';
import { outOfRange } from '../errors/errors.js';
import { hashChildren } from './hash.js';

/** RFC 6962 s2.1: the hash of an empty list is the hash of an empty string. */
const EMPTY_TREE_ROOT: Uint8Array = new Uint8Array(createHash('sha256').digest());

/**
 * RFC 6962 s2.1 Merkle Tree Hash of a list of leaf hashes (from leafHash). The empty list gives
 * SHA-256 of the empty string.
 */
export function merkleRoot(leafHashes: Uint8Array[]): Uint8Array {
  assertHashArray(leafHashes, 'leafHashes');
  return treeHash(leafHashes, 0, leafHashes.length);
}

/** MTH(D[lo:hi]) over already-validated 32-byte leaf hashes. */
export function treeHash(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  if (hi === lo) return new Uint8Array(EMPTY_TREE_ROOT);
  // Bottom-up pairing, carrying an odd last node up a level unchanged, builds exactly the RFC's
  // "largest power of two smaller than n" split, without recursion.
  let level: Uint8Array[] = leaves.slice(lo, hi);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return new Uint8Array(level[0]!);
}

/** RFC 6962 s2.1: k is the largest power of two smaller than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * RFC 6962 s2.1.1 audit path PATH(m, D[n]) for the leaf at `index`: the sibling hashes from the
 * leaf up to the root, in that order (what verifyInclusion expects).
 */
export function inclusionProof(index: number | bigint, leafHashes: Uint8Array[]): Uint8Array[] {
  assertHashArray(leafHashes, 'leafHashes');
  const m = toIndexBelow(index, 'index', leafHashes.length, 'leafHashes.length');
  return auditPath(m, leafHashes, 0, leafHashes.length);
}

function auditPath(m: number, leaves: Uint8Array[], lo: number, hi: number): Uint8Array[] {
  const n = hi - lo;
  if (n <= 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...auditPath(m, leaves, lo, lo + k), treeHash(leaves, lo + k, hi)];
  return [...auditPath(m - k, leaves, lo + k, hi), treeHash(leaves, lo, lo + k)];
}

/**
 * RFC 6962 s2.1.2 consistency proof PROOF(m, D[n]) that the first `size1` leaves are a prefix of
 * the tree over all of `leafHashes`. `size1` must be 1..leafHashes.length (a proof from the empty
 * tree is meaningless, RFC 9162 s2.1.4); size1 == n gives the empty proof.
 */
export function consistencyProof(size1: number | bigint, leafHashes: Uint8Array[]): Uint8Array[] {
  assertHashArray(leafHashes, 'leafHashes');
  const n = leafHashes.length;
  const m = toIndexBelow(size1, 'size1', n + 1, 'leafHashes.length + 1');
  if (m === 0) {
    throw outOfRange(
      'size1',
      'size1 must be at least 1: a consistency proof from the empty tree is meaningless (RFC 9162 s2.1.4)',
    );
  }
  return subProof(m, leafHashes, 0, n, true);
}

/** RFC 6962 s2.1.2 SUBPROOF(m, D[lo:hi], b). */
function subProof(
  m: number,
  leaves: Uint8Array[],
  lo: number,
  hi: number,
  b: boolean,
): Uint8Array[] {
  const n = hi - lo;
  if (m === n) return b ? [] : [treeHash(leaves, lo, hi)];
  const k = splitPoint(n);
  if (m <= k) return [...subProof(m, leaves, lo, lo + k, b), treeHash(leaves, lo + k, hi)];
  return [...subProof(m - k, leaves, lo + k, hi, false), treeHash(leaves, lo, lo + k)];
}

function toIndexBelow(value: unknown, name: string, limit: number, limitName: string): number {
  const big = toBigIntCount(value, name);
  if (big < 0n || big >= BigInt(limit)) {
    throw outOfRange(
      name,
      `${name} must be between 0 and ${limitName} - 1 (${limit - 1}), got ${big}`,
    );
  }
  return Number(big);
}
