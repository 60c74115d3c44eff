import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  inclusionProof,
  merkleRoot,
  treeDigestSync,
  treeLeafHashes,
  verifyInclusion,
} from '@vramseal/seal-crypto';
import { describe, expect, it } from 'vitest';
import { pseudoRandomBytes, toHex } from './helpers.js';

/** RFC 6962 leaf hash from its definition, with an independent SHA-256: SHA-256(0x00 || leaf). */
function referenceLeafHash(leaf: Uint8Array): string {
  const prefixed = new Uint8Array(leaf.length + 1);
  prefixed.set(leaf, 1);
  return toHex(nobleSha256(prefixed));
}

describe('treeLeafHashes', () => {
  it.each([1, 64, 1000, 4096, 4097, 10_000])(
    'of %i bytes: the leaves of sha256-tree-v1',
    (size) => {
      const data = pseudoRandomBytes(size, size);
      const leaves = treeLeafHashes(data, { leafSize: 1024 });
      const expected: string[] = [];
      for (let at = 0; at < size; at += 1024)
        expected.push(referenceLeafHash(data.subarray(at, at + 1024)));
      expect(leaves.map(toHex)).toEqual(expected);
      expect(toHex(merkleRoot(leaves))).toBe(toHex(treeDigestSync(data, { leafSize: 1024 }).root));
    },
  );

  it('proves one leaf against the tree root, and only that leaf', () => {
    const data = pseudoRandomBytes(20_000, 7);
    const leaves = treeLeafHashes(data, { leafSize: 2048 });
    const { root } = treeDigestSync(data, { leafSize: 2048 });
    const proof = inclusionProof(3, leaves);
    expect(verifyInclusion(leaves[3]!, 3, leaves.length, proof, root)).toBe(true);
    expect(verifyInclusion(leaves[4]!, 3, leaves.length, proof, root)).toBe(false);
  });

  it('has no leaves for empty input', () => {
    expect(treeLeafHashes(new Uint8Array(0))).toEqual([]);
  });

  it('checks its arguments like treeDigestSync', () => {
    expect(() => treeLeafHashes(new Uint8Array(8), { leafSize: 1000 })).toThrow(RangeError);
    expect(() => treeLeafHashes('bytes' as unknown as Uint8Array)).toThrow(/data/);
  });
});
