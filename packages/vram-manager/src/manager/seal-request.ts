import { randomUUID } from 'node:crypto';
import { describeValue, invalidInput, VramError } from '../errors.js';
import {
  checkDeviceChoice,
  checkFunction,
  checkInteger,
  checkModelRef,
  checkSha256Hex,
  checkShardId,
  checkSignal,
  escapeForRecord,
  looksLikePathTraversal,
} from '../input/validate.js';
import { type ChunkSource, openSource, type ShardSource } from '../seal/source.js';
import type { ManagerCore } from './core.js';
import { isAbort, sealFailure } from './failures.js';
import { say } from './sentences.js';
import type { SealOptions } from './types.js';

/*
 * What a seal is asked to do, checked before any device memory is taken: every option, the shard
 * id claimed (so no other seal can take it meanwhile), the source opened and its size known.
 */

export interface SealRequest {
  shardId: string;
  modelRef: string;
  expectedSha256: string | undefined;
  shardIndex: number;
  totalShards: number;
  device: number | 'auto';
  source: ChunkSource;
  options: { onProgress: SealOptions['onProgress']; signal: AbortSignal | undefined };
}

/** Every argument of a seal, checked; the source opened (a file's size known). */
export async function sealRequest(
  core: ManagerCore,
  source: ShardSource,
  options: SealOptions,
): Promise<SealRequest> {
  let reservedId: string | undefined;
  try {
    if (typeof options !== 'object' || options === null) {
      throw invalidInput('options', `options must be an object, got ${describeValue(options)}`);
    }
    if (typeof options.shardId === 'string' && looksLikePathTraversal(options.shardId)) {
      await auditTraversal(core, options.shardId);
    }
    const shardId = claimShardId(core, options.shardId);
    reservedId = shardId;
    const modelRef = checkModelRef(options.modelRef);
    const expectedSha256 =
      options.expectedSha256 === undefined
        ? undefined
        : checkSha256Hex(options.expectedSha256, 'options.expectedSha256');
    const totalShards = checkInteger(
      options.totalShards ?? 1,
      'options.totalShards',
      1,
      0xffff_ffff,
    );
    const shardIndex = checkInteger(
      options.shardIndex ?? 0,
      'options.shardIndex',
      0,
      totalShards - 1,
    );
    const device = checkDeviceChoice(options.device, core.backend.deviceCount());
    const onProgress = checkFunction<SealOptions['onProgress']>(
      options.onProgress,
      'options.onProgress',
    );
    const signal = checkSignal(options.signal);
    signal?.throwIfAborted();
    const opened = await openSource(source, options.byteLength, Number.MAX_SAFE_INTEGER);
    if (opened.byteLength > core.config.maxShardBytes) {
      await opened.close().catch(() => {});
      throw invalidInput(
        'source',
        `the shard is ${opened.byteLength} bytes, above policy.maxShardBytes (${core.config.maxShardBytes}); split the model into smaller shards`,
      );
    }
    return {
      shardId,
      modelRef,
      expectedSha256,
      shardIndex,
      totalShards,
      device,
      source: opened,
      options: { onProgress, signal },
    };
  } catch (error) {
    if (reservedId !== undefined) core.sealing.delete(reservedId);
    if (error instanceof VramError && error.code === 'INVALID_INPUT') {
      core.say('warn', {
        action: 'validate_failed',
        target: 'seal',
        human: say.validateFailed('seal', error.argument ?? 'an argument'),
        errorKind: error.code,
        context: { argument: error.argument, reason: error.message },
      });
    }
    if (isAbort(error, options?.signal)) throw sealFailure(error, options.signal);
    throw error;
  }
}

/**
 * The caller's shard id (or a fresh opaque one), checked and taken in one synchronous step, so
 * a concurrent seal cannot pass the same check before this one registers.
 */
function claimShardId(core: ManagerCore, value: unknown): string {
  const shardId = value === undefined ? `shard-${randomUUID()}` : checkShardId(value);
  if (core.shards.has(shardId) || core.sealing.has(shardId)) {
    throw invalidInput(
      'options.shardId',
      `shard id ${JSON.stringify(shardId)} is already in use by a live shard or a seal in progress; deallocate it first or pick another id`,
    );
  }
  core.sealing.add(shardId);
  return shardId;
}

async function auditTraversal(core: ManagerCore, attempted: string): Promise<void> {
  core.say('warn', {
    action: 'validate_failed',
    target: 'shard_id',
    human: say.traversal(),
    errorKind: 'path_traversal_attempt',
    context: { attempted_id: escapeForRecord(attempted) },
  });
  await core.audit.critical({
    type: 'path_traversal_attempt',
    actor: 'vram-manager',
    path: escapeForRecord(attempted),
    workerId: core.config.workerId,
  });
}
