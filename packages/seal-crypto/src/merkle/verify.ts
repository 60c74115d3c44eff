import { assertBytes, assertBytesArray, toBigIntCount } from '../errors/arguments.js';
import { timingSafeEqual } from '../hash/timing-safe-equal.js';
import { HASH_SIZE, hashChildren } from './hash.js';

// RFC 6962 s2.1.1 / RFC 9162 s2.1.3-2.1.4 proof verification, after transparency-dev/merkle's
// proof package. The verifiers return false for any malformed or wrong proof and throw only a
// TypeError for arguments of the wrong type.

/** True when `proof` shows that `leafHash` is leaf `index` of the tree of `treeSize` with `root`. */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number | bigint,
  treeSize: number | bigint,
  proof: Uint8Array[],
  root: Uint8Array,
): boolean {
  assertBytes(leafHash, 'leafHash');
  const m = toBigIntCount(index, 'index');
  const n = toBigIntCount(treeSize, 'treeSize');
  assertBytesArray(proof, 'proof');
  assertBytes(root, 'root');

  if (m < 0n || m >= n) return false;
  if (leafHash.length !== HASH_SIZE || !proof.every(isHashSized)) return false;
  const { inner, border } = decompInclProof(m, n);
  if (proof.length !== inner + border) return false;

  let calculated = chainInner(leafHash, proof.slice(0, inner), m);
  calculated = chainBorderRight(calculated, proof.slice(inner));
  return timingSafeEqual(calculated, root);
}

/**
 * True when `proof` shows that the tree of `size1` with `root1` is a prefix of the tree of
 * `size2` with `root2`. size1 == 0 is always false (RFC 9162: meaningless for the empty tree).
 */
export function verifyConsistency(
  size1: number | bigint,
  size2: number | bigint,
  proof: Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  const m = toBigIntCount(size1, 'size1');
  const n = toBigIntCount(size2, 'size2');
  assertBytesArray(proof, 'proof');
  assertBytes(root1, 'root1');
  assertBytes(root2, 'root2');

  if (m <= 0n || n < m) return false;
  if (m === n) return proof.length === 0 && timingSafeEqual(root1, root2);
  if (proof.length === 0 || !proof.every(isHashSized)) return false;

  const decomposed = decompInclProof(m - 1n, n);
  const shift = trailingZeros(m);
  const inner = decomposed.inner - shift;
  const border = decomposed.border;

  // The proof starts with the root of the 2^shift subtree, unless size1 is that very subtree.
  const size1IsSubtree = m === 1n << BigInt(shift);
  const seed = size1IsSubtree ? root1 : proof[0]!;
  const rest = size1IsSubtree ? proof : proof.slice(1);
  if (rest.length !== inner + border) return false;
  if (seed.length !== HASH_SIZE) return false;

  const innerPart = rest.slice(0, inner);
  const borderPart = rest.slice(inner);
  const mask = (m - 1n) >> BigInt(shift); // chaining starts at level `shift`
  const hash1 = chainBorderRight(chainInnerRight(seed, innerPart, mask), borderPart);
  const hash2 = chainBorderRight(chainInner(seed, innerPart, mask), borderPart);
  return timingSafeEqual(hash1, root1) && timingSafeEqual(hash2, root2);
}

/**
 * Splits the inclusion proof of leaf `index` in a tree of `size` at the level where the paths to
 * `index` and `size - 1` diverge: `inner` hashes below it, `border` hashes on the right border.
 */
function decompInclProof(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  const border = popCount(index >> BigInt(inner));
  return { inner, border };
}

/** Hashes up from `seed` at position `index`: a 0 bit means the proof hash is the right sibling. */
function chainInner(seed: Uint8Array, proof: Uint8Array[], index: bigint): Uint8Array {
  let hash = seed;
  proof.forEach((sibling, level) => {
    hash = bitAt(index, level) ? hashChildren(sibling, hash) : hashChildren(hash, sibling);
  });
  return hash;
}

/** Like chainInner, but only left siblings count: gives the root of the older, smaller tree. */
function chainInnerRight(seed: Uint8Array, proof: Uint8Array[], index: bigint): Uint8Array {
  let hash = seed;
  proof.forEach((sibling, level) => {
    if (bitAt(index, level)) hash = hashChildren(sibling, hash);
  });
  return hash;
}

/** Along the right border every proof hash is a left sibling. */
function chainBorderRight(seed: Uint8Array, proof: Uint8Array[]): Uint8Array {
  let hash = seed;
  for (const sibling of proof) hash = hashChildren(sibling, hash);
  return hash;
}

function isHashSized(hash: Uint8Array): boolean {
  return hash.length === HASH_SIZE;
}

function bitAt(value: bigint, bit: number): boolean {
  return ((value >> BigInt(bit)) & 1n) === 1n;
}

function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

function popCount(value: bigint): number {
  let count = 0;
  for (const digit of value.toString(2)) if (digit === '1') count++;
  return count;
}

function trailingZeros(value: bigint): number {
  let count = 0;
  while (value > 0n && (value & 1n) === 0n) {
    value >>= 1n;
    count++;
  }
  return count;
}
