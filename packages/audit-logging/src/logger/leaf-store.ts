/**
 * Leaf hashes of every record, 32 bytes each in one growing buffer (32 MB per million records),
 * so inclusion and consistency proofs can be served without re-reading the segments. One buffer
 * instead of a million small Uint8Array objects keeps the heap small and GC quiet.
 */
export class LeafStore {
  private buf = Buffer.allocUnsafe(32 * 1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(hash: Uint8Array): void {
    if ((this.count + 1) * 32 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.count * 32);
      this.buf = bigger;
    }
    this.buf.set(hash, this.count * 32);
    this.count += 1;
  }

  /** Views (not copies) of the first `n` leaf hashes, in the form seal-crypto's proofs take. */
  prefix(n: number): Uint8Array[] {
    const out: Uint8Array[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.buf.subarray(i * 32, i * 32 + 32);
    return out;
  }
}
