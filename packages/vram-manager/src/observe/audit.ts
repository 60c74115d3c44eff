import type { AuditEvent, AuditLogger } from '@vramseal/audit-logging';
import { currentCorrelationId } from '@vramseal/narration-core';

/** What became of a critical audit event: durable, or why not. */
export type CriticalOutcome = { durable: true } | { durable: false; error: unknown };

/** The part of an AuditLogger the manager uses. */
export type AuditSink = Pick<AuditLogger, 'emit'>;

/**
 * The manager's audit trail, in two speeds:
 * - routine events (sealed, verified, allocated, deallocated, allocation or deallocation failed)
 *   are queued and handed to the logger after the current operation has returned (setImmediate),
 *   so no fsync, whatever the logger's durability mode, sits on the seal or verify path. They can
 *   be lost if the process dies before the logger commits them.
 * - critical events (verification failed, policy violation, path traversal, integrity violation,
 *   reset) are awaited: durable before the failing call returns. Routine events queued before a
 *   critical one are handed over first, so the log keeps the order in which things happened.
 * A failed write is reported through `onFailure`, never thrown into the operation.
 */
export class AuditTrail {
  readonly #sink: AuditSink | undefined;
  readonly #onFailure: (error: unknown, event: AuditEvent) => void;
  #queued: AuditEvent[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(sink: AuditSink | undefined, onFailure: (error: unknown, event: AuditEvent) => void) {
    this.#sink = sink;
    this.#onFailure = onFailure;
  }

  get enabled(): boolean {
    return this.#sink !== undefined;
  }

  /** Queues a routine event; it reaches the logger after the current operation returned. */
  routine(event: AuditEvent): void {
    if (this.#sink === undefined) return;
    this.#queued.push(withCorrelation(event));
    this.#scheduled ??= setImmediate(() => this.#drain());
  }

  /** Emits a critical event after everything queued before it; resolves once it is durable. */
  async critical(event: AuditEvent): Promise<CriticalOutcome> {
    const sink = this.#sink;
    if (sink === undefined)
      return { durable: false, error: new Error('no audit logger configured') };
    this.#drain();
    const stamped = withCorrelation(event);
    try {
      await this.#track(sink.emit(stamped));
      return { durable: true };
    } catch (error) {
      this.#onFailure(error, stamped);
      return { durable: false, error };
    }
  }

  /** Hands every queued event to the logger and waits until the logger has answered for all. */
  async settle(): Promise<void> {
    this.#drain();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #drain(): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    const sink = this.#sink;
    if (sink === undefined) return;
    const events = this.#queued;
    this.#queued = [];
    for (const event of events) {
      let pending: Promise<unknown>;
      try {
        pending = sink.emit(event);
      } catch (error) {
        pending = Promise.reject(error);
      }
      this.#track(pending).catch((error: unknown) => this.#onFailure(error, event));
    }
  }

  #track<T>(pending: Promise<T>): Promise<T> {
    this.#inFlight.add(pending);
    const forget = () => this.#inFlight.delete(pending);
    pending.then(forget, forget);
    return pending;
  }
}

function withCorrelation(event: AuditEvent): AuditEvent {
  const correlationId = currentCorrelationId();
  return correlationId === undefined || event.correlationId !== undefined
    ? event
    : { ...event, correlationId };
}
