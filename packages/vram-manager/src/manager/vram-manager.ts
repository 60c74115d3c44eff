import type { KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import type { AttestationStatement } from '../attestation/attestation.js';
import type { VramManagerOptions } from '../config/options.js';
import { narrateStartFailure } from '../observe/narration.js';
import type { ShardSource } from '../seal/source.js';
import type { SealedShard } from '../shard/sealed-shard.js';
import { attest } from './attest.js';
import type { ManagerCore } from './core.js';
import * as fault from './fault.js';
import { closeManager, deallocateShard, openManager, resetManager } from './lifecycle.js';
import * as residency from './residency.js';
import { seal } from './seal.js';
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
import { verify, verifySet } from './verify.js';

/*
 * The public face of the manager. Each operation lives in its own module (seal.ts, verify.ts,
 * lifecycle.ts, residency.ts, attest.ts, fault.ts) and works on the state shared in core.ts; this
 * class holds that state privately and delegates, so none of it is reachable from outside.
 *
 * The promise of a seal, verify or attest is the tracked operation itself, which the manager
 * observes (close waits for it): it never surfaces as an unhandled rejection, even when the
 * caller awaits it only after awaiting something else. `reset`, `deallocate` and
 * `enforceVramOnlyPolicy` are `async`, as before the split.
 */

/**
 * Seals model shards in device memory, verifies them before every inference, and accounts for
 * capacity, the VRAM-only policy, attestation and metrics; every step is audited and narrated.
 * One manager per worker process (or per set of GPUs it owns). Create it with `VramManager.create`.
 */
export class VramManager {
  readonly #core: ManagerCore;

  private constructor(core: ManagerCore) {
    this.#core = core;
  }

  /**
   * Validates every option first (CONFIG_ERROR naming the option and why), then opens the
   * backend and checks it against the policy. With `policy.vramOnly`, an integrated GPU is a
   * POLICY_VIOLATION (audited) and the mock backend a CONFIG_ERROR.
   */
  static async create(options: VramManagerOptions): Promise<VramManager> {
    try {
      return new VramManager(await openManager(options));
    } catch (error) {
      narrateStartFailure(options, error);
      throw error;
    }
  }

  // --- state -------------------------------------------------------------------------------

  /** 'ready' serves; 'stopped' refuses seals and verifies until `reset`; 'closed' is final. */
  get state(): ManagerState {
    return this.#core.state;
  }

  /** Why the manager is stopped (undefined unless `state === 'stopped'`). */
  get stoppedBecause(): StopReason | undefined {
    return this.#core.stoppedBecause;
  }

  get workerId(): string {
    return this.#core.config.workerId;
  }

  /** Id of the seal key (never the key). */
  get keyId(): string {
    return this.#core.config.sealKey.id;
  }

  get leafSize(): number {
    return this.#core.config.leafSize;
  }

  get backendKind(): 'cuda' | 'mock' {
    return this.#core.backend.kind;
  }

  /** The public half of `attestationKey`, for verifiers; undefined without one. */
  get attestationPublicKey(): KeyObject | undefined {
    return this.#core.config.attestationPublicKey;
  }

  /**
   * How many narration and audit writes failed since the manager was created (the operations went
   * on; see vram_observability_failures_total). For health checks; still answers after close().
   */
  get observabilityFailures(): { narration: number; audit: number } {
    return { ...this.#core.observability };
  }

  /** The shards resident now, in sealing order. */
  shards(): SealedShard[] {
    return [...this.#core.shards.values()].map((record) => record.issued);
  }

  // --- seal --------------------------------------------------------------------------------

  /**
   * Copies a shard into device memory and seals it: flat SHA-256 on the host while the chunks
   * travel, tree root from device memory by the backend, HMAC signature over every field.
   */
  sealModel(source: ShardSource, options: SealOptions = {}): Promise<SealedShard> {
    return this.#core.track(seal(this.#core, source, options));
  }

  // --- verify ------------------------------------------------------------------------------

  /**
   * Checks the seal's signature (constant time), then recomputes the tree root from device
   * memory (`deep` also re-hashes the flat digest). Any failure stops the manager, is audited as
   * critical (durable before this rejects) and narrated at error level.
   */
  verifySealed(shard: SealedShard, options: VerifyOptions = {}): Promise<void> {
    return this.#core.track(verify(this.#core, shard, options));
  }

  /**
   * Verifies a tensor-parallel shard set before it serves: every index 0..totalShards-1 exactly
   * once, one model ref, then every shard's seal: every signature, then every tree root recomputed
   * from device memory in one batch (cuda-ffi's treeDigestMany: on a GPU one launch per step for
   * the whole set). A malformed set is INVALID_INPUT; a shard that fails its seal is
   * SEAL_VERIFICATION_FAILED and stops the manager.
   */
  verifyShardSet(shards: readonly SealedShard[], options: VerifyOptions = {}): Promise<void> {
    return this.#core.track(verifySet(this.#core, shards, options));
  }

  /**
   * Puts a stopped manager back in service. Audited as critical first: if the audit record cannot
   * be written the manager stays stopped (AUDIT_UNAVAILABLE). Reset repairs nothing: deallocate
   * and re-seal the shard that failed.
   */
  async reset(options: ResetOptions): Promise<void> {
    return resetManager(this.#core, options);
  }

  // --- deallocate / close ------------------------------------------------------------------

  /** Frees a shard's device memory. Works while stopped (operators must be able to free memory). */
  async deallocate(shard: SealedShard): Promise<void> {
    return deallocateShard(this.#core, shard);
  }

  /**
   * Stops taking work, waits for operations in flight, frees (and audits) every shard, hands the
   * queued audit events to the logger and waits for them, and removes the metrics from the
   * registry. The audit logger and narrator stay open: they are the caller's. Idempotent: a
   * failure (a cudaFree that failed) is reported by the first call only; later calls, and
   * concurrent ones, resolve once closing is over.
   */
  close(): Promise<void> {
    return closeManager(this.#core);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // --- capacity ----------------------------------------------------------------------------

  /** Device memory in bytes (of `device`, or of all devices). */
  totalVram(device?: number): number {
    return residency.capacityQuery(this.#core, device, 'total');
  }

  /** Bytes this manager holds (sealed shards and seals in progress). */
  usedVram(device?: number): number {
    return residency.capacityQuery(this.#core, device, 'used');
  }

  /** Free device memory minus the headroom: what the next seal can get. */
  availableVram(device?: number): number {
    return residency.capacityQuery(this.#core, device, 'available');
  }

  /** Every device: identity, capabilities, capacity and its VRAM-only verdict with the reason. */
  devices(): DeviceReport[] {
    return residency.devices(this.#core);
  }

  // --- policy ------------------------------------------------------------------------------

  /** True when no VRAM-only violation holds now (backend, devices, every live allocation). */
  isVramOnly(): boolean {
    return residency.isVramOnly(this.#core);
  }

  /**
   * Checks the VRAM-only policy now and throws POLICY_VIOLATION listing what breaks it. Every
   * violation is audited (critical: durable before this throws) and narrated. Under
   * `policy.vramOnly`, a shard found outside device memory also stops the manager.
   */
  async enforceVramOnlyPolicy(): Promise<void> {
    return residency.enforceVramOnlyPolicy(this.#core);
  }

  // --- attestation -------------------------------------------------------------------------

  /**
   * A statement, signed with `attestationKey`, that `shard` is resident now: its sealed fields,
   * the device's name, UUID and compute capability, the memory type from pointer attributes, a
   * tree root recomputed now, the nonce and the time. The shard is verified first: a failure
   * there is a verification failure (the manager stops).
   */
  attestVramResidency(shard: SealedShard, options: AttestOptions): Promise<AttestationStatement> {
    return this.#core.track(attest(this.#core, shard, options));
  }

  // --- metrics / fault injection -------------------------------------------------------------

  /** The Prometheus exposition text of this manager's registry. */
  prometheusMetrics(): Promise<string> {
    return this.#core.metrics.exposition();
  }

  /**
   * Flips bits in a shard's device memory (tests, drills): always on the mock; on cuda only with
   * `allowFaultInjection: true`. The next verify of the shard fails.
   */
  injectFault(shard: SealedShard, options: FaultOptions): void {
    fault.injectFault(this.#core, shard, options);
  }

  toJSON(): {
    workerId: string;
    state: ManagerState;
    backend: string;
    keyId: string;
    shards: number;
  } {
    return {
      workerId: this.#core.config.workerId,
      state: this.#core.state,
      backend: this.#core.backend.kind,
      keyId: this.#core.config.sealKey.id,
      shards: this.#core.shards.size,
    };
  }

  [inspect.custom](): string {
    return `VramManager ${inspect(this.toJSON())}`;
  }
}
