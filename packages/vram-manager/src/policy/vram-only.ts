import type { Backend, DeviceAllocation } from '@vramseal/cuda-ffi';
import { type CapacityLedger, deviceIndexes } from '../capacity/capacity.js';
import { type PolicyViolation, VramError } from '../errors.js';
import type { DeviceReport } from '../manager/types.js';

/**
 * The VRAM-only policy's facts. What decides is where the weights inference reads live: an
 * integrated GPU's memory is host memory, and so is an allocation whose pointer attributes are not
 * device memory or carry a host pointer. Device capabilities (managed memory, pageable-memory
 * access) are reported, never violations by themselves: cudaMalloc memory is VRAM whatever else
 * the device could address.
 */

/** Everything that breaks the policy now: the backend, the devices, every live allocation. */
export function findViolations(
  backend: Backend,
  resident: Iterable<{ shard: { shardId: string }; allocation: DeviceAllocation }>,
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  if (backend.kind === 'mock') {
    violations.push({
      kind: 'mock_backend',
      detail: 'the mock backend keeps every shard in host memory',
    });
  }
  violations.push(...integratedDeviceViolations(backend));
  for (const { shard, allocation } of resident) {
    const attributes = allocation.attributes();
    if (attributes.memoryType !== 'device' || attributes.hostPointer) {
      violations.push({
        kind: 'host_memory',
        device: allocation.device,
        shardId: shard.shardId,
        detail: `a shard's memory is ${attributes.memoryType} memory${attributes.hostPointer ? ' with a host pointer' : ''}, not VRAM`,
      });
    }
  }
  return violations;
}

export function integratedDeviceViolations(backend: Backend): PolicyViolation[] {
  return deviceIndexes(backend)
    .filter((index) => backend.deviceInfo(index).integrated)
    .map((index) => ({
      kind: 'integrated_device' as const,
      device: index,
      detail: `device ${index} is an integrated GPU: its memory is host memory`,
    }));
}

/** Every device: identity, capabilities, capacity and its VRAM-only verdict with the reason. */
export function deviceReports(backend: Backend, capacity: CapacityLedger): DeviceReport[] {
  return deviceIndexes(backend).map((index) => {
    const info = backend.deviceInfo(index);
    return {
      index,
      name: info.name,
      uuid: info.uuid,
      totalBytes: info.totalBytes,
      availableBytes: capacity.available(index),
      usedBytes: capacity.used(index),
      computeCapability: info.computeCapability,
      integrated: info.integrated,
      managedMemory: info.managedMemory,
      pageableMemoryAccess: info.pageableMemoryAccess,
      unifiedAddressing: info.unifiedAddressing,
      vramOnly: deviceVerdict(backend.kind, info.integrated),
    };
  });
}

export function deviceVerdict(kind: string, integrated: boolean): { ok: boolean; reason: string } {
  if (kind === 'mock') return { ok: false, reason: 'mock backend: shards live in host memory' };
  if (integrated) return { ok: false, reason: 'integrated GPU: its memory is host memory' };
  return {
    ok: true,
    reason:
      'discrete GPU: cudaMalloc memory is VRAM (managed and pageable-memory access are capabilities, not violations)',
  };
}

export function policyError(violations: readonly PolicyViolation[]): VramError {
  return new VramError(
    'POLICY_VIOLATION',
    `VRAM-only policy violated: ${violations.map((v) => (v.shardId === undefined ? v.detail : `${v.detail} (shard ${v.shardId})`)).join('; ')}`,
    { violations, device: violations[0]?.device, shardId: violations[0]?.shardId },
  );
}
