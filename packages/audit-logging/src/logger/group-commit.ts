import { randomUUID } from 'node:crypto';
import type { SecretKey } from '@vramseal/seal-crypto';
import { sealRecord } from '../envelope/record.js';
import { AuditError, AuditWriteError } from '../errors.js';
import type { LoggedEvent } from '../events/schema.js';
import type { LogTree } from './log-tree.js';
import type { WriterSettings } from './options.js';
import type { SegmentFiles } from './segment-files.js';

/** Proof that an event is durable: where it sits in the log. */
export interface AuditReceipt {
  readonly seq: number;
  readonly auditId: string;
  readonly ts: string;
  readonly mac: string;
  readonly segment: string;
}

/** An event waiting to become a record, and the promise of its `emit`. */
export interface Pending {
  readonly event: LoggedEvent;
  readonly ts: string;
  readonly critical: boolean;
  readonly resolve: (receipt: AuditReceipt) => void;
  readonly reject: (error: AuditError) => void;
}

/** The end of the hash chain: the last record's seq and MAC (0 and 64 zeros before the first). */
export interface ChainEnd {
  readonly seq: number;
  readonly mac: string;
}

/** A batch written to the active segment and not yet covered by a successful fdatasync. */
interface UnsyncedBatch {
  readonly batch: readonly Pending[];
  readonly data: Buffer;
  readonly auditIds: readonly string[];
  readonly macs: readonly string[];
  readonly end: ChainEnd;
}

/** What the logger does around a commit. */
export interface CommitHooks {
  /** Records just became durable (the logger takes its periodic checkpoints here). */
  synced(): void;
  /** A failure that rejected events, for the `onError` hook. */
  report(error: AuditError): void;
  /** Closes the active segment and starts the next (called only with nothing unsynced). */
  rotate(end: ChainEnd): void;
}

function utcDay(iso: string): string {
  return iso.slice(0, 10);
}

/**
 * When queued events become records on disk. `immediate`: one write(2) + fdatasync(2) per event
 * on the event loop (a sync on libuv's thread pool costs more than the whole logger; see the
 * README's benchmarks). `batched` / `hybrid`: group commit as databases do it: a batch is MACed
 * and written at once (on `maxEvents`, the timer, a critical event in `hybrid`, or a flush), one
 * fdatasync at a time runs on the thread pool, and when it returns every batch written before it
 * is durable and acknowledged; batches written meanwhile wait for the next one. So the event loop
 * is never blocked on the disk, and sealing the next batch overlaps the sync of the last.
 *
 * If a sync fails, everything written and not yet acknowledged is cut off the file and rejected,
 * and the chain resumes from the last acknowledged record, exactly as if it had never been
 * written. Rotation waits until nothing is unsynced, so a segment is only closed when durable.
 */
export class GroupCommit {
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #unsynced: UnsyncedBatch[] = [];
  #syncing: Promise<AuditError | undefined> | undefined;
  /** A commit found a rotation due while batches were unsynced: commit again after the sync. */
  #commitAfterSync = false;
  /** The last acknowledged (durable) record. */
  #synced: ChainEnd;
  /** The last record written to the file, durable or not: the next one links to it. */
  #written: ChainEnd;

  constructor(
    private readonly files: SegmentFiles,
    private readonly tree: LogTree,
    private readonly key: SecretKey,
    private readonly serviceId: string,
    private readonly settings: WriterSettings,
    private readonly hooks: CommitHooks,
    end: ChainEnd,
  ) {
    this.#synced = end;
    this.#written = end;
  }

  /** The last durable record: what a checkpoint taken now covers. */
  get synced(): ChainEnd {
    return this.#synced;
  }

  /** Queues an event and commits when its mode says so. */
  enqueue(pending: Pending): void {
    this.#queue.push(pending);
    const mode = this.settings.durability;
    if (
      mode === 'immediate' ||
      (mode === 'hybrid' && pending.critical) ||
      this.#queue.length >= this.settings.maxEvents
    ) {
      this.commit();
    } else {
      this.#timer ??= setTimeout(() => this.commit(), this.settings.maxDelayMs);
    }
  }

  /**
   * Writes the whole queue as one batch now (and, in `immediate`, makes it durable). A failure
   * rejects the batch's events and is returned, never thrown.
   */
  commit(): AuditError | undefined {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.files.broken) {
      // A file could not be cut back after a failure: nothing more may be written until a reopen
      // repairs it (a record appended now would follow lines the chain in memory has dropped).
      const broken = this.files.broken;
      if (this.#queue.length > 0) this.#rejectQueue(broken);
      return broken;
    }
    // A batch already waits for the sync in flight to finish a rotation: the queue joins it then
    // (sealing it now would only be thrown away again).
    if (this.#commitAfterSync && this.#syncing) return undefined;
    if (this.#queue.length === 0) return undefined;
    const batch = this.#queue;
    this.#queue = [];
    try {
      if (this.settings.durability === 'immediate') this.commitNow(batch);
      else this.#write(batch);
    } catch (error) {
      const failure =
        error instanceof AuditError
          ? error
          : new AuditWriteError(
              `audit write failed in ${this.files.dir}: ${(error as Error).message}; the batch was not recorded. Free space or fix permissions and emit again`,
              error,
            );
      for (const p of batch) p.reject(failure);
      this.hooks.report(failure);
      return failure;
    }
    return undefined;
  }

  /**
   * Writes and syncs `batch` on the event loop, then acknowledges it; throws on failure, with the
   * file cut back. For `immediate`, and for the repair record `open` writes before anything else.
   */
  commitNow(batch: readonly Pending[]): void {
    const sealed = this.#seal(batch);
    if (this.#rotationDue(sealed.data.length, batch[0]!.ts)) this.hooks.rotate(this.#synced);
    this.files.append(sealed.data, batch[0]!.ts);
    this.#written = sealed.end;
    this.#acknowledge([sealed]);
  }

  /**
   * Resolves once nothing is queued, unsynced or syncing (events emitted meanwhile included),
   * with the first failure that rejected any of them. Used by flush and close.
   */
  async drain(): Promise<AuditError | undefined> {
    let failure: AuditError | undefined;
    for (;;) {
      // commit() also rejects the queue when the log is broken.
      const committed = this.#queue.length > 0 ? this.commit() : undefined;
      failure ??= committed;
      if (this.#syncing) {
        const synced = await this.#syncing;
        failure ??= synced;
      } else if (this.#queue.length === 0) {
        return failure ?? this.files.broken;
      }
    }
  }

  /** Rejects and forgets whatever is still queued (the log is broken or closing). */
  #rejectQueue(error: AuditError): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const queued = this.#queue;
    this.#queue = [];
    for (const p of queued) p.reject(error);
  }

  /** Chains, MACs and encodes the batch after the last written record. */
  #seal(batch: readonly Pending[]): UnsyncedBatch {
    const firstSeq = this.#written.seq + 1;
    let prevMac = this.#written.mac;
    const auditIds: string[] = [];
    const macs: string[] = [];
    let text = '';
    for (const [i, p] of batch.entries()) {
      const auditId = randomUUID();
      const body = {
        seq: firstSeq + i,
        auditId,
        ts: p.ts,
        serviceId: this.serviceId,
        event: p.event,
        prevMac,
      };
      const { mac, line } = sealRecord(this.key, body);
      auditIds.push(auditId);
      macs.push(mac);
      text += `${line}\n`;
      prevMac = mac;
    }
    const end = { seq: firstSeq + batch.length - 1, mac: prevMac };
    return { batch, data: Buffer.from(text, 'utf8'), auditIds, macs, end };
  }

  /** Group commit: write now, sync on the thread pool (one sync at a time). */
  #write(batch: Pending[]): void {
    const sealed = this.#seal(batch);
    if (this.#rotationDue(sealed.data.length, batch[0]!.ts)) {
      if (this.#syncing) {
        // A segment is closed only once all of it is durable: this batch waits for the sync.
        this.#queue = [...batch, ...this.#queue];
        this.#commitAfterSync = true;
        return;
      }
      this.hooks.rotate(this.#synced);
    }
    this.files.write(sealed.data, batch[0]!.ts);
    this.#written = sealed.end;
    this.#unsynced.push(sealed);
    this.#syncing ??= this.#sync();
  }

  /**
   * One fdatasync on the thread pool for every batch written so far; settles them. Never rejects
   * (nobody may be awaiting it, and an unhandled rejection ends the process): anything unexpected
   * is reported instead.
   */
  async #sync(): Promise<AuditError | undefined> {
    const covered = this.#unsynced.length;
    let failure: AuditError | undefined;
    try {
      await this.files.sync();
    } catch (error) {
      failure = this.#discardUnsynced(error);
    }
    try {
      if (failure === undefined) {
        // Batches written while this sync ran are in the file too, but not covered by it.
        const synced = this.#unsynced.splice(0, covered);
        this.files.markSynced(synced.reduce((bytes, b) => bytes + b.data.length, 0));
        this.#acknowledge(synced);
      }
    } catch (error) {
      failure = new AuditWriteError(
        `audit bookkeeping failed in ${this.files.dir} after a successful sync (${(error as Error).message}): some events of that sync may never be acknowledged although they are on disk; close and reopen the log, and report this as a bug`,
        error,
      );
      this.hooks.report(failure);
    } finally {
      this.#syncing = undefined;
    }
    this.#afterSync();
    return failure;
  }

  /** Batches written during the sync get the next one; a commit that waited for it runs now. */
  #afterSync(): void {
    if (this.#unsynced.length > 0) {
      this.#syncing = this.#sync();
    } else if (this.#commitAfterSync) {
      this.#commitAfterSync = false;
      this.commit();
    }
  }

  /**
   * The sync failed: every batch written and not acknowledged (those it covered and those written
   * after it) is cut off the file and rejected; the chain resumes after the last acknowledged one.
   */
  #discardUnsynced(cause: unknown): AuditError {
    const lost = this.#unsynced;
    this.#unsynced = [];
    const failure = this.files.discardUnsynced(cause);
    this.#written = this.#synced;
    for (const sealed of lost) for (const p of sealed.batch) p.reject(failure);
    this.hooks.report(failure);
    return failure;
  }

  /** Durable: into the Merkle tree, acknowledged, then the logger's checkpoint rule. */
  #acknowledge(batches: readonly UnsyncedBatch[]): void {
    if (batches.length === 0) return;
    const segment = this.files.activeName;
    for (const { batch, data, auditIds, macs, end } of batches) {
      this.tree.add(data, batch.length);
      this.#synced = end;
      const firstSeq = end.seq - batch.length + 1;
      for (const [i, p] of batch.entries()) {
        p.resolve({ seq: firstSeq + i, auditId: auditIds[i]!, ts: p.ts, mac: macs[i]!, segment });
      }
    }
    this.hooks.synced();
  }

  #rotationDue(incoming: number, ts: string): boolean {
    const written = this.files.writtenBytes;
    if (written === 0) return false;
    const { maxBytes, daily } = this.settings;
    const firstTs = this.files.writtenFirstTs;
    const bySize = maxBytes !== undefined && written + incoming > maxBytes;
    const byDay = daily && firstTs !== undefined && utcDay(firstTs) !== utcDay(ts);
    return bySize || byDay;
  }
}
