import { leafHash, verifyConsistency, verifyInclusion } from '@vramseal/seal-crypto';
import { HEX64 } from '../envelope/formats.js';
import { fromHex } from '../envelope/hex.js';
import { type Checkpoint, decodeCheckpoint, verifyCheckpointSignature } from './checkpoint.js';
import type { CheckpointPublicKey } from './keys.js';

/** RFC 6962 section 2.1.1 audit path for record `seq` in the tree of the first `treeSize` records. */
export interface InclusionProof {
  readonly seq: number;
  readonly treeSize: number;
  /** Hex sibling hashes, leaf to root. */
  readonly path: readonly string[];
}

/** RFC 6962 section 2.1.2 proof that the tree of `oldSize` records is a prefix of the `newSize` one. */
export interface ConsistencyProof {
  readonly oldSize: number;
  readonly newSize: number;
  readonly path: readonly string[];
}

export type ProofCheck = { ok: true } | { ok: false; reason: string };

/** A proof path as the logger writes it: an array of 64-lowercase-hex hashes (the decoder skips bad hex). */
function badPath(path: unknown): string | undefined {
  if (!Array.isArray(path)) return 'proof.path is not an array';
  const at = path.findIndex((h) => typeof h !== 'string' || !HEX64.test(h));
  return at === -1 ? undefined : `proof.path[${at}] is not a SHA-256 hash in 64 lowercase hex`;
}

function checkSigned(
  cp: Checkpoint | string | object,
  publicKey: CheckpointPublicKey,
): Checkpoint | string {
  const parsed = decodeCheckpoint(cp);
  if (typeof parsed === 'string') return parsed;
  if (parsed.sig === undefined)
    return 'checkpoint carries no signature (the logger had no signingKey)';
  if (!verifyCheckpointSignature(parsed, publicKey))
    return 'checkpoint signature does not verify with this public key';
  return parsed;
}

/**
 * For someone holding only the public key: is this checkpoint signed by the log's key?
 * Accepts a `Checkpoint`, its JSON line, or a parsed object.
 */
export function verifyCheckpoint(
  checkpoint: Checkpoint | string | object,
  publicKey: CheckpointPublicKey,
): ProofCheck {
  const cp = checkSigned(checkpoint, publicKey);
  return typeof cp === 'string' ? { ok: false, reason: cp } : { ok: true };
}

/**
 * For someone holding only the public key: is `recordLine` (one line of a segment, exactly as
 * stored, without its newline) record `proof.seq` of the log that `checkpoint` signs?
 */
export function verifyRecordInclusion(
  recordLine: string,
  proof: InclusionProof,
  checkpoint: Checkpoint | string | object,
  publicKey: CheckpointPublicKey,
): ProofCheck {
  const cp = checkSigned(checkpoint, publicKey);
  if (typeof cp === 'string') return { ok: false, reason: cp };
  if (typeof recordLine !== 'string') return { ok: false, reason: 'recordLine is not a string' };
  const bad = badPath(proof?.path);
  if (bad) return { ok: false, reason: bad };
  if (proof.treeSize !== cp.treeSize) {
    return {
      ok: false,
      reason: `proof is for tree size ${proof.treeSize}, checkpoint signs ${cp.treeSize}`,
    };
  }
  if (!Number.isSafeInteger(proof.seq) || proof.seq < 1 || proof.seq > cp.treeSize) {
    return { ok: false, reason: `seq ${proof.seq} is outside 1..${cp.treeSize}` };
  }
  const leaf = leafHash(Buffer.from(recordLine, 'utf8'));
  const ok = verifyInclusion(
    leaf,
    proof.seq - 1,
    cp.treeSize,
    proof.path.map(fromHex),
    fromHex(cp.root),
  );
  return ok
    ? { ok: true }
    : { ok: false, reason: 'inclusion proof does not lead to the signed root' };
}

/**
 * For someone holding only the public key: does the newer checkpoint extend the older one
 * (nothing before `older.treeSize` was changed, removed or reordered)?
 */
export function verifyCheckpointConsistency(
  older: Checkpoint | string | object,
  newer: Checkpoint | string | object,
  proof: ConsistencyProof,
  publicKey: CheckpointPublicKey,
): ProofCheck {
  const a = checkSigned(older, publicKey);
  if (typeof a === 'string') return { ok: false, reason: `older ${a}` };
  const b = checkSigned(newer, publicKey);
  if (typeof b === 'string') return { ok: false, reason: `newer ${b}` };
  if (a.serviceId !== b.serviceId)
    return { ok: false, reason: 'checkpoints belong to different services' };
  const bad = badPath(proof?.path);
  if (bad) return { ok: false, reason: bad };
  if (proof.oldSize !== a.treeSize || proof.newSize !== b.treeSize) {
    return {
      ok: false,
      reason: `proof is for ${proof.oldSize} -> ${proof.newSize}, checkpoints are ${a.treeSize} -> ${b.treeSize}`,
    };
  }
  const ok = verifyConsistency(
    a.treeSize,
    b.treeSize,
    proof.path.map(fromHex),
    fromHex(a.root),
    fromHex(b.root),
  );
  return ok
    ? { ok: true }
    : { ok: false, reason: 'consistency proof does not connect the two signed roots' };
}
