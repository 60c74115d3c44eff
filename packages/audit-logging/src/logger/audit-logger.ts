import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import {
  consistencyProof as buildConsistencyProof,
  inclusionProof as buildInclusionProof,
  leafHash,
  type SecretKey,
} from '@vramseal/seal-crypto';
import { type Checkpoint, encodeCheckpoint, makeCheckpoint } from '../checkpoint/checkpoint.js';
import { toSigningKey } from '../checkpoint/keys.js';
import type { ConsistencyProof, InclusionProof } from '../checkpoint/proofs.js';
import { canonicalJson } from '../envelope/canonical-json.js';
import { type AuditRecord, computeMac, encodeRecord, GENESIS_MAC } from '../envelope/record.js';
import {
  AuditClosedError,
  AuditConfigError,
  AuditError,
  AuditValidationError,
  AuditWriteError,
} from '../errors.js';
import { type AuditEvent, EVENT_SCHEMAS, type LoggedEvent } from '../events/schema.js';
import { validateEvent } from '../events/validate.js';
import type { MerkleAccumulator } from '../merkle/accumulator.js';
import { CHECKPOINT_FILE, MANIFEST_FILE, segmentName } from '../storage/layout.js';
import { encodeManifestEntry, type ManifestBody, manifestMac } from '../storage/manifest.js';
import {
  ensureSecureDir,
  fsyncDir,
  openAppendOnly,
  UnsafePathError,
  writeFully,
} from '../storage/secure-fs.js';
import { acquireWriterLock, releaseWriterLock } from '../storage/writer-lock.js';
import type { LeafStore } from './leaf-store.js';
import {
  type AuditLoggerOptions,
  checkOpenOptions,
  DEFAULT_BATCH,
  DEFAULT_CHECKPOINT_EVERY,
  type Durability,
  positiveInt,
} from './options.js';
import { type RecoveredState, recoverLog } from './recovery.js';

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

/** Bound on committed-but-unhashed records (their bytes stay in memory until hashed). */
const MAX_UNHASHED_RECORDS = 4096;

function utcDay(iso: string): string {
  return iso.slice(0, 10);
}

/**
 * An append-only, HMAC-chained, Merkle-checkpointed audit log in one directory. One writer per
 * directory. All disk I/O is synchronous inside a commit (write + fdatasync), so a commit never
 * interleaves with another; `emit` itself validates and queues, then resolves when durable.
 */
export class AuditLogger {
  readonly dir: string;
  readonly serviceId: string;
  readonly durability: Durability;
  private readonly key: SecretKey;
  private readonly maxEvents: number;
  private readonly maxDelayMs: number;
  private readonly maxBytes: number | undefined;
  private readonly daily: boolean;
  private readonly checkpointEvery: number;
  private readonly signingKey: ReturnType<typeof toSigningKey> | undefined;
  private readonly onError: AuditLoggerOptions['onError'];
  private readonly clock: () => Date;

  private seq: number;
  private lastMac: string;
  private readonly leaves: LeafStore;
  private readonly tree: MerkleAccumulator;
  private lastManifestMac: string;
  private manifestCount: number;
  private checkpoints: Checkpoint[];
  private active: RecoveredState['active'];
  private segmentFd: number;
  private queue: Pending[] = [];
  /** Committed batches whose Merkle leaves are not hashed yet. */
  private unhashed: Buffer[] = [];
  private unhashedRecords = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private broken: AuditError | undefined;

  private constructor(
    options: AuditLoggerOptions,
    state: RecoveredState,
    private readonly realDir: string,
  ) {
    this.dir = options.dir;
    this.serviceId = options.serviceId;
    this.durability = options.durability ?? 'immediate';
    this.key = options.key;
    this.maxEvents = positiveInt(
      'batch.maxEvents',
      options.batch?.maxEvents,
      DEFAULT_BATCH.maxEvents,
    );
    this.maxDelayMs = positiveInt(
      'batch.maxDelayMs',
      options.batch?.maxDelayMs,
      DEFAULT_BATCH.maxDelayMs,
    );
    this.maxBytes =
      options.rotation?.maxBytes === undefined
        ? undefined
        : positiveInt('rotation.maxBytes', options.rotation.maxBytes, 0);
    this.daily = options.rotation?.daily ?? false;
    this.checkpointEvery = positiveInt(
      'checkpointEvery',
      options.checkpointEvery,
      DEFAULT_CHECKPOINT_EVERY,
    );
    this.signingKey =
      options.signingKey === undefined ? undefined : toSigningKey(options.signingKey);
    this.onError = options.onError;
    this.clock = options.clock ?? (() => new Date());
    this.seq = state.seq;
    this.lastMac = state.lastMac;
    this.leaves = state.leaves;
    this.tree = state.tree;
    this.lastManifestMac = state.lastManifestMac;
    this.manifestCount = state.manifest.length;
    this.checkpoints = state.checkpoints;
    this.active = state.active;
    this.segmentFd = -1;
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
      const state = recoverLog(options.dir, options.key);
      if (state.serviceId !== undefined && state.serviceId !== options.serviceId) {
        throw new AuditConfigError(
          'serviceId',
          `${options.dir} holds the log of service "${state.serviceId}", not "${options.serviceId}"; use one directory per service`,
        );
      }
      logger = new AuditLogger(options, state, realDir);
      logger.openSegment();
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
      if (error instanceof AuditError) throw error;
      if (error instanceof UnsafePathError) throw new AuditConfigError('dir', error.message, error);
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
    return `AuditLogger { dir: ${JSON.stringify(this.dir)}, serviceId: ${JSON.stringify(this.serviceId)}, durability: '${this.durability}', size: ${this.seq}, key: ${this.key.id}, signed: ${this.signingKey !== undefined} }`;
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
        this.queue.length >= this.maxEvents
      ) {
        this.commitQueue();
      } else {
        this.timer ??= setTimeout(() => this.commitQueue(), this.maxDelayMs);
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
    if (!this.broken) this.commitQueue();
    this.closed = true;
    try {
      if (!this.broken && (this.checkpoints.at(-1)?.treeSize ?? -1) < this.seq) {
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
      if (this.segmentFd >= 0) fs.closeSync(this.segmentFd);
      releaseWriterLock(this.dir, this.realDir);
    }
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
    this.checkTreeSize('treeSize', treeSize);
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > treeSize) {
      throw new AuditValidationError(
        'seq',
        `seq must be an integer in 1..${treeSize} (the tree size); got ${String(seq)}. Take a checkpoint() to cover newer records`,
      );
    }
    const path = buildInclusionProof(seq - 1, this.leaves.prefix(treeSize)).map(toHex);
    return { seq, treeSize, path };
  }

  /** Proof that the tree of `oldSize` records is a prefix of the tree of `newSize` records. */
  consistencyProof(
    oldSize: number,
    newSize = this.checkpoints.at(-1)?.treeSize ?? this.seq,
  ): ConsistencyProof {
    this.checkTreeSize('newSize', newSize);
    if (!Number.isSafeInteger(oldSize) || oldSize < 1 || oldSize > newSize) {
      throw new AuditValidationError(
        'oldSize',
        `oldSize must be an integer in 1..${newSize}; got ${String(oldSize)}`,
      );
    }
    const path = buildConsistencyProof(oldSize, this.leaves.prefix(newSize)).map(toHex);
    return { oldSize, newSize, path };
  }

  private checkTreeSize(name: string, size: number): void {
    this.hashPendingLeaves();
    if (!Number.isSafeInteger(size) || size < 1 || size > this.seq) {
      throw new AuditValidationError(
        name,
        `${name} must be an integer in 1..${this.seq} (records in the log); got ${String(size)}`,
      );
    }
  }

  private unusable(): AuditError | undefined {
    if (this.broken) return this.broken;
    if (this.closed)
      return new AuditClosedError(
        `the audit log in ${this.dir} is closed; open it again to append`,
      );
    return undefined;
  }

  private now(): string {
    return this.clock().toISOString();
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
      const result: unknown = this.onError?.(error);
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
    let seq = this.seq;
    let prevMac = this.lastMac;
    const records: AuditRecord[] = [];
    let text = '';
    for (const p of batch) {
      seq += 1;
      const body = {
        seq,
        auditId: randomUUID(),
        ts: p.ts,
        serviceId: this.serviceId,
        event: p.event,
        prevMac,
      };
      const eventJson = canonicalJson(p.event);
      const record: AuditRecord = { ...body, mac: computeMac(this.key, body, eventJson) };
      records.push(record);
      text += `${encodeRecord(record, eventJson)}\n`;
      prevMac = record.mac;
    }
    const data = Buffer.from(text, 'utf8');
    this.rotateIfDue(data.length, batch[0]!.ts);
    const before = this.active.bytes;
    try {
      writeFully(this.segmentFd, data);
      fs.fdatasyncSync(this.segmentFd);
    } catch (error) {
      throw this.rollBack(before, error);
    }
    this.active.bytes += data.length;
    this.active.firstTs ??= batch[0]!.ts;
    // Merkle leaves and the segment digest are computed later, in bulk (hashPendingLeaves): off the path between
    // this fsync and the caller's next event, where a cold CPU makes every microsecond count.
    this.unhashed.push(data);
    this.unhashedRecords += batch.length;
    if (this.unhashedRecords >= MAX_UNHASHED_RECORDS) this.hashPendingLeaves();
    this.seq = seq;
    this.lastMac = prevMac;
    const segment = segmentName(this.active.index);
    records.forEach((r, i) => {
      batch[i]!.resolve({ seq: r.seq, auditId: r.auditId, ts: r.ts, mac: r.mac, segment });
    });
    if (this.seq - (this.checkpoints.at(-1)?.treeSize ?? 0) >= this.checkpointEvery) {
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

  private rollBack(length: number, cause: unknown): AuditError {
    const message = `audit write failed in ${path.join(this.dir, segmentName(this.active.index))} (${(cause as Error).message}); the batch was not recorded`;
    try {
      fs.ftruncateSync(this.segmentFd, length);
      fs.fdatasyncSync(this.segmentFd);
    } catch (truncateError) {
      // The file may now end in a partial line; reopening repairs it. Until then, refuse writes.
      this.broken = new AuditWriteError(
        `${message}; rolling back also failed (${(truncateError as Error).message}). Reopen the log to repair it`,
        cause,
      );
      return this.broken;
    }
    return new AuditWriteError(`${message}. Free space or fix permissions and retry`, cause);
  }

  private rotateIfDue(incoming: number, ts: string): void {
    if (this.active.bytes === 0) return;
    const bySize = this.maxBytes !== undefined && this.active.bytes + incoming > this.maxBytes;
    const byDay =
      this.daily && this.active.firstTs !== undefined && utcDay(this.active.firstTs) !== utcDay(ts);
    if (bySize || byDay) this.rotate();
  }

  /** Close the active segment: fsync it, chain its digest into the manifest, start the next one. */
  private rotate(): void {
    this.hashPendingLeaves();
    fs.fsyncSync(this.segmentFd);
    const body: ManifestBody = {
      segment: segmentName(this.active.index),
      index: this.active.index,
      firstSeq: this.active.firstSeq,
      lastSeq: this.seq,
      bytes: this.active.bytes,
      sha256: this.active.hash.copy().digest('hex'),
      lastMac: this.lastMac,
      closedAt: this.now(),
      prevMac: this.lastManifestMac,
    };
    const mac = manifestMac(this.key, body);
    this.appendSideFile(MANIFEST_FILE, encodeManifestEntry({ ...body, mac }));
    this.lastManifestMac = mac;
    this.manifestCount += 1;
    fs.closeSync(this.segmentFd);
    this.segmentFd = -1;
    this.active = {
      index: this.active.index + 1,
      bytes: 0,
      hash: createHash('sha256'),
      firstSeq: this.seq + 1,
      firstTs: undefined,
    };
    try {
      this.openSegment();
    } catch (error) {
      // The old segment is closed and listed; without a new one there is nowhere to write.
      this.broken = new AuditWriteError(
        `could not create ${segmentName(this.active.index)} in ${this.dir} (${(error as Error).message}); reopen the log once the directory is writable`,
        error,
      );
      throw this.broken;
    }
  }

  private openSegment(): void {
    const file = path.join(this.dir, segmentName(this.active.index));
    const existed = fs.existsSync(file);
    this.segmentFd = openAppendOnly(file);
    if (!existed) fsyncDir(this.dir);
  }

  /**
   * Appends one line to the manifest or checkpoint file. A failed write is cut back off, like a
   * failed batch: the caller retries later (next rotation or checkpoint), and a retry appended after
   * half a line would leave a broken line in the middle of the file, which no reopen can repair.
   */
  private appendSideFile(name: string, line: string): void {
    const file = path.join(this.dir, name);
    const existed = fs.existsSync(file);
    const fd = openAppendOnly(file);
    try {
      const before = fs.fstatSync(fd).size;
      try {
        writeFully(fd, Buffer.from(`${line}\n`, 'utf8'));
        fs.fsyncSync(fd);
      } catch (error) {
        try {
          fs.ftruncateSync(fd, before);
          fs.fsyncSync(fd);
        } catch (truncateError) {
          this.broken = new AuditWriteError(
            `could not append to ${file} (${(error as Error).message}) nor cut the partial line back off (${(truncateError as Error).message}); reopen the log to repair it`,
            error,
          );
          throw this.broken;
        }
        throw error;
      }
    } finally {
      fs.closeSync(fd);
    }
    if (!existed) fsyncDir(this.dir);
  }

  /**
   * Leaf = RFC 6962 leaf hash of each committed line's bytes (without its newline). Validated
   * text may hold non-ASCII, so line boundaries come from scanning the bytes for newlines. The
   * active segment's running SHA-256 (for the manifest) is fed here too. Must run before the
   * segment changes (rotate) and before anything reads the tree (checkpoints, proofs).
   */
  private hashPendingLeaves(): void {
    for (const data of this.unhashed) {
      this.active.hash.update(data);
      for (
        let start = 0, nl = data.indexOf(10);
        nl !== -1;
        start = nl + 1, nl = data.indexOf(10, start)
      ) {
        const leaf = leafHash(data.subarray(start, nl));
        this.leaves.push(leaf);
        this.tree.append(leaf);
      }
    }
    this.unhashed = [];
    this.unhashedRecords = 0;
  }

  private writeCheckpoint(): Checkpoint {
    this.hashPendingLeaves();
    const cp = makeCheckpoint(
      {
        serviceId: this.serviceId,
        treeSize: this.seq,
        root: toHex(this.tree.root()),
        lastMac: this.seq === 0 ? GENESIS_MAC : this.lastMac,
        time: this.now(),
      },
      this.key,
      this.signingKey,
    );
    this.appendSideFile(CHECKPOINT_FILE, encodeCheckpoint(cp));
    this.checkpoints.push(cp);
    return cp;
  }
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
