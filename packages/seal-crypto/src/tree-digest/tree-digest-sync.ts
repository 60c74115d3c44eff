import { hashLeaf } from '../merkle/hash.js';
import { treeHash } from '../merkle/tree.js';
import { resolveLeafSize, type TreeDigest, type TreeDigestSyncOptions } from './options.js';

/**
 * `sha256-tree-v1`, on the calling thread: leaves are consecutive `leafSize`-byte slices of `data`
 * (the last may be short), each hashed as an RFC 6962 leaf; the root is their Merkle Tree Hash.
 * Empty input has no leaves: leafCount 0 and root = merkleRoot([]) = SHA-256("").
 */
export function treeDigestSync(data: Uint8Array, options: TreeDigestSyncOptions = {}): TreeDigest {
  const leafSize = resolveLeafSize(data, options);
  const leaves = leafHashesOf(data, leafSize);
  return { root: treeHash(leaves, 0, leaves.length), leafSize, leafCount: leaves.length };
}

export function leafCountOf(byteLength: number, leafSize: number): number {
  return Math.ceil(byteLength / leafSize);
}

/**
 * The RFC 6962 leaf hashes of `sha256-tree-v1`, in order: what `inclusionProof(index, leaves)` and
 * `consistencyProof(size1, leaves)` take to prove one leaf of a sealed shard against its tree root.
 */
export function treeLeafHashes(
  data: Uint8Array,
  options: TreeDigestSyncOptions = {},
): Uint8Array[] {
  return leafHashesOf(data, resolveLeafSize(data, options));
}

function leafHashesOf(data: Uint8Array, leafSize: number): Uint8Array[] {
  const leaves: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += leafSize) {
    leaves.push(hashLeaf(data.subarray(offset, offset + leafSize)));
  }
  return leaves;
}
