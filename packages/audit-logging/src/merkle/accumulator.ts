import { nodeHash, sha256 } from '@vramseal/seal-crypto';

/**
 * RFC 6962 tree head computed incrementally (a "compact range"): keeps only the roots of the
 * perfect subtrees that make up the tree, largest first, so appending a leaf and asking for the
 * root cost O(log n) and memory stays O(log n) however long the log grows. It gives the same root
 * as `merkleRoot` over all leaves (RFC 6962 section 2.1: MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))
 * with k the largest power of two below n, which unrolls into exactly this right fold).
 */
export class MerkleAccumulator {
  private readonly roots: Uint8Array[] = [];
  private readonly sizes: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  append(leafHash: Uint8Array): void {
    let hash = leafHash;
    let size = 1;
    // Merge equal-sized perfect subtrees, like carrying in binary addition.
    while (this.sizes.length > 0 && this.sizes[this.sizes.length - 1] === size) {
      this.sizes.pop();
      hash = nodeHash(this.roots.pop()!, hash);
      size *= 2;
    }
    this.roots.push(hash);
    this.sizes.push(size);
    this.count += 1;
  }

  /** MTH of all leaves appended so far; the empty tree's root is SHA-256 of nothing. */
  root(): Uint8Array {
    if (this.roots.length === 0) return sha256(new Uint8Array(0));
    let acc = this.roots[this.roots.length - 1]!;
    for (let i = this.roots.length - 2; i >= 0; i--) acc = nodeHash(this.roots[i]!, acc);
    return acc;
  }
}
