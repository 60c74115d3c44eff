import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import { type Backend, CudaFfiError, type DeviceAllocation } from '@vramseal/cuda-ffi';
import type { NarrationLevel } from '@vramseal/narration-core';
import {
  type SealFields,
  signAttestation,
  signSeal,
  timingSafeEqual,
  verifySealSignature,
} from '@vramseal/seal-crypto';
import {
  ATTESTATION_FORMAT,
  type AttestationStatement,
  attestationFieldsOf,
} from '../attestation/attestation.js';
import { AllocationRefused, CapacityLedger, deviceIndexes } from '../capacity/capacity.js';
import {
  configError,
  type ResolvedConfig,
  resolveConfig,
  type VramManagerOptions,
} from '../config/options.js';
import {
  describeValue,
  invalidInput,
  messageOf,
  type PolicyViolation,
  type VerificationCheck,
  VramError,
} from '../errors.js';
import {
  checkDeviceChoice,
  checkFunction,
  checkInteger,
  checkModelRef,
  checkNonce,
  checkSha256Hex,
  checkShardId,
  checkSignal,
  escapeForRecord,
  isUint,
  KEY_ID,
  looksLikePathTraversal,
  SHARD_ID_PATTERN,
} from '../input/validate.js';
import { ManagerMetrics } from '../metrics/metrics.js';
import { AuditTrail } from '../observe/audit.js';
import {
  type ManagerEvent,
  ManagerNarration,
  NARRATION_ACTOR,
  narrateStartFailure,
} from '../observe/narration.js';
import {
  deviceReports,
  findViolations,
  integratedDeviceViolations,
  policyError,
} from '../policy/vram-only.js';
import { type ChunkSource, openSource, type ShardSource } from '../seal/source.js';
import { uploadAndDigest } from '../seal/upload.js';
import {
  SealedShard,
  type SealedShardJSON,
  sameSeal,
  sealFieldsOf,
  signatureOf,
} from '../shard/sealed-shard.js';
import { flatDigest } from '../verify/flat-digest.js';
import { checkDeep, checkResetOptions, checkShardSet } from './checks.js';
import {
  auditNote,
  closedError,
  isAbort,
  openBackend,
  sealFailureWords,
  snakeFacts,
} from './failures.js';
import { say } from './sentences.js';
import type {
  AttestOptions,
  DeviceReport,
  FaultOptions,
  ManagerState,
  ResetOptions,
  SealOptions,
  StopReason,
  VerifyOptions,
} from './types.js';
import { ShardUsage } from './usage.js';

interface ShardRecord {
  /** The object handed to the caller: its identity carries the signature. */
  readonly issued: SealedShard;
  /**
   * The manager's own frozen copy of the sealed fields. The books, the audit and the narration use
   * only this: a caller may change its SealedShard, never what the manager says it freed.
   */
  readonly shard: Readonly<SealedShardJSON>;
  readonly allocation: DeviceAllocation;
  readonly usage: ShardUsage;
}

/** What verification found for a resident shard (used by verify and attest). */
interface CheckedShard {
  record: ShardRecord;
  fields: SealFields;
  measuredRoot: Uint8Array;
}

/** A presented seal whose signature holds and which is resident here: ready to be measured. */
interface PresentedShard {
  presented: Record<string, unknown>;
  record: ShardRecord;
  fields: SealFields;
}

/** A presented seal refused before any measurement: a bad signature, or not resident here. */
interface Refusal {
  presented: Record<string, unknown>;
  check: VerificationCheck;
  why: string;
}

/** What was measured of a shard's device memory: its tree root, and with deep its flat digest. */
type Measurement = [PromiseSettledResult<Uint8Array>, PromiseSettledResult<Uint8Array | undefined>];

/** Runs `work` as one user of every shard in `usages` (all counted before it starts). */
function duringAll<T>(usages: readonly ShardUsage[], work: () => Promise<T>): Promise<T> {
  return usages.reduceRight<() => Promise<T>>((inner, usage) => () => usage.during(inner), work)();
}

/**
 * Seals model shards in device memory, verifies them before every inference, and accounts for
 * capacity, the VRAM-only policy, attestation and metrics; every step is audited and narrated.
 * One manager per worker process (or per set of GPUs it owns). Create it with `VramManager.create`.
 */
export class VramManager {
  readonly #config: ResolvedConfig;
  readonly #backend: Backend;
  readonly #capacity: CapacityLedger;
  readonly #metrics: ManagerMetrics;
  readonly #narration: ManagerNarration;
  readonly #audit: AuditTrail;
  readonly #shards = new Map<string, ShardRecord>();
  /** Shard ids being sealed now: taken, so two seals cannot race to the same id. */
  readonly #sealing = new Set<string>();
  readonly #operations = new Set<Promise<unknown>>();
  /** One per seal in flight: a stop or close aborts them, so their memory is freed at once. */
  readonly #sealAborts = new Set<AbortController>();
  #state: ManagerState = 'ready';
  #stoppedBecause: StopReason | undefined;
  /** Narration and audit writes that failed while the operations went on. */
  readonly #observability = { narration: 0, audit: 0 };
  /** Counts every stopping failure, so a reset cannot clear one it did not record. */
  #stopGeneration = 0;
  #closing: Promise<void> | undefined;

  private constructor(
    config: ResolvedConfig,
    backend: Backend,
    capacity: CapacityLedger,
    metrics: ManagerMetrics,
    narration: ManagerNarration,
    audit: AuditTrail,
  ) {
    this.#config = config;
    this.#backend = backend;
    this.#capacity = capacity;
    this.#metrics = metrics;
    this.#narration = narration;
    this.#audit = audit;
  }

  /**
   * Validates every option first (CONFIG_ERROR naming the option and why), then opens the
   * backend and checks it against the policy. With `policy.vramOnly`, an integrated GPU is a
   * POLICY_VIOLATION (audited) and the mock backend a CONFIG_ERROR.
   */
  static async create(options: VramManagerOptions): Promise<VramManager> {
    try {
      return await VramManager.#create(options);
    } catch (error) {
      narrateStartFailure(options, error);
      throw error;
    }
  }

  static async #create(options: VramManagerOptions): Promise<VramManager> {
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
    const manager = new VramManager(config, backend, capacity, metrics, narration, audit);
    report.failed = (sink) => manager.#observabilityFailed(sink);
    try {
      await manager.#start();
    } catch (error) {
      metrics.unregister(); // the registry is free for the next attempt
      throw error;
    }
    return manager;
  }

  async #start(): Promise<void> {
    this.#announceBackend();
    if (this.#config.vramOnly) {
      const integrated = integratedDeviceViolations(this.#backend);
      if (integrated.length > 0) {
        await this.#reportViolations(integrated, 'manager not created');
        throw policyError(integrated);
      }
    }
    this.#say('info', {
      action: 'init',
      target: 'manager',
      human: say.init(this.#config.workerId, this.#backend.kind, this.#backend.deviceCount()),
      context: {
        backend: this.#backend.kind,
        devices: this.#backend.deviceCount(),
        key_id: this.#config.sealKey.id,
        leaf_size: this.#config.leafSize,
        vram_only: this.#config.vramOnly,
        headroom_bytes: this.#config.headroomBytes,
      },
    });
  }

  #announceBackend(): void {
    const info = this.#backend.backendInfo();
    const context = { backend: info.kind, selected_because: info.selectedBecause };
    if (this.#backend.kind === 'cuda') {
      const first = this.#backend.deviceInfo(0);
      this.#say('info', {
        action: 'cuda_init',
        target: 'GPU0',
        device: 0,
        human: say.cudaInit(this.#backend.deviceCount(), first.name),
        context: {
          ...context,
          cuda_runtime: info.cudaRuntimeVersion,
          cuda_driver: info.cudaDriverVersion,
        },
      });
    } else {
      this.#say('warn', { action: 'cuda_init', target: 'mock', human: say.mockInit(), context });
    }
  }

  // --- state -------------------------------------------------------------------------------

  /** 'ready' serves; 'stopped' refuses seals and verifies until `reset`; 'closed' is final. */
  get state(): ManagerState {
    return this.#state;
  }

  /** Why the manager is stopped (undefined unless `state === 'stopped'`). */
  get stoppedBecause(): StopReason | undefined {
    return this.#stoppedBecause;
  }

  get workerId(): string {
    return this.#config.workerId;
  }

  /** Id of the seal key (never the key). */
  get keyId(): string {
    return this.#config.sealKey.id;
  }

  get leafSize(): number {
    return this.#config.leafSize;
  }

  get backendKind(): 'cuda' | 'mock' {
    return this.#backend.kind;
  }

  /** The public half of `attestationKey`, for verifiers; undefined without one. */
  get attestationPublicKey(): KeyObject | undefined {
    return this.#config.attestationPublicKey;
  }

  /**
   * How many narration and audit writes failed since the manager was created (the operations went
   * on; see vram_observability_failures_total). For health checks; still answers after close().
   */
  get observabilityFailures(): { narration: number; audit: number } {
    return { ...this.#observability };
  }

  /** The shards resident now, in sealing order. */
  shards(): SealedShard[] {
    return [...this.#shards.values()].map((record) => record.issued);
  }

  // --- seal --------------------------------------------------------------------------------

  /**
   * Copies a shard into device memory and seals it: flat SHA-256 on the host while the chunks
   * travel, tree root from device memory by the backend, HMAC signature over every field.
   */
  sealModel(source: ShardSource, options: SealOptions = {}): Promise<SealedShard> {
    return this.#track(this.#seal(source, options));
  }

  async #seal(source: ShardSource, options: SealOptions): Promise<SealedShard> {
    this.#assertServing('seal');
    const started = performance.now();
    const request = await this.#sealRequest(source, options);
    const { shardId } = request;
    // The seal listens to its caller's signal and to the manager's own: a stop or close aborts it.
    const internal = new AbortController();
    this.#sealAborts.add(internal);
    const userSignal = request.options.signal;
    const signal =
      userSignal === undefined ? internal.signal : AbortSignal.any([internal.signal, userSignal]);
    try {
      this.#assertServing('seal');
      const allocation = await this.#allocate(request);
      try {
        signal.throwIfAborted();
        await this.#enforceResidency(allocation, shardId);
        const issued = await this.#fillAndSign(allocation, request, started, signal);
        this.#shards.set(shardId, {
          issued,
          shard: Object.freeze(issued.toJSON()),
          allocation,
          usage: new ShardUsage(),
        });
        return issued;
      } catch (error) {
        this.#freeAfterFailedSeal(allocation, shardId);
        throw error;
      }
    } catch (error) {
      await request.source.close();
      const failure = this.#sealFailure(error, request.options.signal);
      this.#metrics.sealed('failure', (performance.now() - started) / 1000);
      this.#say(failure.code === 'INSUFFICIENT_VRAM' ? 'warn' : 'error', {
        action: 'seal',
        target: shardId,
        shardId,
        human: say.sealFailed(shardId, sealFailureWords(failure)),
        errorKind: failure.code,
        durationMs: performance.now() - started,
      });
      throw failure;
    } finally {
      this.#sealAborts.delete(internal);
      this.#sealing.delete(shardId);
    }
  }

  /** Every argument of a seal, checked; the source opened (a file's size known). */
  async #sealRequest(source: ShardSource, options: SealOptions): Promise<SealRequest> {
    let reservedId: string | undefined;
    try {
      if (typeof options !== 'object' || options === null) {
        throw invalidInput('options', `options must be an object, got ${describeValue(options)}`);
      }
      if (typeof options.shardId === 'string' && looksLikePathTraversal(options.shardId)) {
        await this.#auditTraversal(options.shardId);
      }
      const shardId = this.#claimShardId(options.shardId);
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
      const device = checkDeviceChoice(options.device, this.#backend.deviceCount());
      const onProgress = checkFunction<SealOptions['onProgress']>(
        options.onProgress,
        'options.onProgress',
      );
      const signal = checkSignal(options.signal);
      signal?.throwIfAborted();
      const opened = await openSource(source, options.byteLength, Number.MAX_SAFE_INTEGER);
      if (opened.byteLength > this.#config.maxShardBytes) {
        await opened.close();
        throw invalidInput(
          'source',
          `the shard is ${opened.byteLength} bytes, above policy.maxShardBytes (${this.#config.maxShardBytes}); split the model into smaller shards`,
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
      if (reservedId !== undefined) this.#sealing.delete(reservedId);
      if (error instanceof VramError && error.code === 'INVALID_INPUT') {
        this.#say('warn', {
          action: 'validate_failed',
          target: 'seal',
          human: say.validateFailed('seal', error.argument ?? 'an argument'),
          errorKind: error.code,
          context: { argument: error.argument, reason: error.message },
        });
      }
      if (isAbort(error, options?.signal)) throw this.#sealFailure(error, options.signal);
      throw error;
    }
  }

  /**
   * The caller's shard id (or a fresh opaque one), checked and taken in one synchronous step, so
   * a concurrent seal cannot pass the same check before this one registers.
   */
  #claimShardId(value: unknown): string {
    const shardId = value === undefined ? `shard-${randomUUID()}` : checkShardId(value);
    if (this.#shards.has(shardId) || this.#sealing.has(shardId)) {
      throw invalidInput(
        'options.shardId',
        `shard id ${JSON.stringify(shardId)} is already in use by a live shard or a seal in progress; deallocate it first or pick another id`,
      );
    }
    this.#sealing.add(shardId);
    return shardId;
  }

  async #auditTraversal(attempted: string): Promise<void> {
    this.#say('warn', {
      action: 'validate_failed',
      target: 'shard_id',
      human: say.traversal(),
      errorKind: 'path_traversal_attempt',
      context: { attempted_id: escapeForRecord(attempted) },
    });
    await this.#audit.critical({
      type: 'path_traversal_attempt',
      actor: 'vram-manager',
      path: escapeForRecord(attempted),
      workerId: this.#config.workerId,
    });
  }

  /** Reserves and allocates under the device lock; failures are narrated, audited and typed. */
  async #allocate(request: SealRequest): Promise<DeviceAllocation> {
    const { shardId, source } = request;
    const bytes = source.byteLength;
    const started = performance.now();
    let outcome: Awaited<ReturnType<CapacityLedger['reserve']>>;
    try {
      outcome = await this.#capacity.reserve(request.device, bytes);
    } catch (error) {
      if (!(error instanceof AllocationRefused)) throw error;
      const { device, cause } = error;
      this.#allocationFailed(shardId, device, bytes, this.#safeAvailable(device), messageOf(cause));
      throw new VramError(
        'CUDA_ALLOCATION_FAILED',
        `device ${device} could not allocate ${bytes} bytes for shard ${shardId}: ${messageOf(cause)}`,
        { cause, shardId, device, neededBytes: bytes },
      );
    }
    if ('shortfall' in outcome) {
      const { device, neededBytes, availableBytes } = outcome.shortfall;
      this.#allocationFailed(shardId, device, neededBytes, availableBytes, 'insufficient VRAM');
      throw new VramError(
        'INSUFFICIENT_VRAM',
        `shard ${shardId} needs ${neededBytes} bytes but ${request.device === 'auto' ? 'the best device' : `device ${device}`} has ${availableBytes} available ` +
          `(free memory minus ${this.#config.headroomBytes} bytes of headroom); deallocate shards or use another device`,
        { shardId, device, neededBytes, availableBytes },
      );
    }
    const { allocation } = outcome;
    this.#say('info', {
      action: 'allocate',
      target: shardId,
      shardId,
      device: allocation.device,
      durationMs: performance.now() - started,
      human: say.allocate(shardId, bytes, allocation.device),
      context: { bytes },
    });
    this.#audit.routine({
      type: 'vram_allocated',
      shardId,
      gpuDevice: allocation.device,
      vramBytes: bytes,
      workerId: this.#config.workerId,
    });
    return allocation;
  }

  #allocationFailed(
    shardId: string,
    device: number,
    bytes: number,
    available: number,
    reason: string,
  ): void {
    this.#say('warn', {
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
    this.#audit.routine({
      type: 'vram_allocation_failed',
      shardId,
      gpuDevice: device,
      requestedBytes: bytes,
      availableBytes: available,
      workerId: this.#config.workerId,
      reason:
        reason
          .slice(0, 200)
          .replace(/[^\x20-\x7e]/g, ' ')
          .replace(/0x[0-9a-f]+/gi, '0x?') || 'allocation failed',
    });
  }

  /**
   * Under policy.vramOnly, a fresh allocation must be device memory without a host pointer;
   * otherwise the seal is refused (the caller frees the memory) and the manager stops.
   */
  async #enforceResidency(allocation: DeviceAllocation, shardId: string): Promise<void> {
    if (!this.#config.vramOnly) return;
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
    this.#stop({ cause: 'policy_violation', shardId, at: Date.now() });
    await this.#reportViolations([violation], 'seal refused, memory freed, manager stopped');
    throw policyError([violation]);
  }

  /** Upload + digests, the expected-hash check, then the signature: the seal itself. */
  async #fillAndSign(
    allocation: DeviceAllocation,
    request: SealRequest,
    started: number,
    signal: AbortSignal,
  ): Promise<SealedShard> {
    const { shardId, source } = request;
    const uploadStarted = performance.now();
    const digests = await uploadAndDigest(allocation, source, {
      leafSize: this.#config.leafSize,
      signal,
      onProgress: request.options.onProgress,
      onProgressError: (error) =>
        this.#say('warn', {
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
    this.#say('debug', {
      action: 'digest',
      target: shardId,
      shardId,
      device: allocation.device,
      durationMs: performance.now() - uploadStarted,
      human: say.digest(shardId, source.byteLength, treeRoot),
      context: {
        digest,
        tree_root: treeRoot,
        leaf_size: this.#config.leafSize,
        bytes: source.byteLength,
      },
    });
    if (request.expectedSha256 !== undefined && request.expectedSha256 !== digest) {
      await this.#refuseDigestMismatch(request, allocation.device, digest);
    }
    this.#assertServing('seal');
    const sealedAt = Date.now();
    const json: SealedShardJSON = {
      shardId,
      gpuDevice: allocation.device,
      vramBytes: source.byteLength,
      digest,
      treeRoot,
      leafSize: this.#config.leafSize,
      sealedAt,
      modelRef: request.modelRef,
      shardIndex: request.shardIndex,
      totalShards: request.totalShards,
      keyId: this.#config.sealKey.id,
    };
    const signature = signSeal(
      this.#config.sealKey,
      sealFieldsOf(json as unknown as Record<string, unknown>)!,
    );
    this.#say('debug', {
      action: 'sign',
      target: shardId,
      shardId,
      human: say.sign(shardId, this.#config.sealKey.id),
      context: { key_id: this.#config.sealKey.id },
    });
    const shard = new SealedShard(json, signature);
    const seconds = (performance.now() - started) / 1000;
    this.#metrics.sealed('success', seconds);
    this.#say('info', {
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
        leaf_size: this.#config.leafSize,
        shard_index: request.shardIndex,
        total_shards: request.totalShards,
        key_id: this.#config.sealKey.id,
      },
    });
    this.#audit.routine({
      type: 'vram_sealed',
      shardId,
      gpuDevice: allocation.device,
      vramBytes: source.byteLength,
      digest,
      workerId: this.#config.workerId,
      treeRoot,
      leafSize: this.#config.leafSize,
      keyId: this.#config.sealKey.id,
      shardIndex: request.shardIndex,
      totalShards: request.totalShards,
      ...(request.modelRef === '' ? {} : { modelRef: request.modelRef }),
    });
    return shard;
  }

  /** The bytes are not the ones the caller expected: no seal, audited as an integrity violation. */
  async #refuseDigestMismatch(
    request: SealRequest,
    device: number,
    actual: string,
  ): Promise<never> {
    const { shardId } = request;
    this.#say('error', {
      action: 'seal',
      target: shardId,
      shardId,
      device,
      human: say.digestMismatch(shardId),
      errorKind: 'INTEGRITY_VIOLATION',
      context: { expected_sha256: request.expectedSha256, actual_sha256: actual },
    });
    const audited = await this.#audit.critical({
      type: 'integrity_violation',
      component: 'vram-manager',
      detail:
        'the SHA-256 of the uploaded shard differs from expectedSha256; no seal was made, and its memory is freed',
      shardId,
      workerId: this.#config.workerId,
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

  #freeAfterFailedSeal(allocation: DeviceAllocation, shardId: string): void {
    try {
      allocation.free();
    } catch (error) {
      this.#say('error', {
        action: 'deallocate',
        target: shardId,
        shardId,
        device: allocation.device,
        human: say.deallocateFailed(shardId),
        errorKind: 'CUDA_DEALLOCATION_FAILED',
        context: { reason: messageOf(error) },
      });
    } finally {
      this.#capacity.release(allocation.device, allocation.bytes);
    }
    this.#say('debug', {
      action: 'deallocate',
      target: shardId,
      shardId,
      device: allocation.device,
      human: say.deallocate(shardId, allocation.bytes, allocation.device),
      context: { bytes: allocation.bytes, after: 'failed seal' },
    });
    this.#audit.routine({
      type: 'vram_deallocated',
      shardId,
      gpuDevice: allocation.device,
      vramBytes: allocation.bytes,
      workerId: this.#config.workerId,
    });
  }

  /** Any failure of a seal as a VramError (aborts, cuda-ffi and seal-crypto errors included). */
  #sealFailure(error: unknown, signal: AbortSignal | undefined): VramError {
    if (error instanceof VramError) return error;
    if (isAbort(error, signal)) {
      return new VramError(
        'ABORTED',
        'the seal was aborted by its signal; its memory was freed and nothing was sealed',
        { cause: signal?.reason ?? error },
      );
    }
    if (error instanceof CudaFfiError) {
      return new VramError(
        'DEVICE_ERROR',
        `the device failed while the shard was copied or hashed: ${error.message}; its memory was freed. Check the device (nvidia-smi, the driver log) before sealing on it again`,
        { cause: error },
      );
    }
    // The only foreign code a seal runs is its source (the caller's stream).
    return new VramError(
      'SOURCE_UNREADABLE',
      `reading the shard's source failed: ${messageOf(error)}; its memory was freed, retry the seal`,
      { cause: error, argument: 'source' },
    );
  }

  // --- verify ------------------------------------------------------------------------------

  /**
   * Checks the seal's signature (constant time), then recomputes the tree root from device
   * memory (`deep` also re-hashes the flat digest). Any failure stops the manager, is audited as
   * critical (durable before this rejects) and narrated at error level.
   */
  verifySealed(shard: SealedShard, options: VerifyOptions = {}): Promise<void> {
    return this.#track(this.#verify(shard, options));
  }

  async #verify(shard: SealedShard, options: VerifyOptions): Promise<void> {
    this.#assertServing('verify');
    const deep = checkDeep(options);
    const started = performance.now();
    const checked = await this.#checkResident(shard, { deep, started });
    this.#verified(checked, deep, started);
  }

  /** A verify that passed: metrics, narration, and the routine audit event. */
  #verified(checked: CheckedShard, deep: boolean, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    const { record, fields } = checked;
    this.#metrics.verified('success', seconds);
    this.#say('info', {
      action: 'verify',
      target: fields.shardId,
      shardId: fields.shardId,
      device: fields.device,
      durationMs: seconds * 1000,
      human: say.verify(fields.shardId, fields.device, deep),
      context: { deep, tree_root: record.shard.treeRoot, leaf_size: fields.leafSize },
    });
    this.#audit.routine({
      type: 'seal_verified',
      shardId: fields.shardId,
      gpuDevice: fields.device,
      digest: record.shard.digest,
      workerId: this.#config.workerId,
      treeRoot: record.shard.treeRoot,
      leafSize: fields.leafSize,
      keyId: fields.keyId,
      deep,
      durationMs: Math.round(seconds * 1000),
    });
  }

  /**
   * Verifies a tensor-parallel shard set before it serves: every index 0..totalShards-1 exactly
   * once, one model ref, then every shard's seal: every signature, then every tree root recomputed
   * from device memory in one batch (cuda-ffi's treeDigestMany: on a GPU one launch per step for
   * the whole set). A malformed set is INVALID_INPUT; a shard that fails its seal is
   * SEAL_VERIFICATION_FAILED and stops the manager.
   */
  verifyShardSet(shards: readonly SealedShard[], options: VerifyOptions = {}): Promise<void> {
    return this.#track(this.#verifySet(shards, options));
  }

  async #verifySet(shards: readonly SealedShard[], options: VerifyOptions): Promise<void> {
    this.#assertServing('verify');
    try {
      checkShardSet(shards);
    } catch (error) {
      if (error instanceof VramError) {
        this.#say('warn', {
          action: 'validate_failed',
          target: 'shard_set',
          human: say.validateFailed('shard set verify', 'the shard set'),
          errorKind: error.code,
          context: { reason: error.message },
        });
      }
      throw error;
    }
    const deep = checkDeep(options);
    const started = performance.now();
    // Each shard's own checks (signature, residency), then one batched measurement of every shard
    // that passed them, entered at once as a user of each (so a deallocation waits for it), then
    // each shard judged on its own; a shard's failure is its own, and stops the manager.
    const presented = shards.map((shard) => this.#presentOrRefuse(shard));
    const held = presented.filter((p): p is PresentedShard => 'record' in p);
    const measuring = this.#measureSet(held, deep);
    const outcomes = await Promise.allSettled(
      presented.map(async (shard) => {
        if ('error' in shard) throw shard.error;
        if ('why' in shard) return this.#refused(shard, started);
        const measured = (await measuring)[held.indexOf(shard)]!;
        const checked = await this.#judge(shard, measured, started);
        this.#verified(checked, deep, started);
      }),
    );
    // The first failure in the set's order, as each shard's own verify would have thrown it.
    const failed = outcomes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /**
   * The tree roots of every shard of a set in one batched digest (and, when deep, their flat
   * digests meanwhile), as one user of each shard: a deallocation waits for the batch. A batch
   * that fails fails every shard's tree root with its reason.
   */
  async #measureSet(held: readonly PresentedShard[], deep: boolean): Promise<Measurement[]> {
    if (held.length === 0) return [];
    return duringAll(
      held.map(({ record }) => record.usage),
      async () => {
        const [trees, ...flats] = await Promise.allSettled([
          this.#backend.treeDigestMany(
            held.map(({ record, fields }) => ({
              allocation: record.allocation,
              leafSize: fields.leafSize,
            })),
          ),
          ...held.map(({ record }) =>
            deep ? flatDigest(record.allocation) : Promise.resolve(undefined),
          ),
        ]);
        return held.map((_, i): Measurement => {
          const tree: PromiseSettledResult<Uint8Array> =
            trees.status === 'fulfilled'
              ? { status: 'fulfilled', value: (trees.value as Uint8Array[])[i]! }
              : trees;
          return [tree, flats[i] as PromiseSettledResult<Uint8Array | undefined>];
        });
      },
    );
  }

  /** Signature, residency, tree root (and flat digest when deep): the one verification path. */
  async #checkResident(
    shard: unknown,
    { deep, started = performance.now() }: { deep: boolean; started?: number },
  ): Promise<CheckedShard> {
    const held = this.#present(shard);
    if ('why' in held) return this.#refused(held, started);
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
    return this.#judge(held, measured, started);
  }

  /**
   * The checks of a presented seal that need no device, synchronously: its signature, and that it
   * is resident here. A refusal is returned (the caller fails it with #refused); a value that is
   * not an object at all is INVALID_INPUT, thrown.
   */
  #present(shard: unknown): PresentedShard | Refusal {
    if (typeof shard !== 'object' || shard === null) {
      throw invalidInput(
        'shard',
        `shard must be a SealedShard from sealModel(), got ${describeValue(shard)}`,
      );
    }
    const presented = shard as Record<string, unknown>;
    const fields = sealFieldsOf(presented);
    const signature = signatureOf(shard);
    if (
      fields === undefined ||
      signature === undefined ||
      !this.#signatureHolds(fields, signature)
    ) {
      const why =
        signature === undefined
          ? 'it carries no signature (not a SealedShard issued by a manager)'
          : fields === undefined
            ? 'its fields are malformed'
            : fields.keyId !== this.#config.sealKey.id
              ? `it names ${KEY_ID.test(fields.keyId) ? `seal key ${fields.keyId}` : 'a malformed seal key id'}, this manager holds ${this.#config.sealKey.id}`
              : 'the signature does not match the fields';
      return { presented, check: 'signature', why };
    }
    const record = this.#shards.get(fields.shardId);
    if (record === undefined || !sameSeal(record.shard, fields)) {
      const why =
        record === undefined
          ? 'no shard with this id is resident (deallocated, or never sealed here)'
          : 'the shard resident under this id carries a different seal';
      return { presented, check: 'unknown_shard', why };
    }
    return { presented, record, fields };
  }

  /** #present, with a thrown error kept as a value (a set judges every shard). */
  #presentOrRefuse(shard: unknown): PresentedShard | Refusal | { error: unknown } {
    try {
      return this.#present(shard);
    } catch (error) {
      return { error };
    }
  }

  /** Fails a refused seal: stops the manager, audits, narrates, throws. */
  #refused({ presented, check, why }: Refusal, started: number): Promise<never> {
    return this.#verificationFailed(check, presented, why, {}, started);
  }

  /** Compares what was measured with the seal: the tree root, then (deep) the flat digest. */
  async #judge(
    { presented, record, fields }: PresentedShard,
    [tree, flat]: Measurement,
    started: number,
  ): Promise<CheckedShard> {
    const fail = (check: VerificationCheck, why: string, facts: FailureFacts = {}) =>
      this.#verificationFailed(check, presented, why, facts, started);
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

  #signatureHolds(fields: SealFields, signature: Uint8Array): boolean {
    if (fields.keyId !== this.#config.sealKey.id) return false;
    try {
      return verifySealSignature(this.#config.sealKey, fields, signature);
    } catch {
      return false; // fields no seal could have (e.g. shardIndex >= totalShards)
    }
  }

  /** Stops the manager, audits (durably) and narrates a failed check, then throws. */
  async #verificationFailed(
    check: VerificationCheck,
    presented: Record<string, unknown>,
    why: string,
    facts: FailureFacts,
    started: number,
  ): Promise<never> {
    const shardId = typeof presented.shardId === 'string' ? presented.shardId : '';
    // A valid id is recorded as it is; anything else (a forged object's) only escaped.
    const recordId = SHARD_ID_PATTERN.test(shardId)
      ? shardId
      : escapeForRecord(shardId) || '(none)';
    const device = facts.device ?? (isUint(presented.gpuDevice) ? presented.gpuDevice : 0);
    this.#stop({ cause: 'seal_verification_failed', check, shardId: recordId, at: Date.now() });
    this.#metrics.verified('failure', (performance.now() - started) / 1000);
    this.#say('error', {
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
    const audited = await this.#audit.critical({
      type: 'seal_verification_failed',
      shardId: recordId,
      gpuDevice: device,
      workerId: this.#config.workerId,
      reason: `${check}: ${why}`,
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

  /**
   * Stops serving: seals in flight are aborted (their memory freed), new seals and verifies are
   * refused until reset. A failure while already stopped is counted too (see reset).
   */
  #stop(reason: StopReason): void {
    if (this.#state === 'closed') return;
    this.#stopGeneration += 1;
    if (this.#state === 'stopped') {
      this.#stoppedBecause = {
        ...this.#stoppedBecause!,
        laterFailures: (this.#stoppedBecause!.laterFailures ?? 0) + 1,
      };
      return;
    }
    this.#state = 'stopped';
    this.#stoppedBecause = reason;
    this.#abortSeals(
      new VramError(
        'MANAGER_STOPPED',
        'the manager stopped while this shard was being sealed; its memory was freed',
      ),
    );
  }

  #abortSeals(reason: VramError): void {
    for (const controller of this.#sealAborts) controller.abort(reason);
  }

  /**
   * Puts a stopped manager back in service. Audited as critical first: if the audit record cannot
   * be written the manager stays stopped (AUDIT_UNAVAILABLE). Reset repairs nothing: deallocate
   * and re-seal the shard that failed.
   */
  async reset(options: ResetOptions): Promise<void> {
    if (this.#state === 'closed') throw closedError('reset');
    const { operator, reason } = checkResetOptions(options, this.#config.workerId);
    if (this.#state === 'ready') {
      this.#say('info', {
        action: 'reset',
        target: 'manager',
        human: say.resetNoop(),
        context: { operator },
      });
      return;
    }
    const generation = this.#stopGeneration;
    const stoppedBecause = describeStop(this.#stoppedBecause);
    const audited = await this.#audit.critical({
      type: 'vram_manager_reset',
      operator,
      reason,
      workerId: this.#config.workerId,
      ...(stoppedBecause === undefined ? {} : { stoppedBecause }),
    });
    if (!audited.durable && this.#audit.enabled) {
      throw new VramError(
        'AUDIT_UNAVAILABLE',
        `reset refused: the audit record of the reset could not be written (${messageOf(audited.error)}); fix the audit log and retry`,
        { cause: audited.error },
      );
    }
    if (this.#state !== 'stopped') return; // closed meanwhile
    if (this.#stopGeneration !== generation) {
      // A failure happened while the reset was being recorded: this reset did not cover it.
      throw new VramError(
        'MANAGER_STOPPED',
        `reset not applied: another failure (${describeStop(this.#stoppedBecause)}) happened while the reset was being recorded; investigate it and reset again`,
      );
    }
    this.#state = 'ready';
    this.#stoppedBecause = undefined;
    this.#say('warn', {
      action: 'reset',
      target: 'manager',
      human: say.reset(operator),
      context: { operator, reason, stopped_because: stoppedBecause },
    });
  }

  // --- deallocate / close ------------------------------------------------------------------

  /** Frees a shard's device memory. Works while stopped (operators must be able to free memory). */
  async deallocate(shard: SealedShard): Promise<void> {
    if (this.#state === 'closed') throw closedError('deallocate');
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
    const record = this.#shards.get(shard.shardId);
    const fields = sealFieldsOf(shard as unknown as Record<string, unknown>);
    if (record === undefined || fields === undefined || !sameSeal(record.shard, fields)) {
      throw new VramError(
        'NOT_SEALED',
        `shard ${escapeForRecord(shard.shardId)} is not resident in this manager (already deallocated, or never sealed here)`,
        { shardId: shard.shardId },
      );
    }
    await this.#release(record);
  }

  /**
   * Takes the shard off the books (no new verify can start on it), waits for the verifies and
   * attestations still reading it, then frees it; audited and narrated.
   */
  async #release(record: ShardRecord): Promise<void> {
    const { shard, allocation } = record;
    const started = performance.now();
    this.#shards.delete(shard.shardId);
    await record.usage.idle();
    try {
      allocation.free();
    } catch (error) {
      this.#say('error', {
        action: 'deallocate',
        target: shard.shardId,
        shardId: shard.shardId,
        device: shard.gpuDevice,
        human: say.deallocateFailed(shard.shardId),
        errorKind: 'CUDA_DEALLOCATION_FAILED',
        context: { reason: messageOf(error) },
      });
      throw new VramError(
        'CUDA_DEALLOCATION_FAILED',
        `freeing shard ${shard.shardId} on device ${shard.gpuDevice} failed: ${messageOf(error)}; the handle is gone, but the device may be in a bad state`,
        { cause: error, shardId: shard.shardId, device: shard.gpuDevice },
      );
    } finally {
      this.#capacity.release(allocation.device, allocation.bytes);
    }
    this.#say('info', {
      action: 'deallocate',
      target: shard.shardId,
      shardId: shard.shardId,
      device: shard.gpuDevice,
      durationMs: performance.now() - started,
      human: say.deallocate(shard.shardId, shard.vramBytes, shard.gpuDevice),
      context: { bytes: shard.vramBytes },
    });
    this.#audit.routine({
      type: 'vram_deallocated',
      shardId: shard.shardId,
      gpuDevice: shard.gpuDevice,
      vramBytes: shard.vramBytes,
      workerId: this.#config.workerId,
    });
  }

  /**
   * Stops taking work, waits for operations in flight, frees (and audits) every shard, hands the
   * queued audit events to the logger and waits for them, and removes the metrics from the
   * registry. The audit logger and narrator stay open: they are the caller's. Idempotent: a
   * failure (a cudaFree that failed) is reported by the first call only; later calls, and
   * concurrent ones, resolve once closing is over.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing.catch(() => {});
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closed';
    this.#stoppedBecause = undefined;
    this.#abortSeals(closedError('seal'));
    while (this.#operations.size > 0) await Promise.allSettled([...this.#operations]);
    const failures: VramError[] = [];
    const count = this.#shards.size;
    for (const record of [...this.#shards.values()]) {
      try {
        await this.#release(record);
      } catch (error) {
        failures.push(error as VramError);
      }
    }
    this.#say('info', {
      action: 'close',
      target: 'manager',
      human: say.close(count),
      context: { shards: count },
    });
    await this.#audit.settle();
    this.#metrics.unregister();
    if (failures.length > 0) {
      throw new VramError(
        'CUDA_DEALLOCATION_FAILED',
        `closing freed ${count - failures.length} of ${count} shards; ${failures.length} failed: ${failures[0]!.message}`,
        { cause: failures[0] },
      );
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // --- capacity ----------------------------------------------------------------------------

  /** Device memory in bytes (of `device`, or of all devices). */
  totalVram(device?: number): number {
    return this.#capacityQuery(device, 'total', (d) => this.#capacity.total(d));
  }

  /** Bytes this manager holds (sealed shards and seals in progress). */
  usedVram(device?: number): number {
    return this.#capacityQuery(device, 'used', (d) => this.#capacity.used(d));
  }

  /** Free device memory minus the headroom: what the next seal can get. */
  availableVram(device?: number): number {
    return this.#capacityQuery(device, 'available', (d) => this.#capacity.available(d));
  }

  #capacityQuery(
    device: number | undefined,
    what: string,
    read: (device: number) => number,
  ): number {
    const devices =
      device === undefined ? deviceIndexes(this.#backend) : [this.#checkDevice(device)];
    const value = devices.reduce((sum, d) => sum + read(d), 0);
    if (this.#narration.isLevelEnabled('debug')) {
      const d = devices.length === 1 ? devices[0]! : 0;
      this.#say('debug', {
        action: 'capacity_query',
        target: device === undefined ? 'all devices' : `GPU${d}`,
        ...(device === undefined ? {} : { device: d }),
        human:
          device === undefined
            ? `Capacity query (${what}) over ${devices.length} device(s): ${value} bytes.`
            : say.capacity(d, this.#capacity.available(d), this.#capacity.total(d)),
        context: { query: what, bytes: value },
      });
    }
    return value;
  }

  #checkDevice(device: unknown): number {
    const count = this.#backend.deviceCount();
    if (
      typeof device !== 'number' ||
      !Number.isSafeInteger(device) ||
      device < 0 ||
      device >= count
    ) {
      throw invalidInput(
        'device',
        `device must be an index from 0 to ${count - 1}, got ${describeValue(device)}`,
      );
    }
    return device;
  }

  #safeAvailable(device: number): number {
    try {
      return this.#capacity.available(device);
    } catch {
      return 0;
    }
  }

  /** Every device: identity, capabilities, capacity and its VRAM-only verdict with the reason. */
  devices(): DeviceReport[] {
    return deviceReports(this.#backend, this.#capacity);
  }

  // --- policy ------------------------------------------------------------------------------

  /** True when no VRAM-only violation holds now (backend, devices, every live allocation). */
  isVramOnly(): boolean {
    return findViolations(this.#backend, this.#shards.values()).length === 0;
  }

  /**
   * Checks the VRAM-only policy now and throws POLICY_VIOLATION listing what breaks it. Every
   * violation is audited (critical: durable before this throws) and narrated. Under
   * `policy.vramOnly`, a shard found outside device memory also stops the manager.
   */
  async enforceVramOnlyPolicy(): Promise<void> {
    if (this.#state === 'closed') throw closedError('enforceVramOnlyPolicy');
    const violations = findViolations(this.#backend, this.#shards.values());
    if (violations.length === 0) return;
    const stop = this.#config.vramOnly && violations.some((v) => v.kind === 'host_memory');
    if (stop) {
      const first = violations.find((v) => v.kind === 'host_memory');
      this.#stop({
        cause: 'policy_violation',
        shardId: first?.shardId,
        at: Date.now(),
      } as StopReason);
    }
    await this.#reportViolations(
      violations,
      stop ? 'manager stopped' : 'reported to the caller; nothing stopped (policy.vramOnly is off)',
    );
    throw policyError(violations);
  }

  async #reportViolations(violations: readonly PolicyViolation[], action: string): Promise<void> {
    for (const violation of violations) {
      this.#say('error', {
        action: 'policy_violation',
        target: violation.device === undefined ? 'backend' : `GPU${violation.device}`,
        device: violation.device,
        shardId: violation.shardId,
        human: say.policyViolation(violation.detail),
        errorKind: 'POLICY_VIOLATION',
        context: { violation: violation.kind, action_taken: action },
      });
      await this.#audit.critical({
        type: 'policy_violation',
        policy: 'vram_only',
        workerId: this.#config.workerId,
        detail: violation.detail,
        action,
        ...(violation.device === undefined ? {} : { gpuDevice: violation.device }),
        ...(violation.shardId === undefined ? {} : { shardId: violation.shardId }),
      });
    }
  }

  // --- attestation -------------------------------------------------------------------------

  /**
   * A statement, signed with `attestationKey`, that `shard` is resident now: its sealed fields,
   * the device's name, UUID and compute capability, the memory type from pointer attributes, a
   * tree root recomputed now, the nonce and the time. The shard is verified first: a failure
   * there is a verification failure (the manager stops).
   */
  attestVramResidency(shard: SealedShard, options: AttestOptions): Promise<AttestationStatement> {
    return this.#track(this.#attest(shard, options));
  }

  async #attest(shard: SealedShard, options: AttestOptions): Promise<AttestationStatement> {
    this.#assertServing('attest');
    const started = performance.now();
    const privateKey = this.#config.attestationKey;
    if (privateKey === undefined) {
      throw new VramError(
        'CONFIG_ERROR',
        'attestVramResidency needs an attestationKey (an Ed25519 private KeyObject) in VramManager.create',
        {
          option: 'attestationKey',
        },
      );
    }
    const nonce = checkNonce(options?.nonce);
    const id =
      typeof shard === 'object' && shard !== null
        ? (shard as { shardId?: unknown }).shardId
        : undefined;
    const resident = typeof id === 'string' ? this.#shards.get(id) : undefined;
    if (resident === undefined) {
      throw new VramError(
        'NOT_SEALED',
        `shard ${typeof id === 'string' ? escapeForRecord(id) : '(none)'} is not resident in this manager; seal it first`,
        { shardId: typeof id === 'string' ? id : undefined },
      );
    }
    // One user of the shard from the measurement to the pointer attributes: a deallocation
    // waits, so the statement never describes memory that was freed halfway through.
    const { record, measuredRoot, info, attributes } = await resident.usage.during(async () => {
      const checked = await this.#checkResident(shard, { deep: false });
      const allocation = checked.record.allocation;
      return {
        ...checked,
        info: this.#backend.deviceInfo(allocation.device),
        attributes: allocation.attributes(),
      };
    });
    const unsigned: Omit<AttestationStatement, 'signature'> = {
      format: ATTESTATION_FORMAT,
      version: 1,
      shard: { ...record.shard },
      device: {
        name: info.name,
        uuid: info.uuid,
        computeCapability: info.computeCapability ?? '',
        memoryType: attributes.memoryType,
      },
      measuredTreeRoot: Buffer.from(measuredRoot).toString('hex'),
      nonce: Buffer.from(nonce).toString('hex'),
      attestedAt: Date.now(),
    };
    const signature = signAttestation(privateKey, attestationFieldsOf(unsigned)!);
    this.#say('info', {
      action: 'attest',
      target: record.shard.shardId,
      shardId: record.shard.shardId,
      device: record.allocation.device,
      durationMs: performance.now() - started,
      human: say.attest(record.shard.shardId, attributes.memoryType, info.name),
      context: { memory_type: attributes.memoryType, device_uuid: info.uuid },
    });
    return { ...unsigned, signature: Buffer.from(signature).toString('base64') };
  }

  // --- metrics / fault injection -------------------------------------------------------------

  /** The Prometheus exposition text of this manager's registry. */
  prometheusMetrics(): Promise<string> {
    return this.#metrics.exposition();
  }

  /**
   * Flips bits in a shard's device memory (tests, drills): always on the mock; on cuda only with
   * `allowFaultInjection: true`. The next verify of the shard fails.
   */
  injectFault(shard: SealedShard, options: FaultOptions): void {
    if (this.#state === 'closed') throw closedError('injectFault');
    if (this.#backend.kind === 'cuda' && !this.#config.allowFaultInjection) {
      throw new VramError(
        'CONFIG_ERROR',
        'injectFault on the cuda backend needs allowFaultInjection: true in VramManager.create (never in production)',
        {
          option: 'allowFaultInjection',
        },
      );
    }
    const id = typeof shard === 'object' && shard !== null ? shard.shardId : undefined;
    const record = typeof id === 'string' ? this.#shards.get(id) : undefined;
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
    this.#say('warn', {
      action: 'fault_injected',
      target: record.shard.shardId,
      shardId: record.shard.shardId,
      device: record.allocation.device,
      human: say.fault(record.shard.shardId, offset),
      context: { offset, xor_mask: xorMask },
    });
  }

  // --- plumbing ------------------------------------------------------------------------------

  #assertServing(operation: string): void {
    if (this.#state === 'closed') throw closedError(operation);
    if (this.#state === 'stopped') {
      const why = this.#stoppedBecause;
      const cause =
        why?.cause === 'policy_violation'
          ? 'a VRAM-only policy violation'
          : `shard ${why?.shardId ?? '?'} failing its ${why?.check ?? 'seal'} check`;
      throw new VramError(
        'MANAGER_STOPPED',
        `${operation} refused: the manager stopped at ${new Date(why?.at ?? Date.now()).toISOString()} after ${cause}; ` +
          'investigate, then call reset({ operator, reason })',
      );
    }
  }

  #track<T>(operation: Promise<T>): Promise<T> {
    this.#operations.add(operation);
    const forget = () => this.#operations.delete(operation);
    operation.then(forget, forget);
    return operation;
  }

  #say(level: NarrationLevel, event: ManagerEvent): void {
    this.#narration.emit(level, event);
  }

  #observabilityFailed(sink: 'narration' | 'audit'): void {
    this.#observability[sink] += 1;
    this.#metrics.observabilityFailed(sink);
    if (sink === 'audit') {
      this.#say('error', {
        action: 'observability_degraded',
        target: 'audit',
        human: say.auditFailed(),
        errorKind: 'AUDIT_WRITE_FAILED',
      });
    }
  }

  toJSON(): {
    workerId: string;
    state: ManagerState;
    backend: string;
    keyId: string;
    shards: number;
  } {
    return {
      workerId: this.#config.workerId,
      state: this.#state,
      backend: this.#backend.kind,
      keyId: this.#config.sealKey.id,
      shards: this.#shards.size,
    };
  }

  [inspect.custom](): string {
    return `VramManager ${inspect(this.toJSON())}`;
  }
}

/** "seal_verification_failed (tree_root), and 2 later failures" */
function describeStop(reason: StopReason | undefined): string | undefined {
  if (reason === undefined) return undefined;
  const later = reason.laterFailures ?? 0;
  return `${reason.cause}${reason.check ? ` (${reason.check})` : ''}${later > 0 ? `, and ${later} later failure(s)` : ''}`;
}

interface FailureFacts {
  device?: number;
  expectedTreeRoot?: string;
  actualTreeRoot?: string;
  expectedDigest?: string;
  actualDigest?: string;
}

interface SealRequest {
  shardId: string;
  modelRef: string;
  expectedSha256: string | undefined;
  shardIndex: number;
  totalShards: number;
  device: number | 'auto';
  source: ChunkSource;
  options: { onProgress: SealOptions['onProgress']; signal: AbortSignal | undefined };
}
