import { performance } from 'node:perf_hooks';
import { type SealFields, timingSafeEqual, verifySealSignature } from '@vramseal/seal-crypto';
import {
  describeValue,
  invalidInput,
  messageOf,
  type VerificationCheck,
  VramError,
} from '../errors.js';
import { escapeForRecord, isUint, KEY_ID, SHARD_ID_PATTERN } from '../input/validate.js';
import { sameSeal, sealFieldsOf, signatureOf } from '../shard/sealed-shard.js';
import { flatDigest } from '../verify/flat-digest.js';
import type { ManagerCore, ShardRecord } from './core.js';
import { auditNote, auditReason, snakeFacts } from './failures.js';
import { say } from './sentences.js';

/*
 * The one verification path every presented seal goes through (verify, shard-set verify, attest):
 * presented (signature, residency: no device needed), measured (tree root, and with deep the flat
 * digest, from device memory), judged against the seal. Any failure stops the manager.
 */

/** What verification found for a resident shard (used by verify and attest). */
export interface CheckedShard {
  record: ShardRecord;
  fields: SealFields;
  measuredRoot: Uint8Array;
}

/** A presented seal whose signature holds and which is resident here: ready to be measured. */
export interface PresentedShard {
  presented: Record<string, unknown>;
  record: ShardRecord;
  fields: SealFields;
}

/** A presented seal refused before any measurement: a bad signature, or not resident here. */
export interface Refusal {
  presented: Record<string, unknown>;
  check: VerificationCheck;
  why: string;
}

/** What was measured of a shard's device memory: its tree root, and with deep its flat digest. */
export type Measurement = [
  PromiseSettledResult<Uint8Array>,
  PromiseSettledResult<Uint8Array | undefined>,
];

interface FailureFacts {
  device?: number;
  expectedTreeRoot?: string;
  actualTreeRoot?: string;
  expectedDigest?: string;
  actualDigest?: string;
}

/** Signature, residency, tree root (and flat digest when deep): the one verification path. */
export async function checkResident(
  core: ManagerCore,
  shard: unknown,
  { deep, started = performance.now() }: { deep: boolean; started?: number },
): Promise<CheckedShard> {
  const held = present(core, shard);
  if ('why' in held) return refused(core, held, started);
  const { record, fields } = held;
  // Deep: the flat digest is read back and hashed on this thread while the backend recomputes
  // the tree root, so a deep verify costs about the flat digest, not the sum of both. Both run
  // as users of the shard (entered in the same turn as the checks above): a deallocation waits
  // for them before it frees the memory.
  const measured = await record.usage.during(() =>
    Promise.allSettled([
      record.allocation.treeDigest({ leafSize: fields.leafSize }),
      deep ? flatDigest(record.allocation) : Promise.resolve(undefined),
    ]),
  );
  return judge(core, held, measured, started);
}

/**
 * The checks of a presented seal that need no device, synchronously: its signature, and that it
 * is resident here. A refusal is returned (the caller fails it with refused); a value that is
 * not an object at all is INVALID_INPUT, thrown.
 */
function present(core: ManagerCore, shard: unknown): PresentedShard | Refusal {
  if (typeof shard !== 'object' || shard === null) {
    throw invalidInput(
      'shard',
      `shard must be a SealedShard from sealModel(), got ${describeValue(shard)}`,
    );
  }
  const presented = shard as Record<string, unknown>;
  const fields = sealFieldsOf(presented);
  const signature = signatureOf(shard);
  if (fields === undefined || signature === undefined || !signatureHolds(core, fields, signature)) {
    const why =
      signature === undefined
        ? 'it carries no signature (not a SealedShard issued by a manager)'
        : fields === undefined
          ? 'its fields are malformed'
          : fields.keyId !== core.config.sealKey.id
            ? `it names ${KEY_ID.test(fields.keyId) ? `seal key ${fields.keyId}` : 'a malformed seal key id'}, this manager holds ${core.config.sealKey.id}`
            : 'the signature does not match the fields';
    return { presented, check: 'signature', why };
  }
  const record = core.shards.get(fields.shardId);
  if (record === undefined || !sameSeal(record.shard, fields)) {
    const why =
      record === undefined
        ? 'no shard with this id is resident (deallocated, or never sealed here)'
        : 'the shard resident under this id carries a different seal';
    return { presented, check: 'unknown_shard', why };
  }
  return { presented, record, fields };
}

/** present, with a thrown error kept as a value (a set judges every shard). */
export function presentOrRefuse(
  core: ManagerCore,
  shard: unknown,
): PresentedShard | Refusal | { error: unknown } {
  try {
    return present(core, shard);
  } catch (error) {
    return { error };
  }
}

/** Fails a refused seal: stops the manager, audits, narrates, throws. */
export function refused(
  core: ManagerCore,
  { presented, check, why }: Refusal,
  started: number,
): Promise<never> {
  return verificationFailed(core, check, presented, why, {}, started);
}

/** Compares what was measured with the seal: the tree root, then (deep) the flat digest. */
export async function judge(
  core: ManagerCore,
  { presented, record, fields }: PresentedShard,
  [tree, flat]: Measurement,
  started: number,
): Promise<CheckedShard> {
  const fail = (check: VerificationCheck, why: string, facts: FailureFacts = {}) =>
    verificationFailed(core, check, presented, why, facts, started);
  const device = record.allocation.device;
  if (tree.status === 'rejected') {
    const why = `the tree root could not be recomputed (${messageOf(tree.reason)})`;
    return fail('tree_root', why, { device });
  }
  const measuredRoot = tree.value;
  if (!timingSafeEqual(measuredRoot, fields.treeRoot)) {
    return fail('tree_root', 'device memory no longer matches the sealed tree root', {
      device,
      expectedTreeRoot: record.shard.treeRoot,
      actualTreeRoot: Buffer.from(measuredRoot).toString('hex'),
    });
  }
  if (flat.status === 'rejected') {
    const why = `the flat digest could not be recomputed (${messageOf(flat.reason)})`;
    return fail('digest', why, { device });
  }
  if (flat.value !== undefined && !timingSafeEqual(flat.value, fields.digest)) {
    return fail('digest', 'the SHA-256 of device memory differs from the sealed digest', {
      device,
      expectedDigest: record.shard.digest,
      actualDigest: Buffer.from(flat.value).toString('hex'),
    });
  }
  return { record, fields, measuredRoot };
}

function signatureHolds(core: ManagerCore, fields: SealFields, signature: Uint8Array): boolean {
  if (fields.keyId !== core.config.sealKey.id) return false;
  try {
    return verifySealSignature(core.config.sealKey, fields, signature);
  } catch {
    return false; // fields no seal could have (e.g. shardIndex >= totalShards)
  }
}

/** Stops the manager, audits (durably) and narrates a failed check, then throws. */
async function verificationFailed(
  core: ManagerCore,
  check: VerificationCheck,
  presented: Record<string, unknown>,
  why: string,
  facts: FailureFacts,
  started: number,
): Promise<never> {
  const shardId = typeof presented.shardId === 'string' ? presented.shardId : '';
  // A valid id is recorded as it is; anything else (a forged object's) only escaped.
  const recordId = SHARD_ID_PATTERN.test(shardId) ? shardId : escapeForRecord(shardId) || '(none)';
  const device = facts.device ?? (isUint(presented.gpuDevice) ? presented.gpuDevice : 0);
  core.stop({ cause: 'seal_verification_failed', check, shardId: recordId, at: Date.now() });
  core.metrics.verified('failure', (performance.now() - started) / 1000);
  core.say('error', {
    action: 'verify_failed',
    target: recordId,
    shardId: recordId,
    device,
    durationMs: performance.now() - started,
    human: say.verifyFailed(recordId, check),
    errorKind: 'SEAL_VERIFICATION_FAILED',
    context: { check, reason: why, ...snakeFacts({ ...facts, device: undefined }) },
  });
  const keyId =
    typeof presented.keyId === 'string' && KEY_ID.test(presented.keyId)
      ? presented.keyId
      : undefined;
  const audited = await core.audit.critical({
    type: 'seal_verification_failed',
    shardId: recordId,
    gpuDevice: device,
    workerId: core.config.workerId,
    // `why` may quote a device's message: the record must still be one the log accepts.
    reason: auditReason(`${check}: ${why}`, check),
    check,
    ...(keyId === undefined ? {} : { keyId }),
    ...(facts.expectedTreeRoot === undefined ? {} : { expectedTreeRoot: facts.expectedTreeRoot }),
    ...(facts.actualTreeRoot === undefined ? {} : { actualTreeRoot: facts.actualTreeRoot }),
    ...(facts.expectedDigest === undefined ? {} : { expectedDigest: facts.expectedDigest }),
    ...(facts.actualDigest === undefined ? {} : { actualDigest: facts.actualDigest }),
  });
  throw new VramError(
    'SEAL_VERIFICATION_FAILED',
    `shard ${recordId} failed its ${check} check: ${why}. The manager is stopped: investigate, deallocate the shard, then reset({ operator, reason })` +
      auditNote(audited),
    { check, shardId: recordId, device },
  );
}
