import { deviceIndexes } from '../capacity/capacity.js';
import { describeValue, invalidInput, type PolicyViolation } from '../errors.js';
import { isDeviceIndex } from '../input/validate.js';
import { deviceReports, findViolations, policyError } from '../policy/vram-only.js';
import type { ManagerCore } from './core.js';
import { closedError } from './failures.js';
import { say } from './sentences.js';
import type { DeviceReport, StopReason } from './types.js';

/*
 * Where the shards live: how much device memory there is, is used and is available, what each
 * device is, and whether everything this manager holds is VRAM (the VRAM-only policy).
 */

export type CapacityQuery = 'total' | 'used' | 'available';

/** Sums `what` over `device` (checked), or over every device; narrated at debug level. */
export function capacityQuery(
  core: ManagerCore,
  device: number | undefined,
  what: CapacityQuery,
): number {
  const read = (d: number): number => core.capacity[what](d);
  const devices = device === undefined ? deviceIndexes(core.backend) : [checkDevice(core, device)];
  const value = devices.reduce((sum, d) => sum + read(d), 0);
  if (core.narration.isLevelEnabled('debug')) {
    const d = devices.length === 1 ? devices[0]! : 0;
    core.say('debug', {
      action: 'capacity_query',
      target: device === undefined ? 'all devices' : `GPU${d}`,
      ...(device === undefined ? {} : { device: d }),
      human:
        device === undefined
          ? `Capacity query (${what}) over ${devices.length} device(s): ${value} bytes.`
          : say.capacity(d, core.capacity.available(d), core.capacity.total(d)),
      context: { query: what, bytes: value },
    });
  }
  return value;
}

function checkDevice(core: ManagerCore, device: unknown): number {
  const count = core.backend.deviceCount();
  if (!isDeviceIndex(device, count)) {
    throw invalidInput(
      'device',
      `device must be an index from 0 to ${count - 1}, got ${describeValue(device)}`,
    );
  }
  return device;
}

/** Every device: identity, capabilities, capacity and its VRAM-only verdict with the reason. */
export function devices(core: ManagerCore): DeviceReport[] {
  return deviceReports(core.backend, core.capacity);
}

/** True when no VRAM-only violation holds now (backend, devices, every live allocation). */
export function isVramOnly(core: ManagerCore): boolean {
  return findViolations(core.backend, core.shards.values()).length === 0;
}

/** Checks the VRAM-only policy now (see VramManager.enforceVramOnlyPolicy). */
export async function enforceVramOnlyPolicy(core: ManagerCore): Promise<void> {
  if (core.state === 'closed') throw closedError('enforceVramOnlyPolicy');
  const violations = findViolations(core.backend, core.shards.values());
  if (violations.length === 0) return;
  const stop = core.config.vramOnly && violations.some((v) => v.kind === 'host_memory');
  if (stop) {
    const first = violations.find((v) => v.kind === 'host_memory');
    core.stop({
      cause: 'policy_violation',
      shardId: first?.shardId,
      at: Date.now(),
    } as StopReason);
  }
  await reportViolations(
    core,
    violations,
    stop ? 'manager stopped' : 'reported to the caller; nothing stopped (policy.vramOnly is off)',
  );
  throw policyError(violations);
}

/** Narrates each violation and audits it as critical (durable before this resolves). */
export async function reportViolations(
  core: ManagerCore,
  violations: readonly PolicyViolation[],
  action: string,
): Promise<void> {
  for (const violation of violations) {
    core.say('error', {
      action: 'policy_violation',
      target: violation.device === undefined ? 'backend' : `GPU${violation.device}`,
      device: violation.device,
      shardId: violation.shardId,
      human: say.policyViolation(violation.detail),
      errorKind: 'POLICY_VIOLATION',
      context: { violation: violation.kind, action_taken: action },
    });
    await core.audit.critical({
      type: 'policy_violation',
      policy: 'vram_only',
      workerId: core.config.workerId,
      detail: violation.detail,
      action,
      ...(violation.device === undefined ? {} : { gpuDevice: violation.device }),
      ...(violation.shardId === undefined ? {} : { shardId: violation.shardId }),
    });
  }
}
