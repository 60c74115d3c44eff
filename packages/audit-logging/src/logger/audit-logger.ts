import { inspect } from 'node:util';
import type { SecretKey } from '@vramseal/seal-crypto';
import { type Checkpoint, encodeCheckpoint, makeCheckpoint } from '../checkpoint/checkpoint.js';
import type { ConsistencyProof, InclusionProof } from '../checkpoint/proofs.js';
import { GENESIS_MAC } from '../envelope/record.js';
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
import { type AuditReceipt, type ChainEnd, GroupCommit } from './group-commit.js';
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
import { describeTime, IsoTimestamps, isRecordableTime } from './timestamps.js';

/**
 * An append-only, HMAC-chained, Merkle-checkpointed audit log in one directory. One writer per
 * directory. `emit` validates and queues; when its event becomes a durable record depends on the
 * durability mode (group-commit.ts), and it resolves only then.
 */
export class AuditLogger implements AsyncDisposable {
  readonly dir: string;
  readonly serviceId: string;
  readonly durability: Durability;
  private readonly key: SecretKey;
  private readonly settings: WriterSettings;

  private readonly tree: LogTree;
  private checkpoints: Checkpoint[];
  private readonly files: SegmentFiles;
  private readonly commits: GroupCommit;
  private readonly timestamps = new IsoTimestamps();
  private closed = false;
  private closing: Promise<void> | undefined;

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
    this.checkpoints = state.checkpoints;
    this.files = new SegmentFiles(
      options.dir,
      state.active,
      state.lastManifestMac,
      this.settings.preallocate,
    );
    this.tree = new LogTree(state.leaves, state.tree, () => this.files.active.hash);
    this.commits = new GroupCommit(
      this.files,
      this.tree,
      this.key,
      this.serviceId,
      this.settings,
      {
        synced: () => this.checkpointIfDue(),
        report: (error) => this.report(error),
        rotate: (end) => this.rotate(end),
      },
      { seq: state.seq, mac: state.lastMac },
    );
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
        logger.commits.commitNow([
          {
            event: validateEvent({ type: 'audit_log_repaired', ...repair }, { allowSystem: true }),
            ts: logger.now(),
            critical: false,
            // commitNow() throws on failure, which fails open(): a log that cannot record its own
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
    return `AuditLogger { dir: ${JSON.stringify(this.dir)}, serviceId: ${JSON.stringify(this.serviceId)}, durability: '${this.durability}', size: ${this.size}, key: ${this.key.id}, signed: ${this.settings.signingKey !== undefined} }`;
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
      size: this.size,
      keyId: this.key.id,
    };
  }

  /** Records durable so far (= the tree size a checkpoint taken now would sign). */
  get size(): number {
    return this.commits.synced.seq;
  }

  /** Appends one event; resolves with its receipt once durable under the chosen mode. */
  emit(event: AuditEvent): Promise<AuditReceipt> {
    const unusable = this.unusable();
    if (unusable) return Promise.reject(unusable);
    let clean: LoggedEvent;
    let ts: string;
    try {
      clean = validateEvent(event);
      ts = this.now();
    } catch (error) {
      return Promise.reject(error);
    }
    const critical = EVENT_SCHEMAS[clean.type].severity === 'critical';
    return new Promise<AuditReceipt>((resolve, reject) => {
      this.commits.enqueue({ event: clean, ts, critical, resolve, reject });
    });
  }

  /**
   * Commits everything queued; resolves when it and everything written before is durable, or
   * rejects with the failure that rejected any of those events.
   */
  async flush(): Promise<void> {
    const unusable = this.unusable();
    if (unusable) throw unusable;
    const failure = await this.commits.drain();
    if (failure) throw failure;
  }

  /**
   * Refuses new events, waits until every queued one is durable (or rejected), writes a final
   * checkpoint, and releases the directory. Safe to call twice: a second call waits for the first
   * and resolves even if it failed (the failure is reported once).
   */
  async close(): Promise<void> {
    if (this.closing) return this.closing.catch(() => {});
    // Refused from here on, even from an onError hook that a failure during the drain calls.
    this.closed = true;
    this.closing = this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    await this.commits.drain();
    try {
      this.files.trimZeros();
      const size = this.size;
      if (!this.files.broken && (this.checkpoints.at(-1)?.treeSize ?? -1) < size) {
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

  /**
   * Writes a checkpoint over every durable record now (also done every `checkpointEvery` and on
   * close). Events still queued or being synced are not covered: `await flush()` first for them.
   */
  checkpoint(): Checkpoint {
    const unusable = this.unusable();
    if (unusable) throw unusable;
    return this.writeCheckpoint();
  }

  /**
   * Audit path for record `seq` in the tree of `treeSize` records (default: the latest
   * checkpoint's size, so the proof checks against a signed root).
   */
  inclusionProof(
    seq: number,
    treeSize = this.checkpoints.at(-1)?.treeSize ?? this.size,
  ): InclusionProof {
    return this.tree.inclusionProof(seq, treeSize);
  }

  /** Proof that the tree of `oldSize` records is a prefix of the tree of `newSize` records. */
  consistencyProof(
    oldSize: number,
    newSize = this.checkpoints.at(-1)?.treeSize ?? this.size,
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

  /** The clock's reading as a record's `ts`; a reading no record could hold is refused. */
  private now(): string {
    const time = this.settings.clock();
    if (!isRecordableTime(time)) {
      throw new AuditConfigError(
        'clock',
        `clock() returned ${describeTime(time)}; it must return a valid Date from the year 0000 to 9999 (records store ISO 8601 time with a four-digit year)`,
      );
    }
    return this.timestamps.format(time);
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

  /** The periodic checkpoint, after records became durable. */
  private checkpointIfDue(): void {
    if (this.size - (this.checkpoints.at(-1)?.treeSize ?? 0) < this.settings.checkpointEvery)
      return;
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

  /** Close the active segment (all of it durable), list it in the manifest, start the next one. */
  private rotate(end: ChainEnd): void {
    this.tree.hashPending();
    this.files.rotate(this.key, end, this.now());
  }

  private writeCheckpoint(): Checkpoint {
    const { seq, mac } = this.commits.synced;
    const cp = makeCheckpoint(
      {
        serviceId: this.serviceId,
        treeSize: seq,
        root: this.tree.root(),
        lastMac: seq === 0 ? GENESIS_MAC : mac,
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
