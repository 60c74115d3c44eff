import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { SecretKey } from '@vramseal/seal-crypto';
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import { GENESIS_MAC } from '../envelope/record.js';
import { AuditIntegrityError } from '../errors.js';
import type { MerkleAccumulator } from '../merkle/accumulator.js';
import type { ManifestEntry } from '../storage/manifest.js';
import type { CheckFailure } from '../verify/failure.js';
import { checkLog, type SegmentState } from '../verify/log-check.js';
import { LeafStore } from './leaf-store.js';

/** A torn tail cut off while opening: the bytes after the last newline of an append-only file. */
export interface Repair {
  file: string;
  droppedBytes: number;
  droppedSha256: string;
  /** Last record on disk when the log was reopened. */
  lastGoodSeq: number;
}

/** Everything the writer needs to continue the log exactly where it stopped. */
export interface RecoveredState {
  seq: number;
  lastMac: string;
  serviceId: string | undefined;
  leaves: LeafStore;
  tree: MerkleAccumulator;
  manifest: readonly ManifestEntry[];
  lastManifestMac: string;
  checkpoints: Checkpoint[];
  /** The segment to append to, and what it already holds. */
  active: SegmentState;
  repairs: Repair[];
}

/**
 * Re-reads the whole log with the audit key before appending to it, with the verifier's own
 * checker (`checkLog`): every record's MAC and chain link, every closed segment against its
 * manifest entry, every checkpoint against the tree. The chain then resumes from the last record
 * on disk, never from genesis. Only an unterminated last line (a torn write) of the active segment,
 * the manifest or the checkpoint file is repaired, and only after everything else verified;
 * anything else is an AuditIntegrityError and changes nothing, so the directory stays as evidence.
 */
export async function recoverLog(dir: string, key: SecretKey): Promise<RecoveredState> {
  const leaves = new LeafStore();
  const result = await checkLog(dir, fs.readdirSync(dir), {
    key,
    tornTails: 'repair',
    onLeaf: (leaf) => leaves.push(leaf),
  });
  if (result.failure !== null) throw integrityError(result.failure);
  const { seq } = result;
  for (const torn of result.tornTails) fs.truncateSync(torn.path, torn.offset);
  const repairs = result.tornTails.map((torn) => ({
    file: torn.file,
    droppedBytes: torn.length,
    droppedSha256: torn.sha256,
    lastGoodSeq: seq,
  }));
  const closedSegments = result.manifest.length;
  // A new log starts segment 1; after a crash between closing a segment (its manifest line
  // written) and creating the next one, the next one starts fresh.
  const active =
    result.lastSegment === undefined || closedSegments === result.segments
      ? emptySegment(result.segments + 1, seq + 1)
      : result.lastSegment;
  return {
    seq,
    lastMac: result.lastMac,
    serviceId: result.serviceId,
    leaves,
    tree: result.tree,
    manifest: result.manifest,
    lastManifestMac: result.manifest.at(-1)?.mac ?? GENESIS_MAC,
    checkpoints: [...result.checkpoints],
    active,
    repairs,
  };
}

function emptySegment(index: number, firstSeq: number): SegmentState {
  return { index, bytes: 0, hash: createHash('sha256'), firstSeq, firstTs: undefined };
}

function integrityError(found: CheckFailure): AuditIntegrityError {
  const where = `${found.file ?? 'log'}${found.seq === null ? '' : `, seq ${found.seq}`}`;
  return new AuditIntegrityError(
    found.seq,
    `audit log integrity check failed while opening (${where}): ${found.detail}. ` +
      'Run `vramseal audit verify <dir>` for a full report; keep the directory as evidence and open a new one',
  );
}
