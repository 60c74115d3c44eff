import { performance } from 'node:perf_hooks';
import type { DeviceAllocation } from '@vramseal/cuda-ffi';
import { signSeal } from '@vramseal/seal-crypto';
import { messageOf, VramError } from '../errors.js';
import type { ShardSource } from '../seal/source.js';
import { uploadAndDigest } from '../seal/upload.js';
import { SealedShard, type SealedShardJSON, sealFieldsOf } from '../shard/sealed-shard.js';
import type { ManagerCore } from './core.js';
import { auditNote, sealFailure, sealFailureWords } from './failures.js';
import { allocate, enforceResidency, freeAfterFailedSeal } from './seal-memory.js';
import { type SealRequest, sealRequest } from './seal-request.js';
import { say } from './sentences.js';
import type { SealOptions } from './types.js';
import { ShardUsage } from './usage.js';

/*
 * Sealing a shard (see VramManager.sealModel): the request checked, device memory taken, the bytes
 * uploaded and hashed on their way, the expected SHA-256 checked, the fields signed, and the shard
 * put on the books. A seal that fails frees its memory and says why, as a VramError.
 */

/** Seals one shard: the request, the memory, the seal itself; any failure is typed and narrated. */
export async function seal(
  core: ManagerCore,
  source: ShardSource,
  options: SealOptions,
): Promise<SealedShard> {
  core.assertServing('seal');
  const started = performance.now();
  const request = await sealRequest(core, source, options);
  const { shardId } = request;
  // The seal listens to its caller's signal and to the manager's own: a stop or close aborts it.
  const internal = new AbortController();
  core.sealAborts.add(internal);
  const userSignal = request.options.signal;
  const signal =
    userSignal === undefined ? internal.signal : AbortSignal.any([internal.signal, userSignal]);
  try {
    core.assertServing('seal');
    const allocation = await allocate(core, request);
    try {
      signal.throwIfAborted();
      await enforceResidency(core, allocation, shardId);
      const issued = await fillAndSign(core, allocation, request, started, signal);
      core.shards.set(shardId, {
        issued,
        shard: Object.freeze(issued.toJSON()),
        allocation,
        usage: new ShardUsage(),
      });
      return issued;
    } catch (error) {
      freeAfterFailedSeal(core, allocation, shardId);
      throw error;
    }
  } catch (error) {
    // Closing the source never replaces the reason the seal failed.
    await request.source.close().catch(() => {});
    const failure = sealFailure(error, request.options.signal);
    core.metrics.sealed('failure', (performance.now() - started) / 1000);
    core.say(failure.code === 'INSUFFICIENT_VRAM' ? 'warn' : 'error', {
      action: 'seal',
      target: shardId,
      shardId,
      human: say.sealFailed(shardId, sealFailureWords(failure)),
      errorKind: failure.code,
      durationMs: performance.now() - started,
    });
    throw failure;
  } finally {
    core.sealAborts.delete(internal);
    core.sealing.delete(shardId);
  }
}

/** Upload + digests, the expected-hash check, then the signature: the seal itself. */
async function fillAndSign(
  core: ManagerCore,
  allocation: DeviceAllocation,
  request: SealRequest,
  started: number,
  signal: AbortSignal,
): Promise<SealedShard> {
  const digests = await upload(core, allocation, request, signal);
  if (request.expectedSha256 !== undefined && request.expectedSha256 !== digests.digest) {
    await refuseDigestMismatch(core, request, allocation.device, digests.digest);
  }
  core.assertServing('seal');
  const shard = sign(core, allocation, request, digests);
  recordSealed(core, allocation, request, digests, started);
  return shard;
}

/** The digests of a shard's bytes, in hex: the flat SHA-256 and the tree root. */
interface Digests {
  digest: string;
  treeRoot: string;
}

/** Copies the source into the allocation, hashing it on the way (narrated at debug level). */
async function upload(
  core: ManagerCore,
  allocation: DeviceAllocation,
  request: SealRequest,
  signal: AbortSignal,
): Promise<Digests> {
  const { shardId, source } = request;
  const uploadStarted = performance.now();
  const digests = await uploadAndDigest(allocation, source, {
    leafSize: core.config.leafSize,
    signal,
    onProgress: request.options.onProgress,
    onProgressError: (error) =>
      core.say('warn', {
        action: 'seal',
        target: shardId,
        shardId,
        human: `The onProgress callback of shard ${shardId.slice(0, 24)} threw; progress reports stopped.`,
        errorKind: 'ON_PROGRESS_THREW',
        context: { error: messageOf(error) },
      }),
  });
  const digest = Buffer.from(digests.digest).toString('hex');
  const treeRoot = Buffer.from(digests.treeRoot).toString('hex');
  core.say('debug', {
    action: 'digest',
    target: shardId,
    shardId,
    device: allocation.device,
    durationMs: performance.now() - uploadStarted,
    human: say.digest(shardId, source.byteLength, treeRoot),
    context: {
      digest,
      tree_root: treeRoot,
      leaf_size: core.config.leafSize,
      bytes: source.byteLength,
    },
  });
  return { digest, treeRoot };
}

/** The sealed fields, signed with the seal key (narrated at debug level). */
function sign(
  core: ManagerCore,
  allocation: DeviceAllocation,
  request: SealRequest,
  { digest, treeRoot }: Digests,
): SealedShard {
  const { shardId, source } = request;
  const sealedAt = Date.now();
  const json: SealedShardJSON = {
    shardId,
    gpuDevice: allocation.device,
    vramBytes: source.byteLength,
    digest,
    treeRoot,
    leafSize: core.config.leafSize,
    sealedAt,
    modelRef: request.modelRef,
    shardIndex: request.shardIndex,
    totalShards: request.totalShards,
    keyId: core.config.sealKey.id,
  };
  const signature = signSeal(
    core.config.sealKey,
    sealFieldsOf(json as unknown as Record<string, unknown>)!,
  );
  core.say('debug', {
    action: 'sign',
    target: shardId,
    shardId,
    human: say.sign(shardId, core.config.sealKey.id),
    context: { key_id: core.config.sealKey.id },
  });
  return new SealedShard(json, signature);
}

/** A seal that succeeded: metrics, narration, and the routine audit event. */
function recordSealed(
  core: ManagerCore,
  allocation: DeviceAllocation,
  request: SealRequest,
  { digest, treeRoot }: Digests,
  started: number,
): void {
  const { shardId, source } = request;
  const seconds = (performance.now() - started) / 1000;
  core.metrics.sealed('success', seconds);
  core.say('info', {
    action: 'seal',
    target: shardId,
    shardId,
    device: allocation.device,
    modelRef: request.modelRef,
    durationMs: seconds * 1000,
    human: say.seal(shardId, source.byteLength, allocation.device, seconds * 1000),
    context: {
      bytes: source.byteLength,
      digest,
      tree_root: treeRoot,
      leaf_size: core.config.leafSize,
      shard_index: request.shardIndex,
      total_shards: request.totalShards,
      key_id: core.config.sealKey.id,
    },
  });
  core.audit.routine({
    type: 'vram_sealed',
    shardId,
    gpuDevice: allocation.device,
    vramBytes: source.byteLength,
    digest,
    workerId: core.config.workerId,
    treeRoot,
    leafSize: core.config.leafSize,
    keyId: core.config.sealKey.id,
    shardIndex: request.shardIndex,
    totalShards: request.totalShards,
    ...(request.modelRef === '' ? {} : { modelRef: request.modelRef }),
  });
}

/** The bytes are not the ones the caller expected: no seal, audited as an integrity violation. */
async function refuseDigestMismatch(
  core: ManagerCore,
  request: SealRequest,
  device: number,
  actual: string,
): Promise<never> {
  const { shardId } = request;
  core.say('error', {
    action: 'seal',
    target: shardId,
    shardId,
    device,
    human: say.digestMismatch(shardId),
    errorKind: 'INTEGRITY_VIOLATION',
    context: { expected_sha256: request.expectedSha256, actual_sha256: actual },
  });
  const audited = await core.audit.critical({
    type: 'integrity_violation',
    component: 'vram-manager',
    detail:
      'the SHA-256 of the uploaded shard differs from expectedSha256; no seal was made, and its memory is freed',
    shardId,
    workerId: core.config.workerId,
    gpuDevice: device,
    expectedDigest: request.expectedSha256!,
    actualDigest: actual,
  });
  throw new VramError(
    'INTEGRITY_VIOLATION',
    `shard ${shardId}: the bytes read from ${request.source.origin} have SHA-256 ${actual}, not the expected ${request.expectedSha256}; no seal was made` +
      auditNote(audited),
    { shardId, device },
  );
}
