import { CudaFfiError } from '@vramseal/cuda-ffi';
import { describeValue, invalidInput, VramError } from '../errors.js';
import { checkInteger, escapeForRecord } from '../input/validate.js';
import type { SealedShard } from '../shard/sealed-shard.js';
import type { ManagerCore } from './core.js';
import { closedError } from './failures.js';
import { say } from './sentences.js';
import type { FaultOptions } from './types.js';

/**
 * Flips bits in a shard's device memory, for tests and drills (see VramManager.injectFault): on
 * cuda only when the manager was created with `allowFaultInjection: true`.
 */
export function injectFault(core: ManagerCore, shard: SealedShard, options: FaultOptions): void {
  if (core.state === 'closed') throw closedError('injectFault');
  if (core.backend.kind === 'cuda' && !core.config.allowFaultInjection) {
    throw new VramError(
      'CONFIG_ERROR',
      'injectFault on the cuda backend needs allowFaultInjection: true in VramManager.create (never in production)',
      {
        option: 'allowFaultInjection',
      },
    );
  }
  const id = typeof shard === 'object' && shard !== null ? shard.shardId : undefined;
  const record = typeof id === 'string' ? core.shards.get(id) : undefined;
  if (record === undefined) {
    throw new VramError(
      'NOT_SEALED',
      `shard ${typeof id === 'string' ? escapeForRecord(id) : '(none)'} is not resident in this manager`,
      {
        shardId: id,
      },
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw invalidInput(
      'options',
      `options must be { offset, xorMask }, got ${describeValue(options)}`,
    );
  }
  const offset = checkInteger(options.offset, 'options.offset', 0, record.allocation.bytes - 1);
  const xorMask = checkInteger(options.xorMask, 'options.xorMask', 1, 255);
  try {
    record.allocation.corrupt(offset, xorMask);
  } catch (error) {
    if (error instanceof CudaFfiError && error.code === 'UNSUPPORTED') {
      throw new VramError(
        'CONFIG_ERROR',
        `this backend refuses fault injection: ${error.message}`,
        { option: 'allowFaultInjection', cause: error },
      );
    }
    if (error instanceof CudaFfiError && error.code === 'ALLOCATION_BUSY') {
      throw new VramError(
        'INVALID_INPUT',
        `shard ${record.shard.shardId} is being verified right now; inject the fault after the verify settles`,
        {
          argument: 'shard',
          cause: error,
        },
      );
    }
    throw error;
  }
  core.say('warn', {
    action: 'fault_injected',
    target: record.shard.shardId,
    shardId: record.shard.shardId,
    device: record.allocation.device,
    human: say.fault(record.shard.shardId, offset),
    context: { offset, xor_mask: xorMask },
  });
}
