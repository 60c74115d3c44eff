import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import type { SecretKey } from '@vramseal/seal-crypto';
import { type Checkpoint, encodeCheckpoint, makeCheckpoint } from '../checkpoint/checkpoint.js';
import type { ConsistencyProof, InclusionProof } from '../checkpoint/proofs.js';
import { GENESIS_MAC, sealRecord } from '../envelope/record.js';
import {
  AuditClosedError,
  AuditConfigError,
  AuditError,
  AuditUnreadableError,
  AuditWriteError,
} from '../errors.js';
import { type AuditEvent, EVENT_SCHEMAS, type LoggedEvent } from '../events/schema.js';
import { validateEvent } from '../events/validate.js';
import { CHECKPOINT_FILE } from '../storage/layout.js';
import { ensureSecureDir, UnsafePathError } from '../storage/secure-fs.js';
import { acquireWriterLock, releaseWriterLock } from '../storage/writer-lock.js';
import { LogTree } from './log-tree.js';
import {
  type AuditLoggerOptions,
  checkOpenOptions,
  type Durability,
  type WriterSettings,
  writerSettings,
} from './options.js';
import { type RecoveredState, recoverLog } from './recovery.js';
import { SegmentFiles } from './segment-files.js';

/** Proof that an event is durable: where it sits in the log. */
export interface AuditReceipt {
  readonly seq: number;
  readonly auditId: string;
  readonly ts: string;
  readonly mac: string;
  readonly segment: string;
}

interface Pending {
  readonly event: LoggedEvent;
  readonly ts: string;
  readonly resolve: (receipt: AuditReceipt) => void;
  readonly reject: (error: AuditError) => void;
}

function utcDay(iso: string): string {
  return iso.slice(0, 10);
}

/**
 * An append-only, HMAC-chained, Merkle-checkpointed audit log in one directory. One writer per
 * directory. All disk I/O is synchronous inside a commit (write + fdatasync), so a commit never
 * interleaves with another; `emit` itself validates and queues, then resolves when durable.
 */
export class AuditLogger implements AsyncDisposable {
  readonly dir: string;
  readonly serviceId: string;
  readonly durability: Durability;
  private readonly key: SecretKey;
  private readonly settings: WriterSettings;

  private seq: number;
  private lastMac: string;
  private readonly tree: LogTree;
  private checkpoints: Checkpoint[];
  private readonly files: SegmentFiles;
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    options: AuditLoggerOptions,
    state: RecoveredState,
    private readonly realDir: string,
  ) {
    this.dir = options.dir;
    this.serviceId = options.serviceId;
    this.key = options.key;
    this.settings = writerSettings(options);
    this.durability = this.settings.durability;
    this.seq = state.seq;
    this.lastMac = state.lastMac;
    this.checkpoints = state.checkpoints;
    this.files = new SegmentFiles(options.dir, state.active, state.lastManifestMac);
    this.tree = new LogTree(state.leaves, state.tree, () => this.files.active.hash);
  }

  /**
   * Opens (or creates) the log in `options.dir`, verifies what is already there with the key,
   * repairs a torn last line left by a crash (and records that repair as an
   * `audit_log_repaired` event), and resumes the chain from the last record on disk.
   */
  static async open(options: AuditLoggerOptions): Promise<AuditLogger> {
    checkOpenOptions(options);
    try {
      ensureSecureDir(options.dir);
    } catch (error) {
      throw new AuditConfigError(
        'dir',
        `cannot use ${options.dir} as the audit log directory: ${(error as Error).message}`,
        error,
      );
    }
    const realDir = acquireWriterLock(options.dir);
    let logger: AuditLogger;
    try {
      const state = await recoverLog(options.dir, options.key);
      if (state.serviceId !== undefined && state.serviceId !== options.serviceId) {
        throw new AuditConfigError(
          'serviceId',
          `${options.dir} holds the log of service "${state.serviceId}", not "${options.serviceId}"; use one directory per service`,
        );
      }
      logger = new AuditLogger(options, state, realDir);
      logger.files.open();
      for (const repair of state.repairs) {
        logger.commit([
          {
            event: validateEvent({ type: 'audit_log_repaired', ...repair }, { allowSystem: true }),
            ts: logger.now(),
            // commit() throws on failure, which fails open(): a log that cannot record its own
            // repair is not usable.
            resolve: () => {},
            reject: () => {},
          },
        ]);
      }
    } catch (error) {
      // Nothing was opened: give the directory back, so another process may try it.
      releaseWriterLock(options.dir, realDir);
      // A file of the log that cannot be read (a symlinked segment, a directory in its place) is
      // a problem with the directory given, as when the directory itself is unusable.
      if (error instanceof AuditError && !(error instanceof AuditUnreadableError)) throw error;
      if (error instanceof UnsafePathError || error instanceof AuditUnreadableError) {
        throw new AuditConfigError('dir', error.message, error);
      }
      throw new AuditConfigError(
        'dir',
        `cannot open the audit log in ${options.dir}: ${(error as Error).message}`,
        error,
      );
    }
    return logger;
  }

  /** What `console.log(logger)` shows: where and how, never key material. */
  [inspect.custom](): string {
    return `AuditLogger { dir: ${JSON.stringify(this.dir)}, serviceId: ${JSON.stringify(this.serviceId)}, durability: '${this.durability}', size: ${this.seq}, key: ${this.key.id}, signed: ${this.settings.signingKey !== undefined} }`;
  }

  toJSON(): {
    dir: string;
    serviceId: string;
    durability: Durability;
    size: number;
    keyId: string;
  } {
    return {
      dir: this.dir,
      serviceId: this.serviceId,
      durability: this.durability,
      size: this.seq,
      keyId: this.key.id,
    };
  }

  /** Records durable so far (= the tree size a checkpoint taken now would sign). */
  get size(): number {
    return this.seq;
  }

  /** Appends one event; resolves with its receipt once durable under the chosen mode. */
  emit(event: AuditEvent): Promise<AuditReceipt> {
    const unusable = this.unusable();
    if (unusable) return Promise.reject(unusable);
    let clean: LoggedEvent;
    try {
      clean = validateEvent(event);
    } catch (error) {
      return Promise.reject(error);
    }
    const ts = this.now();
    return new Promise<AuditReceipt>((resolve, reject) => {
      this.queue.push({ event: clean, ts, resolve, reject });
      const critical = EVENT_SCHEMAS[clean.type].severity === 'critical';
      if (
        this.durability === 'immediate' ||
        (this.durability === 'hybrid' && critical) ||
        this.queue.length >= this.settings.maxEvents
      ) {
        this.commitQueue();
      } else {
        this.timer ??= setTimeout(() => this.commitQueue(), this.settings.maxDelayMs);
      }
    });
  }

  /** Commits everything queued; resolves when it is durable. */
  async flush(): Promise<void> {
    const unusable = this.unusable();
    if (unusable) throw unusable;
    const failure = this.commitQueue();
    if (failure) throw failure;
  }

  /** Flushes, writes a final checkpoint, and releases the directory. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.files.broken) this.commitQueue();
    this.closed = true;
    try {
      if (!this.files.broken && (this.checkpoints.at(-1)?.treeSize ?? -1) < this.seq) {
        this.writeCheckpoint();
      }
    } catch (error) {
      const failure = new AuditWriteError(
        `could not write the closing checkpoint in ${this.dir} (${(error as Error).message}); every acknowledged event is on disk, but the last ones are not covered by a checkpoint`,
        error,
      );
      this.report(failure);
      throw failure;
    } finally {
      this.files.close();
      releaseWriterLock(this.dir, this.realDir);
    }
  }

  /** close(): `await using log = await AuditLogger.open(...)` closes it when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The newest checkpoint on disk, if any. */
  latestCheckpoint(): Checkpoint | undefined {
    return this.checkpoints.at(-1);
  }

  /** Writes a checkpoint over every durable record now (also done every `checkpointEvery` and on close). */
  checkpoint(): Checkpoint {
    const unusable = this.unusable();
    if (unusable) throw unusable;
    const failure = this.commitQueue();
    if (failure) throw failure;
    return this.writeCheckpoint();
  }

  /**
   * Audit path for record `seq` in the tree of `treeSize` records (default: the latest
   * checkpoint's size, so the proof checks against a signed root).
   */
  inclusionProof(
    seq: number,
    treeSize = this.checkpoints.at(-1)?.treeSize ?? this.seq,
  ): InclusionProof {
    return this.tree.inclusionProof(seq, treeSize);
  }

  /** Proof that the tree of `oldSize` records is a prefix of the tree of `newSize` records. */
  consistencyProof(
    oldSize: number,
    newSize = this.checkpoints.at(-1)?.treeSize ?? this.seq,
  ): ConsistencyProof {
    return this.tree.consistencyProof(oldSize, newSize);
  }

  private unusable(): AuditError | undefined {
    if (this.files.broken) return this.files.broken;
    if (this.closed)
      return new AuditClosedError(
        `the audit log in ${this.dir} is closed; open it again to append`,
      );
    return undefined;
  }

  private now(): string {
    return this.settings.clock().toISOString();
  }

  /** Takes the whole queue and commits it as one batch; failures reject its events, never throw. */
  private commitQueue(): AuditError | undefined {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.queue.length === 0) return undefined;
    const batch = this.queue;
    this.queue = [];
    try {
      this.commit(batch);
    } catch (error) {
      const failure =
        error instanceof AuditError
          ? error
          : new AuditWriteError(
              `audit write failed in ${this.dir}: ${(error as Error).message}; the batch was not recorded`,
              error,
            );
      for (const p of batch) p.reject(failure);
      this.report(failure);
      return failure;
    }
    return undefined;
  }

  private report(error: AuditError): void {
    try {
      const result: unknown = this.settings.onError?.(error);
      // An async hook that rejects would be an unhandled rejection, which ends a Node process.
      if (result instanceof Promise) result.catch(() => {});
    } catch {
      // A failing hook must not take the caller down with it.
    }
  }

  /**
   * Group commit: chain and MAC every record of the batch, write them with one write(2) and one
   * fdatasync(2), and only then advance the in-memory chain and acknowledge. On failure the file
   * is truncated back to its previous length, so nothing half-written stays and the chain in
   * memory still matches the disk.
   */
  private commit(batch: Pending[]): void {
    const firstSeq = this.seq + 1;
    let prevMac = this.lastMac;
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
    const data = Buffer.from(text, 'utf8');
    this.rotateIfDue(data.length, batch[0]!.ts);
    this.files.append(data, batch[0]!.ts);
    this.tree.add(data, batch.length);
    this.seq += batch.length;
    this.lastMac = prevMac;
    const segment = this.files.activeName;
    for (const [i, p] of batch.entries()) {
      p.resolve({ seq: firstSeq + i, auditId: auditIds[i]!, ts: p.ts, mac: macs[i]!, segment });
    }
    if (this.seq - (this.checkpoints.at(-1)?.treeSize ?? 0) >= this.settings.checkpointEvery) {
      try {
        this.writeCheckpoint();
      } catch (error) {
        // The events are durable; only the checkpoint is late. It is retried at the next one.
        this.report(
          new AuditWriteError(
            `could not write a checkpoint in ${this.dir}: ${(error as Error).message}`,
            error,
          ),
        );
      }
    }
  }

  private rotateIfDue(incoming: number, ts: string): void {
    const active = this.files.active;
    if (active.bytes === 0) return;
    const bySize =
      this.settings.maxBytes !== undefined && active.bytes + incoming > this.settings.maxBytes;
    const byDay =
      this.settings.daily && active.firstTs !== undefined && utcDay(active.firstTs) !== utcDay(ts);
    if (bySize || byDay) this.rotate();
  }

  /** Close the active segment, list it in the manifest, start the next one. */
  private rotate(): void {
    this.tree.hashPending();
    this.files.rotate(this.key, { seq: this.seq, mac: this.lastMac }, this.now());
  }

  private writeCheckpoint(): Checkpoint {
    const cp = makeCheckpoint(
      {
        serviceId: this.serviceId,
        treeSize: this.seq,
        root: this.tree.root(),
        lastMac: this.seq === 0 ? GENESIS_MAC : this.lastMac,
        time: this.now(),
      },
      this.key,
      this.settings.signingKey,
    );
    this.files.appendLine(CHECKPOINT_FILE, encodeCheckpoint(cp));
    this.checkpoints.push(cp);
    return cp;
  }
}
