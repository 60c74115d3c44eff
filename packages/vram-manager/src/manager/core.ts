import type { Backend, DeviceAllocation } from '@vramseal/cuda-ffi';
import type { NarrationLevel } from '@vramseal/narration-core';
import type { CapacityLedger } from '../capacity/capacity.js';
import type { ResolvedConfig } from '../config/options.js';
import { VramError } from '../errors.js';
import type { ManagerMetrics } from '../metrics/metrics.js';
import type { AuditTrail } from '../observe/audit.js';
import type { ManagerEvent, ManagerNarration } from '../observe/narration.js';
import type { SealedShard, SealedShardJSON } from '../shard/sealed-shard.js';
import { closedError } from './failures.js';
import { say } from './sentences.js';
import type { ManagerState, StopReason } from './types.js';
import type { ShardUsage } from './usage.js';

/*
 * The state one VramManager shares between its operations (seal, verify, lifecycle, residency,
 * attestation): the books of resident shards, the capacity ledger, the audit trail, narration and
 * metrics, and the state machine (ready, stopped, closed). Internal to the package: the public
 * VramManager holds one in a private field, so none of this is reachable from outside.
 */

export interface ShardRecord {
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

export class ManagerCore {
  readonly config: ResolvedConfig;
  readonly backend: Backend;
  readonly capacity: CapacityLedger;
  readonly metrics: ManagerMetrics;
  readonly narration: ManagerNarration;
  readonly audit: AuditTrail;
  readonly shards = new Map<string, ShardRecord>();
  /** Shard ids being sealed now: taken, so two seals cannot race to the same id. */
  readonly sealing = new Set<string>();
  readonly operations = new Set<Promise<unknown>>();
  /** One per seal in flight: a stop or close aborts them, so their memory is freed at once. */
  readonly sealAborts = new Set<AbortController>();
  // The state machine (ready -> stopped -> ready, anything -> closed) changes only through stop(),
  // resume() and markClosed() below.
  #state: ManagerState = 'ready';
  #stoppedBecause: StopReason | undefined;
  /** Counts every stopping failure, so a reset cannot clear one it did not record. */
  #stopGeneration = 0;
  /** Narration and audit writes that failed while the operations went on. */
  readonly observability = { narration: 0, audit: 0 };
  closing: Promise<void> | undefined;

  constructor(
    config: ResolvedConfig,
    backend: Backend,
    capacity: CapacityLedger,
    metrics: ManagerMetrics,
    narration: ManagerNarration,
    audit: AuditTrail,
  ) {
    this.config = config;
    this.backend = backend;
    this.capacity = capacity;
    this.metrics = metrics;
    this.narration = narration;
    this.audit = audit;
  }

  get state(): ManagerState {
    return this.#state;
  }

  get stoppedBecause(): StopReason | undefined {
    return this.#stoppedBecause;
  }

  get stopGeneration(): number {
    return this.#stopGeneration;
  }

  /** An operator's reset took effect: serve again. */
  resume(): void {
    this.#state = 'ready';
    this.#stoppedBecause = undefined;
  }

  /** Closing is final, and no stop is remembered after it. */
  markClosed(): void {
    this.#state = 'closed';
    this.#stoppedBecause = undefined;
  }

  /** Throws unless the manager serves: closed is final, stopped waits for a reset. */
  assertServing(operation: string): void {
    if (this.state === 'closed') throw closedError(operation);
    if (this.state === 'stopped') {
      const why = this.stoppedBecause;
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

  /** Counts an operation in flight until it settles: close waits for every one. */
  track<T>(operation: Promise<T>): Promise<T> {
    this.operations.add(operation);
    const forget = () => this.operations.delete(operation);
    operation.then(forget, forget);
    return operation;
  }

  say(level: NarrationLevel, event: ManagerEvent): void {
    this.narration.emit(level, event);
  }

  observabilityFailed(sink: 'narration' | 'audit'): void {
    this.observability[sink] += 1;
    this.metrics.observabilityFailed(sink);
    if (sink === 'audit') {
      this.say('error', {
        action: 'observability_degraded',
        target: 'audit',
        human: say.auditFailed(),
        errorKind: 'AUDIT_WRITE_FAILED',
      });
    }
  }

  /**
   * Stops serving: seals in flight are aborted (their memory freed), new seals and verifies are
   * refused until reset. A failure while already stopped is counted too (see reset).
   */
  stop(reason: StopReason): void {
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
    this.abortSeals(
      new VramError(
        'MANAGER_STOPPED',
        'the manager stopped while this shard was being sealed; its memory was freed',
      ),
    );
  }

  abortSeals(reason: VramError): void {
    for (const controller of this.sealAborts) controller.abort(reason);
  }
}
