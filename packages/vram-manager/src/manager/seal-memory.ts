import { performance } from 'node:perf_hooks';
import type { DeviceAllocation } from '@vramseal/cuda-ffi';
import { AllocationRefused, type CapacityLedger } from '../capacity/capacity.js';
import { messageOf, type PolicyViolation, VramError } from '../errors.js';
import { policyError } from '../policy/vram-only.js';
import type { ManagerCore } from './core.js';
import { auditReason } from './failures.js';
import { reportViolations } from './residency.js';
import type { SealRequest } from './seal-request.js';
import { say } from './sentences.js';

/*
 * The device memory a seal takes: reserved and allocated under the device lock, checked to be VRAM
 * under policy.vramOnly, and freed again (books, audit, narration) when the seal fails.
 */

/** Reserves and allocates under the device lock; failures are narrated, audited and typed. */
export async function allocate(core: ManagerCore, request: SealRequest): Promise<DeviceAllocation> {
  const { shardId, source } = request;
  const bytes = source.byteLength;
  const started = performance.now();
  let outcome: Awaited<ReturnType<CapacityLedger['reserve']>>;
  try {
    outcome = await core.capacity.reserve(request.device, bytes);
  } catch (error) {
    if (!(error instanceof AllocationRefused)) throw error;
    const { device, cause } = error;
    allocationFailed(core, shardId, device, bytes, safeAvailable(core, device), messageOf(cause));
    throw new VramError(
      'CUDA_ALLOCATION_FAILED',
      `device ${device} could not allocate ${bytes} bytes for shard ${shardId}: ${messageOf(cause)}`,
      { cause, shardId, device, neededBytes: bytes },
    );
  }
  if ('shortfall' in outcome) {
    const { device, neededBytes, availableBytes } = outcome.shortfall;
    allocationFailed(core, shardId, device, neededBytes, availableBytes, 'insufficient VRAM');
    throw new VramError(
      'INSUFFICIENT_VRAM',
      `shard ${shardId} needs ${neededBytes} bytes but ${request.device === 'auto' ? 'the best device' : `device ${device}`} has ${availableBytes} available ` +
        `(free memory minus ${core.config.headroomBytes} bytes of headroom); deallocate shards or use another device`,
      { shardId, device, neededBytes, availableBytes },
    );
  }
  const { allocation } = outcome;
  core.say('info', {
    action: 'allocate',
    target: shardId,
    shardId,
    device: allocation.device,
    durationMs: performance.now() - started,
    human: say.allocate(shardId, bytes, allocation.device),
    context: { bytes },
  });
  core.audit.routine({
    type: 'vram_allocated',
    shardId,
    gpuDevice: allocation.device,
    vramBytes: bytes,
    workerId: core.config.workerId,
  });
  return allocation;
}

function allocationFailed(
  core: ManagerCore,
  shardId: string,
  device: number,
  bytes: number,
  available: number,
  reason: string,
): void {
  core.say('warn', {
    action: 'allocate_failed',
    target: shardId,
    shardId,
    device,
    human:
      reason === 'insufficient VRAM'
        ? say.allocateFailed(shardId, bytes, device, available)
        : say.cudaAllocateFailed(shardId, bytes, device),
    errorKind: reason === 'insufficient VRAM' ? 'INSUFFICIENT_VRAM' : 'CUDA_ALLOCATION_FAILED',
    context: { needed_bytes: bytes, available_bytes: available },
  });
  core.audit.routine({
    type: 'vram_allocation_failed',
    shardId,
    gpuDevice: device,
    requestedBytes: bytes,
    availableBytes: available,
    workerId: core.config.workerId,
    reason: auditReason(reason, 'allocation failed'),
  });
}

/**
 * Under policy.vramOnly, a fresh allocation must be device memory without a host pointer;
 * otherwise the seal is refused (the caller frees the memory) and the manager stops.
 */
export async function enforceResidency(
  core: ManagerCore,
  allocation: DeviceAllocation,
  shardId: string,
): Promise<void> {
  if (!core.config.vramOnly) return;
  const attributes = allocation.attributes();
  if (attributes.memoryType === 'device' && !attributes.hostPointer) return;
  const violation: PolicyViolation = {
    kind: 'host_memory',
    device: allocation.device,
    shardId,
    detail: `a new allocation is ${attributes.memoryType} memory${attributes.hostPointer ? ' with a host pointer' : ''}, not VRAM`,
  };
  // The device handed out memory that is not VRAM (an integrated part, or an allocator shim in
  // the way): a worker that promises VRAM-only stops until someone has looked.
  core.stop({ cause: 'policy_violation', shardId, at: Date.now() });
  await reportViolations(core, [violation], 'seal refused, memory freed, manager stopped');
  throw policyError([violation]);
}

/** What the next seal could get on `device`, for a failure report: 0 when it cannot be read. */
function safeAvailable(core: ManagerCore, device: number): number {
  try {
    return core.capacity.available(device);
  } catch {
    return 0;
  }
}

/**
 * Frees the memory of a seal that failed. A failed free is narrated and audited
 * (`vram_deallocation_failed`), not thrown: the caller gets the seal's own failure, and the
 * reservation is released either way.
 */
export function freeAfterFailedSeal(
  core: ManagerCore,
  allocation: DeviceAllocation,
  shardId: string,
): void {
  try {
    allocation.free();
  } catch (error) {
    core.say('error', {
      action: 'deallocate',
      target: shardId,
      shardId,
      device: allocation.device,
      human: say.deallocateFailed(shardId),
      errorKind: 'CUDA_DEALLOCATION_FAILED',
      context: { reason: messageOf(error) },
    });
    core.audit.routine({
      type: 'vram_deallocation_failed',
      shardId,
      gpuDevice: allocation.device,
      vramBytes: allocation.bytes,
      workerId: core.config.workerId,
      reason: auditReason(messageOf(error), 'cudaFree failed'),
    });
    return;
  } finally {
    core.capacity.release(allocation.device, allocation.bytes);
  }
  core.say('debug', {
    action: 'deallocate',
    target: shardId,
    shardId,
    device: allocation.device,
    human: say.deallocate(shardId, allocation.bytes, allocation.device),
    context: { bytes: allocation.bytes, after: 'failed seal' },
  });
  core.audit.routine({
    type: 'vram_deallocated',
    shardId,
    gpuDevice: allocation.device,
    vramBytes: allocation.bytes,
    workerId: core.config.workerId,
  });
}
