import type { Hash } from 'node:crypto';
import {
  consistencyProof as buildConsistencyProof,
  inclusionProof as buildInclusionProof,
  leafHash,
} from '@vramseal/seal-crypto';
import type { ConsistencyProof, InclusionProof } from '../checkpoint/proofs.js';
import { toHex } from '../envelope/hex.js';
import { AuditValidationError } from '../errors.js';
import type { MerkleAccumulator } from '../merkle/accumulator.js';
import type { LeafStore } from './leaf-store.js';

/** Bound on committed-but-unhashed records (their bytes stay in memory until hashed). */
const MAX_UNHASHED_RECORDS = 4096;

/**
 * The Merkle side of the writer: the RFC 6962 tree over every durable record, the leaf hashes kept
 * to serve proofs, and the committed lines not hashed yet. Leaves (and the active segment's running
 * SHA-256, for the manifest) are computed in bulk, off the path between a commit's fsync and the
 * caller's next event, where a cold CPU makes every microsecond count.
 */
export class LogTree {
  /** Committed batches whose leaves are not hashed yet. */
  #unhashed: Buffer[] = [];
  #unhashedRecords = 0;

  constructor(
    private readonly leaves: LeafStore,
    private readonly tree: MerkleAccumulator,
    /** The running SHA-256 of the segment the unhashed lines were written to. */
    private readonly segmentHash: () => Hash,
  ) {}

  /** Lines just made durable (each ending in a newline), `records` of them. */
  add(data: Buffer, records: number): void {
    this.#unhashed.push(data);
    this.#unhashedRecords += records;
    if (this.#unhashedRecords >= MAX_UNHASHED_RECORDS) this.hashPending();
  }

  /**
   * Leaf = RFC 6962 leaf hash of each committed line's bytes (without its newline). Validated text
   * may hold non-ASCII, so line boundaries come from scanning the bytes for newlines. Must run
   * before the segment changes (rotation) and before anything reads the tree.
   */
  hashPending(): void {
    for (const data of this.#unhashed) {
      this.segmentHash().update(data);
      for (
        let start = 0, nl = data.indexOf(10);
        nl !== -1;
        start = nl + 1, nl = data.indexOf(10, start)
      ) {
        const leaf = leafHash(data.subarray(start, nl));
        this.leaves.push(leaf);
        this.tree.append(leaf);
      }
    }
    this.#unhashed = [];
    this.#unhashedRecords = 0;
  }

  /** Hex RFC 6962 root over every durable record. */
  root(): string {
    this.hashPending();
    return toHex(this.tree.root());
  }

  /** Audit path for record `seq` in the tree of the first `treeSize` records. */
  inclusionProof(seq: number, treeSize: number): InclusionProof {
    this.checkTreeSize('treeSize', treeSize);
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > treeSize) {
      throw new AuditValidationError(
        'seq',
        `seq must be an integer in 1..${treeSize} (the tree size); got ${String(seq)}. Take a checkpoint() to cover newer records`,
      );
    }
    const path = buildInclusionProof(seq - 1, this.leaves.prefix(treeSize)).map(toHex);
    return { seq, treeSize, path };
  }

  /** Proof that the tree of `oldSize` records is a prefix of the tree of `newSize` records. */
  consistencyProof(oldSize: number, newSize: number): ConsistencyProof {
    this.checkTreeSize('newSize', newSize);
    if (!Number.isSafeInteger(oldSize) || oldSize < 1 || oldSize > newSize) {
      throw new AuditValidationError(
        'oldSize',
        `oldSize must be an integer in 1..${newSize}; got ${String(oldSize)}`,
      );
    }
    const path = buildConsistencyProof(oldSize, this.leaves.prefix(newSize)).map(toHex);
    return { oldSize, newSize, path };
  }

  private checkTreeSize(name: string, size: number): void {
    this.hashPending();
    const records = this.leaves.size;
    if (!Number.isSafeInteger(size) || size < 1 || size > records) {
      throw new AuditValidationError(
        name,
        `${name} must be an integer in 1..${records} (records in the log); got ${String(size)}`,
      );
    }
  }
}
