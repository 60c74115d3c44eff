import fs from 'node:fs';
import { SecretKey } from '@vramseal/seal-crypto';
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import { type CheckpointPublicKey, toPublicKey } from '../checkpoint/keys.js';
import { AuditConfigError, AuditUnreadableError } from '../errors.js';
import { CHECKPOINT_FILE, listSegments, MANIFEST_FILE } from '../storage/layout.js';
import type { VerifyFailure } from './failure.js';
import { checkLog } from './log-check.js';

export type { VerifyFailure } from './failure.js';

export interface VerifyReport {
  readonly ok: boolean;
  /** Records verified (all of them when ok; those before `firstBadSeq` otherwise). */
  readonly events: number;
  /** The first record that cannot be trusted (every record below it verified); null when ok or when the problem is not tied to a record. */
  readonly firstBadSeq: number | null;
  readonly reason: VerifyFailure | null;
  /** One readable sentence about the problem (null when ok). */
  readonly detail: string | null;
  /** File where the problem was found. */
  readonly file: string | null;
  readonly segments: number;
  /** Checkpoints whose roots were recomputed and matched. */
  readonly checkpointsVerified: number;
  readonly latestCheckpoint: Checkpoint | null;
  /** What could be checked with the keys given. */
  readonly checked: { readonly macs: boolean; readonly signatures: boolean };
  /** Limits of this verification (e.g. no key given, events after the last checkpoint). */
  readonly warnings: readonly string[];
}

export interface VerifyOptions {
  /** Audit key: lets the verifier check every record MAC (detects any edit). */
  readonly key?: SecretKey;
  /** Ed25519 public key: checkpoints must carry a valid signature by it. */
  readonly publicKey?: CheckpointPublicKey;
  /**
   * A checkpoint kept outside the log directory (published, notarised, in another system): the
   * log must still contain exactly that tree. This is what catches an attacker who cuts the end
   * of the log AND the checkpoints that covered it.
   */
  readonly trustedCheckpoint?: Checkpoint | string | object;
}

/**
 * Verifies a log offline with whatever keys are given (see `checkLog`, the checker the writer also
 * opens a log with) and reports the first problem, with every record before it verified. Throws
 * `AuditUnreadableError` only when the directory cannot be read at all.
 */
export async function verifyAuditLog(
  dir: string,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const names = readLogDir(dir);
  const publicKey = options.publicKey === undefined ? undefined : toPublicKey(options.publicKey);
  if (options.key !== undefined) checkAuditKey(options.key);
  let result: Awaited<ReturnType<typeof checkLog>>;
  try {
    result = await checkLog(dir, names, {
      key: options.key,
      publicKey,
      trustedCheckpoint: options.trustedCheckpoint,
      tornTails: 'report',
    });
  } catch (error) {
    if (error instanceof AuditUnreadableError) throw error;
    throw new AuditUnreadableError(
      `cannot read the audit log in ${dir}: ${(error as Error).message}`,
      error,
    );
  }
  const warnings: string[] = [];
  if (!options.key) {
    warnings.push(
      'no audit key given: record MACs were not checked, only the chain links and checkpoints',
    );
  }
  if (!publicKey && !options.key) {
    warnings.push('no public key or audit key: checkpoints were not authenticated');
  }
  const found = result.failure;
  const covered = result.checkpoints.at(-1)?.treeSize ?? 0;
  if (found === null && covered < result.seq) {
    warnings.push(
      `records ${covered + 1}..${result.seq} come after the last checkpoint: their removal from the end would not be detectable`,
    );
  }
  return {
    ok: found === null,
    events: found?.seq == null ? result.seq : Math.min(result.seq, found.seq - 1),
    firstBadSeq: found?.seq ?? null,
    reason: found?.reason ?? null,
    detail: found?.detail ?? null,
    file: found?.file ?? null,
    segments: result.segments,
    checkpointsVerified: result.checkpointsVerified,
    latestCheckpoint: result.checkpoints.at(-1) ?? null,
    checked: { macs: options.key !== undefined, signatures: publicKey !== undefined },
    warnings,
  };
}

function readLogDir(dir: string): string[] {
  let names: string[];
  try {
    const stat = fs.lstatSync(dir);
    if (stat.isSymbolicLink())
      throw new AuditUnreadableError(`${dir} is a symbolic link; give the real directory`);
    if (!stat.isDirectory()) throw new AuditUnreadableError(`${dir} is not a directory`);
    names = fs.readdirSync(dir);
  } catch (error) {
    if (error instanceof AuditUnreadableError) throw error;
    throw new AuditUnreadableError(`cannot read ${dir}: ${(error as Error).message}`, error);
  }
  if (
    !names.some((n) => n === MANIFEST_FILE || n === CHECKPOINT_FILE || listSegments([n]).length > 0)
  ) {
    throw new AuditUnreadableError(
      `${dir} holds no audit log (no segment-*.ndjson, manifest or checkpoints)`,
    );
  }
  return names;
}

/** A key for another purpose (or not a key) would make every MAC look forged: say so instead. */
function checkAuditKey(key: unknown): void {
  if (!(key instanceof SecretKey) || key.purpose !== 'audit') {
    throw new AuditConfigError(
      'key',
      "key must be the log's audit key: a SecretKey from deriveKey(secret, 'audit') or loadKeyFile(path, 'audit')",
    );
  }
}
