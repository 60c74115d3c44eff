import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SecretKey } from '@vramseal/seal-crypto';
import { AuditWriteError } from '../errors.js';
import { MANIFEST_FILE, segmentName } from '../storage/layout.js';
import { encodeManifestEntry, type ManifestBody, manifestMac } from '../storage/manifest.js';
import {
  fsyncDir,
  openAppendOnly,
  openForPositionedWrites,
  writeFully,
  writeFullyAt,
} from '../storage/secure-fs.js';
import type { SegmentState } from '../verify/log-check.js';

/** Zeros to preallocate from (one shared, never written to). */
const ZEROS = Buffer.alloc(1 << 20);

/**
 * The log's files as the writer appends to them: the active segment (write(2) then fdatasync(2),
 * on the event loop or on libuv's thread pool, cut back on failure so only acknowledged lines
 * stay), closing it and starting the next on rotation (with its manifest line), and single-line
 * appends to the side files. All synchronous, so one commit never interleaves with another. A
 * failure that leaves a file in a state a retry cannot fix (a partial line that could not be cut
 * off, no segment to write to) sets `broken`: the logger then refuses every write until the log is
 * reopened, which repairs it.
 *
 * The active segment is preallocated: zeros are written ahead of its records (`preallocate` bytes
 * at a time) and records are written over them at the offset this class keeps. PostgreSQL
 * zero-fills its WAL segments and etcd its WAL for the same reason: an fdatasync of bytes written
 * over blocks already on disk flushes the data alone, while one after an append must also commit
 * the file's new size to the filesystem's journal (a bare sync loop here: 1.4x slower; README,
 * Benchmarks). Readers stop at the first NUL (records never hold one). The zeros are cut off when
 * the segment is closed, by rotation or `close`, so a closed segment holds exactly its records.
 */
export class SegmentFiles {
  broken: AuditWriteError | undefined;
  #active: SegmentState;
  #lastManifestMac: string;
  #fd = -1;
  /** Bytes the active segment's file holds: its records, then preallocated zeros. */
  #allocated = 0;
  /** Bytes written to the active segment after its durable ones, waiting for a sync. */
  #unsynced = 0;
  #unsyncedFirstTs: string | undefined;
  #activeName: { index: number; name: string } | undefined;

  constructor(
    readonly dir: string,
    active: SegmentState,
    lastManifestMac: string,
    /** Zeros written ahead of the records when they reach the end of the file (0: plain appends). */
    private readonly preallocate: number,
  ) {
    this.#active = active;
    this.#lastManifestMac = lastManifestMac;
  }

  get active(): SegmentState {
    return this.#active;
  }

  /** The active segment's file name (what receipts carry), formatted once per segment. */
  get activeName(): string {
    if (this.#activeName?.index !== this.#active.index) {
      this.#activeName = { index: this.#active.index, name: segmentName(this.#active.index) };
    }
    return this.#activeName.name;
  }

  /** Opens (or creates) the active segment; records go on at `active.bytes`. */
  open(): void {
    const file = path.join(this.dir, segmentName(this.#active.index));
    const existed = fs.existsSync(file);
    this.#fd = openForPositionedWrites(file);
    this.#allocated = fs.fstatSync(this.#fd).size;
    if (!existed) fsyncDir(this.dir);
  }

  /** Bytes in the active segment, durable or not yet synced (`active.bytes` counts durable ones). */
  get writtenBytes(): number {
    return this.#active.bytes + this.#unsynced;
  }

  /** When the active segment's first record was written, synced or not (for daily rotation). */
  get writtenFirstTs(): string | undefined {
    return this.#active.firstTs ?? this.#unsyncedFirstTs;
  }

  /** Appends whole lines and makes them durable; on failure nothing of `data` stays in the file. */
  append(data: Buffer, firstTs: string): void {
    this.write(data, firstTs);
    try {
      fs.fdatasyncSync(this.#fd);
    } catch (error) {
      throw this.discardUnsynced(error);
    }
    this.markSynced(data.length);
  }

  /**
   * Appends whole lines without waiting for the disk: they count as durable only after `sync()`
   * and `markSynced()`. On failure nothing of `data` stays in the file (lines written before it and
   * not synced yet stay, for the sync in flight to cover).
   */
  write(data: Buffer, firstTs: string): void {
    const at = this.writtenBytes;
    this.#preallocate(at + data.length);
    try {
      writeFullyAt(this.#fd, data, at);
    } catch (error) {
      throw this.#rollBack(at, error);
    }
    this.#allocated = Math.max(this.#allocated, at + data.length);
    this.#unsynced += data.length;
    this.#unsyncedFirstTs ??= firstTs;
  }

  /**
   * fdatasync(2) of the active segment on libuv's thread pool, off the event loop. Everything
   * written before the call is durable when it resolves; call `markSynced` then.
   */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.#fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Counts the first `bytes` written and not yet synced as durable (a sync covering them returned). */
  markSynced(bytes: number): void {
    this.#active.bytes += bytes;
    this.#unsynced -= bytes;
    // The oldest unsynced lines are among those synced, so the segment's first record is durable.
    this.#active.firstTs ??= this.#unsyncedFirstTs;
    this.#unsyncedFirstTs = undefined;
  }

  /**
   * A sync failed: cuts the file back to its durable length, so no line that was never
   * acknowledged stays behind the chain in memory, and says so as the error to reject them with.
   */
  discardUnsynced(cause: unknown): AuditWriteError {
    const error = this.#rollBack(this.#active.bytes, cause);
    this.#unsynced = 0;
    this.#unsyncedFirstTs = undefined;
    return error;
  }

  /**
   * Makes sure the file holds at least `end` bytes, writing `preallocate` zeros past it when it
   * does not. No sync of its own: the next commit's fdatasync makes the zeros durable along with
   * its records. If the zeros cannot be written (a full disk), the records are written past the
   * end as without preallocation, and that write reports the problem.
   */
  #preallocate(end: number): void {
    if (end <= this.#allocated || this.preallocate === 0) return;
    const target = end + this.preallocate;
    try {
      while (this.#allocated < target) {
        const zeros = ZEROS.subarray(0, Math.min(ZEROS.length, target - this.#allocated));
        writeFullyAt(this.#fd, zeros, this.#allocated);
        this.#allocated += zeros.length;
      }
    } catch {
      // Zeros that did get written are harmless (readers stop at the first NUL), but must still
      // be cut off on close: count whatever the file now holds.
      try {
        this.#allocated = Math.max(this.#allocated, fs.fstatSync(this.#fd).size);
      } catch {
        // Then the records' own write is about to fail too, and its rollback truncates the file.
      }
    }
  }

  #rollBack(length: number, cause: unknown): AuditWriteError {
    const message = `audit write failed in ${path.join(this.dir, segmentName(this.#active.index))} (${(cause as Error).message}); the batch was not recorded`;
    try {
      fs.ftruncateSync(this.#fd, length);
      this.#allocated = length;
      fs.fdatasyncSync(this.#fd);
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

  /**
   * Closes the active segment: fsyncs it, chains its SHA-256 and seq range into the manifest
   * (MACed with the audit key), and starts the next segment. The caller hashes every pending line
   * into `active.hash` first. Called only with nothing unsynced.
   */
  rotate(key: SecretKey, last: { seq: number; mac: string }, closedAt: string): void {
    // A closed segment holds its records and nothing else (its manifest entry hashes them).
    fs.ftruncateSync(this.#fd, this.#active.bytes);
    this.#allocated = this.#active.bytes;
    fs.fsyncSync(this.#fd);
    const closing = this.#active;
    const body: ManifestBody = {
      segment: segmentName(closing.index),
      index: closing.index,
      firstSeq: closing.firstSeq,
      lastSeq: last.seq,
      bytes: closing.bytes,
      sha256: closing.hash.copy().digest('hex'),
      lastMac: last.mac,
      closedAt,
      prevMac: this.#lastManifestMac,
    };
    const mac = manifestMac(key, body);
    this.appendLine(MANIFEST_FILE, encodeManifestEntry({ ...body, mac }));
    this.#lastManifestMac = mac;
    this.#startNext(last.seq + 1);
  }

  #startNext(firstSeq: number): void {
    fs.closeSync(this.#fd);
    this.#fd = -1;
    this.#active = {
      index: this.#active.index + 1,
      bytes: 0,
      hash: createHash('sha256'),
      firstSeq,
      firstTs: undefined,
    };
    try {
      this.open();
    } catch (error) {
      // The old segment is closed and listed; without a new one there is nowhere to write.
      this.broken = new AuditWriteError(
        `could not create ${segmentName(this.#active.index)} in ${this.dir} (${(error as Error).message}); reopen the log once the directory is writable`,
        error,
      );
      throw this.broken;
    }
  }

  /**
   * Appends one line to the manifest or checkpoint file. A failed write is cut back off, like a
   * failed batch: the caller retries later (next rotation or checkpoint), and a retry appended after
   * half a line would leave a broken line in the middle of the file, which no reopen can repair.
   */
  appendLine(name: string, line: string): void {
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
   * Closes the active segment's descriptor, first cutting off its preallocated zeros, so a log
   * closed cleanly holds only records (as a reader that knows nothing of preallocation expects).
   * Safe to call twice.
   */
  close(): void {
    if (this.#fd < 0) return;
    this.trimZeros();
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }

  /**
   * Cuts the preallocated zeros off the active segment (before the closing checkpoint, so a nearly
   * full disk has the room back first). Never throws.
   */
  trimZeros(): void {
    const end = this.writtenBytes;
    if (this.#fd < 0 || this.broken || this.#allocated <= end) return;
    try {
      fs.ftruncateSync(this.#fd, end);
      this.#allocated = end;
      fs.fdatasyncSync(this.#fd);
    } catch {
      // The zeros stay: every reader of the log skips them, and the next open writes over them.
    }
  }
}
