import { performance } from 'node:perf_hooks';
import { CapacityLedger } from '../capacity/capacity.js';
import { configError, resolveConfig, type VramManagerOptions } from '../config/options.js';
import { describeValue, invalidInput, messageOf, VramError } from '../errors.js';
import { escapeForRecord } from '../input/validate.js';
import { ManagerMetrics } from '../metrics/metrics.js';
import { AuditTrail } from '../observe/audit.js';
import { ManagerNarration, NARRATION_ACTOR } from '../observe/narration.js';
import { integratedDeviceViolations, policyError } from '../policy/vram-only.js';
import { type SealedShard, sameSeal, sealFieldsOf } from '../shard/sealed-shard.js';
import { checkResetOptions } from './checks.js';
import { ManagerCore, type ShardRecord } from './core.js';
import { auditReason, closedError, openBackend } from './failures.js';
import { reportViolations } from './residency.js';
import { say } from './sentences.js';
import type { ResetOptions, StopReason } from './types.js';

/*
 * A manager's life: opened (options validated, backend opened and checked against the policy),
 * stopped by a failure and reset by an operator, shards freed one by one, then closed for good.
 */

/**
 * Validates every option, opens the backend and checks it against the policy, then starts the
 * manager's state (narrated). Start failures are narrated by the caller (VramManager.create).
 */
export async function openManager(options: VramManagerOptions): Promise<ManagerCore> {
  const config = resolveConfig(options);
  const backend = openBackend(config);
  if (config.vramOnly && backend.kind === 'mock') {
    const why = backend.backendInfo().selectedBecause;
    throw configError([
      {
        option: 'policy.vramOnly',
        message: `policy.vramOnly cannot hold: the backend is the host-memory mock (${why}); run on a GPU with backend 'cuda'`,
      },
    ]);
  }
  const capacity = new CapacityLedger(backend, config.headroomBytes);
  const metrics = new ManagerMetrics(config.metricsRegistry, capacity);
  let narrator = config.narrator;
  try {
    narrator = narrator?.child({ actor: NARRATION_ACTOR, worker_id: config.workerId });
  } catch {
    // A narrator that cannot make a child narrates as itself; narration never blocks a worker.
  }
  // The sinks report their failures to the manager, which does not exist yet when they are made.
  const report = { failed: (_sink: 'narration' | 'audit') => {} };
  const narration = new ManagerNarration(narrator, () => report.failed('narration'));
  const audit = new AuditTrail(config.audit, () => report.failed('audit'));
  const core = new ManagerCore(config, backend, capacity, metrics, narration, audit);
  report.failed = (sink) => core.observabilityFailed(sink);
  try {
    await start(core);
  } catch (error) {
    metrics.unregister(); // the registry is free for the next attempt
    throw error;
  }
  return core;
}

async function start(core: ManagerCore): Promise<void> {
  announceBackend(core);
  if (core.config.vramOnly) {
    const integrated = integratedDeviceViolations(core.backend);
    if (integrated.length > 0) {
      await reportViolations(core, integrated, 'manager not created');
      throw policyError(integrated);
    }
  }
  core.say('info', {
    action: 'init',
    target: 'manager',
    human: say.init(core.config.workerId, core.backend.kind, core.backend.deviceCount()),
    context: {
      backend: core.backend.kind,
      devices: core.backend.deviceCount(),
      key_id: core.config.sealKey.id,
      leaf_size: core.config.leafSize,
      vram_only: core.config.vramOnly,
      headroom_bytes: core.config.headroomBytes,
    },
  });
}

function announceBackend(core: ManagerCore): void {
  const info = core.backend.backendInfo();
  const context = { backend: info.kind, selected_because: info.selectedBecause };
  if (core.backend.kind === 'cuda') {
    const first = core.backend.deviceInfo(0);
    core.say('info', {
      action: 'cuda_init',
      target: 'GPU0',
      device: 0,
      human: say.cudaInit(core.backend.deviceCount(), first.name),
      context: {
        ...context,
        cuda_runtime: info.cudaRuntimeVersion,
        cuda_driver: info.cudaDriverVersion,
      },
    });
  } else {
    core.say('warn', { action: 'cuda_init', target: 'mock', human: say.mockInit(), context });
  }
}

/** Puts a stopped manager back in service (see VramManager.reset). */
export async function resetManager(core: ManagerCore, options: ResetOptions): Promise<void> {
  if (core.state === 'closed') throw closedError('reset');
  const { operator, reason } = checkResetOptions(options, core.config.workerId);
  if (core.state === 'ready') {
    core.say('info', {
      action: 'reset',
      target: 'manager',
      human: say.resetNoop(),
      context: { operator },
    });
    return;
  }
  const generation = core.stopGeneration;
  const stoppedBecause = describeStop(core.stoppedBecause);
  const audited = await core.audit.critical({
    type: 'vram_manager_reset',
    operator,
    reason,
    workerId: core.config.workerId,
    ...(stoppedBecause === undefined ? {} : { stoppedBecause }),
  });
  if (!audited.durable && core.audit.enabled) {
    throw new VramError(
      'AUDIT_UNAVAILABLE',
      `reset refused: the audit record of the reset could not be written (${messageOf(audited.error)}); fix the audit log and retry`,
      { cause: audited.error },
    );
  }
  if (core.state !== 'stopped') return; // closed meanwhile
  if (core.stopGeneration !== generation) {
    // A failure happened while the reset was being recorded: this reset did not cover it.
    throw new VramError(
      'MANAGER_STOPPED',
      `reset not applied: another failure (${describeStop(core.stoppedBecause)}) happened while the reset was being recorded; investigate it and reset again`,
    );
  }
  core.resume();
  core.say('warn', {
    action: 'reset',
    target: 'manager',
    human: say.reset(operator),
    context: { operator, reason, stopped_because: stoppedBecause },
  });
}

/** "seal_verification_failed (tree_root), and 2 later failures" */
function describeStop(reason: StopReason | undefined): string | undefined {
  if (reason === undefined) return undefined;
  const later = reason.laterFailures ?? 0;
  return `${reason.cause}${reason.check ? ` (${reason.check})` : ''}${later > 0 ? `, and ${later} later failure(s)` : ''}`;
}

/** Frees a shard's device memory. Works while stopped (operators must be able to free memory). */
export async function deallocateShard(core: ManagerCore, shard: SealedShard): Promise<void> {
  if (core.state === 'closed') throw closedError('deallocate');
  if (
    typeof shard !== 'object' ||
    shard === null ||
    typeof (shard as { shardId?: unknown }).shardId !== 'string'
  ) {
    throw invalidInput(
      'shard',
      `shard must be a SealedShard from sealModel(), got ${describeValue(shard)}`,
    );
  }
  const record = core.shards.get(shard.shardId);
  const fields = sealFieldsOf(shard as unknown as Record<string, unknown>);
  if (record === undefined || fields === undefined || !sameSeal(record.shard, fields)) {
    throw new VramError(
      'NOT_SEALED',
      `shard ${escapeForRecord(shard.shardId)} is not resident in this manager (already deallocated, or never sealed here)`,
      { shardId: shard.shardId },
    );
  }
  await release(core, record);
}

/**
 * Takes the shard off the books (no new verify can start on it), waits for the verifies and
 * attestations still reading it, then frees it; audited and narrated.
 */
async function release(core: ManagerCore, record: ShardRecord): Promise<void> {
  const { shard, allocation } = record;
  const started = performance.now();
  core.shards.delete(shard.shardId);
  await record.usage.idle();
  try {
    allocation.free();
  } catch (error) {
    core.say('error', {
      action: 'deallocate',
      target: shard.shardId,
      shardId: shard.shardId,
      device: shard.gpuDevice,
      human: say.deallocateFailed(shard.shardId),
      errorKind: 'CUDA_DEALLOCATION_FAILED',
      context: { reason: messageOf(error) },
    });
    // Off the books either way: the audit trail must say this shard left them, and how.
    core.audit.routine({
      type: 'vram_deallocation_failed',
      shardId: shard.shardId,
      gpuDevice: shard.gpuDevice,
      vramBytes: shard.vramBytes,
      workerId: core.config.workerId,
      reason: auditReason(messageOf(error), 'cudaFree failed'),
    });
    throw new VramError(
      'CUDA_DEALLOCATION_FAILED',
      `freeing shard ${shard.shardId} on device ${shard.gpuDevice} failed: ${messageOf(error)}; the handle is gone, but the device may be in a bad state`,
      { cause: error, shardId: shard.shardId, device: shard.gpuDevice },
    );
  } finally {
    core.capacity.release(allocation.device, allocation.bytes);
  }
  core.say('info', {
    action: 'deallocate',
    target: shard.shardId,
    shardId: shard.shardId,
    device: shard.gpuDevice,
    durationMs: performance.now() - started,
    human: say.deallocate(shard.shardId, shard.vramBytes, shard.gpuDevice),
    context: { bytes: shard.vramBytes },
  });
  core.audit.routine({
    type: 'vram_deallocated',
    shardId: shard.shardId,
    gpuDevice: shard.gpuDevice,
    vramBytes: shard.vramBytes,
    workerId: core.config.workerId,
  });
}

/**
 * Closes the manager once (see VramManager.close): the first call reports a failure; later calls,
 * and concurrent ones, resolve once closing is over.
 */
export function closeManager(core: ManagerCore): Promise<void> {
  if (core.closing !== undefined) return core.closing.catch(() => {});
  core.closing = closeOnce(core);
  return core.closing;
}

async function closeOnce(core: ManagerCore): Promise<void> {
  core.markClosed();
  core.abortSeals(closedError('seal'));
  while (core.operations.size > 0) await Promise.allSettled([...core.operations]);
  const failures: VramError[] = [];
  const count = core.shards.size;
  for (const record of [...core.shards.values()]) {
    try {
      await release(core, record);
    } catch (error) {
      failures.push(error as VramError);
    }
  }
  core.say('info', {
    action: 'close',
    target: 'manager',
    human: say.close(count),
    context: { shards: count },
  });
  await core.audit.settle();
  core.metrics.unregister();
  if (failures.length > 0) {
    throw new VramError(
      'CUDA_DEALLOCATION_FAILED',
      `closing freed ${count - failures.length} of ${count} shards; ${failures.length} failed: ${failures[0]!.message}`,
      { cause: failures[0] },
    );
  }
}
