import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flipBit, hex, readVectors, toHex } from './helpers.js';

interface ReferenceTree {
  leaves: string[];
  roots: string[];
  inclusion: { leafIndex: number; treeSize: number; proof: string[] }[];
  consistency: { size1: number; size2: number; proof: string[] }[];
}
const reference = readVectors<ReferenceTree>('rfc6962-reference-tree.json');
const referenceLeafHashes = reference.leaves.map((leaf) => leafHash(hex(leaf)));

/** RFC 6962 s2.1 written out recursively with @noble/hashes: an independent reference. */
function referenceRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return nobleSha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  const left = referenceRoot(leaves.slice(0, k));
  const right = referenceRoot(leaves.slice(k));
  return nobleSha256(new Uint8Array([1, ...left, ...right]));
}

const leafData = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 70 });

describe('RFC 6962 hashing', () => {
  it('leafHash and nodeHash add the 0x00 / 0x01 prefixes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        expect(toHex(leafHash(data))).toBe(toHex(nobleSha256(new Uint8Array([0, ...data]))));
        const l = nobleSha256(data);
        const r = nobleSha256(new Uint8Array([...data, 1]));
        expect(toHex(nodeHash(l, r))).toBe(toHex(nobleSha256(new Uint8Array([1, ...l, ...r]))));
      }),
    );
  });

  it('leafHash is right on both sides of the small-leaf scratch path, in any order (property)', () => {
    // Leaves up to 4 KiB are copied into one reused scratch buffer: a short leaf hashed after a
    // long one must not pick up the long one's bytes.
    const sizes = fc.oneof(fc.nat({ max: 64 }), fc.integer({ min: 4090, max: 4102 }));
    fc.assert(
      fc.property(fc.array(sizes, { minLength: 1, maxLength: 6 }), (lengths) => {
        for (const [i, length] of lengths.entries()) {
          const data = new Uint8Array(length).fill(i + 1);
          expect(toHex(leafHash(data))).toBe(toHex(nobleSha256(new Uint8Array([0, ...data]))));
        }
      }),
    );
  });

  it('the empty tree has the root SHA-256("") (RFC 6962 s2.1)', () => {
    expect(toHex(merkleRoot([]))).toBe(toHex(nobleSha256(new Uint8Array(0))));
  });

  it('matches the reference tree roots for every size 1..8', () => {
    reference.roots.forEach((rootHex, i) => {
      expect(toHex(merkleRoot(referenceLeafHashes.slice(0, i + 1)))).toBe(rootHex);
    });
  });

  it('matches an independent recursive RFC 6962 implementation on random trees', () => {
    fc.assert(
      fc.property(leafData, (data) => {
        const leaves = data.map(leafHash);
        expect(toHex(merkleRoot(leaves))).toBe(toHex(referenceRoot(leaves)));
      }),
    );
  });

  it('refuses arguments that are not 32-byte hashes, naming them', () => {
    expect(() => nodeHash(new Uint8Array(31), new Uint8Array(32))).toThrow(RangeError);
    expect(() => nodeHash(new Uint8Array(32), 'x' as unknown as Uint8Array)).toThrow(/right/);
    expect(() => merkleRoot([new Uint8Array(32), new Uint8Array(3)])).toThrow(/leafHashes\[1\]/);
    expect(() => merkleRoot('abc' as unknown as Uint8Array[])).toThrow(TypeError);
    expect(() => leafHash('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('proof generation matches the reference tree', () => {
  for (const c of reference.inclusion) {
    it(`inclusion proof of leaf ${c.leafIndex} in a tree of ${c.treeSize}`, () => {
      const proof = inclusionProof(c.leafIndex, referenceLeafHashes.slice(0, c.treeSize));
      expect(proof.map(toHex)).toEqual(c.proof);
    });
  }
  for (const c of reference.consistency) {
    it(`consistency proof ${c.size1} -> ${c.size2}`, () => {
      const proof = consistencyProof(c.size1, referenceLeafHashes.slice(0, c.size2));
      expect(proof.map(toHex)).toEqual(c.proof);
    });
  }
});

describe('proofs of random trees', () => {
  const treeAndIndex = leafData.chain((data) =>
    fc.record({ data: fc.constant(data), index: fc.nat({ max: data.length - 1 }) }),
  );

  it('every inclusion proof verifies (number and bigint index alike)', () => {
    fc.assert(
      fc.property(treeAndIndex, ({ data, index }) => {
        const leaves = data.map(leafHash);
        const root = merkleRoot(leaves);
        const proof = inclusionProof(index, leaves);
        expect(verifyInclusion(leaves[index]!, index, leaves.length, proof, root)).toBe(true);
        expect(
          verifyInclusion(leaves[index]!, BigInt(index), BigInt(leaves.length), proof, root),
        ).toBe(true);
      }),
    );
  });

  it('any single-bit change to an inclusion proof, leaf, root or index fails', () => {
    fc.assert(
      fc.property(treeAndIndex, fc.nat(), fc.nat(), ({ data, index }, pick, bit) => {
        const leaves = data.map((d, i) => leafHash(new Uint8Array([i, ...d])));
        const root = merkleRoot(leaves);
        const proof = inclusionProof(index, leaves);
        const leaf = leaves[index]!;
        const n = leaves.length;
        if (proof.length > 0) {
          const mutated = proof.map((h, i) => (i === pick % proof.length ? flipBit(h, bit) : h));
          expect(verifyInclusion(leaf, index, n, mutated, root)).toBe(false);
          expect(verifyInclusion(leaf, index, n, proof.slice(1), root)).toBe(false);
        }
        expect(verifyInclusion(flipBit(leaf, bit), index, n, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, index, n, proof, flipBit(root, bit))).toBe(false);
        expect(verifyInclusion(leaf, index, n, [...proof, leaf], root)).toBe(false);
        expect(verifyInclusion(leaf, index, n, [leaf, ...proof], root)).toBe(false);
        expect(verifyInclusion(leaf, index + n, n, proof, root)).toBe(false);
        if (n > 1) {
          // The same leaf claimed at another position fails (leaves are made distinct above).
          const other = (index + 1 + (pick % (n - 1))) % n;
          expect(verifyInclusion(leaf, other, n, proof, root)).toBe(false);
        }
      }),
    );
  });

  const treeAndSize1 = leafData.chain((data) =>
    fc.record({ data: fc.constant(data), size1: fc.integer({ min: 1, max: data.length }) }),
  );

  it('every consistency proof verifies', () => {
    fc.assert(
      fc.property(treeAndSize1, ({ data, size1 }) => {
        const leaves = data.map(leafHash);
        const proof = consistencyProof(size1, leaves);
        const root1 = merkleRoot(leaves.slice(0, size1));
        const root2 = merkleRoot(leaves);
        expect(verifyConsistency(size1, leaves.length, proof, root1, root2)).toBe(true);
        expect(verifyConsistency(BigInt(size1), BigInt(leaves.length), proof, root1, root2)).toBe(
          true,
        );
      }),
    );
  });

  it('any single-bit change to a consistency proof or either root fails', () => {
    fc.assert(
      fc.property(treeAndSize1, fc.nat(), fc.nat(), ({ data, size1 }, pick, bit) => {
        const leaves = data.map(leafHash);
        const n = leaves.length;
        const proof = consistencyProof(size1, leaves);
        const root1 = merkleRoot(leaves.slice(0, size1));
        const root2 = merkleRoot(leaves);
        if (proof.length > 0) {
          const mutated = proof.map((h, i) => (i === pick % proof.length ? flipBit(h, bit) : h));
          expect(verifyConsistency(size1, n, mutated, root1, root2)).toBe(false);
          expect(verifyConsistency(size1, n, proof.slice(0, -1), root1, root2)).toBe(false);
        }
        expect(verifyConsistency(size1, n, proof, flipBit(root1, bit), root2)).toBe(false);
        expect(verifyConsistency(size1, n, proof, root1, flipBit(root2, bit))).toBe(false);
        expect(verifyConsistency(size1, n, [...proof, root1], root1, root2)).toBe(false);
        expect(verifyConsistency(0, n, proof, root1, root2)).toBe(false);
      }),
    );
  });
});

describe('proof argument checks', () => {
  const leaves = [1, 2, 3].map((i) => leafHash(new Uint8Array([i])));
  const root = merkleRoot(leaves);

  it('generators refuse out-of-range indexes and sizes with a RangeError naming them', () => {
    expect(() => inclusionProof(3, leaves)).toThrow(/index must be between 0 and/);
    expect(() => inclusionProof(-1, leaves)).toThrow(RangeError);
    expect(() => consistencyProof(0, leaves)).toThrow(/size1 must be at least 1/);
    expect(() => consistencyProof(4n, leaves)).toThrow(RangeError);
    expect(() => inclusionProof(1.5, leaves)).toThrow(TypeError);
  });

  it('verifiers throw TypeError only for wrong argument types', () => {
    const proof = inclusionProof(0, leaves);
    expect(() => verifyInclusion(leaves[0]!, '0' as unknown as number, 3, proof, root)).toThrow(
      /index must be a safe integer number or a bigint/,
    );
    expect(() => verifyInclusion(leaves[0]!, 0, 2 ** 64, proof, root)).toThrow(TypeError);
    expect(() => verifyInclusion(leaves[0]!, 0, 3, null as unknown as Uint8Array[], root)).toThrow(
      /proof must be an array/,
    );
    expect(() => verifyConsistency(1, 3, ['x'] as unknown as Uint8Array[], root, root)).toThrow(
      /proof\[0\]/,
    );
  });

  it('verifiers return false (not throw) for impossible values', () => {
    const proof = inclusionProof(0, leaves);
    expect(verifyInclusion(leaves[0]!, -1, 3, proof, root)).toBe(false);
    expect(verifyInclusion(leaves[0]!, 0, 0, [], root)).toBe(false);
    expect(verifyInclusion(new Uint8Array(5), 0, 3, proof, root)).toBe(false);
    expect(verifyConsistency(2, 1, [], root, root)).toBe(false);
    expect(verifyConsistency(-1, 3, [], root, root)).toBe(false);
  });
});
