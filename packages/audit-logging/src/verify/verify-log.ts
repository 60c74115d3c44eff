import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { leafHash, SecretKey } from '@vramseal/seal-crypto';
import {
  type Checkpoint,
  decodeCheckpoint,
  decodeCheckpointLine,
  verifyCheckpointMac,
  verifyCheckpointSignature,
} from '../checkpoint/checkpoint.js';
import { type CheckpointPublicKey, toPublicKey } from '../checkpoint/keys.js';
import { computeMac, decodeRecord, GENESIS_MAC } from '../envelope/record.js';
import { AuditConfigError, AuditUnreadableError } from '../errors.js';
import { MerkleAccumulator } from '../merkle/accumulator.js';
import {
  CHECKPOINT_FILE,
  listSegments,
  MANIFEST_FILE,
  MAX_LINE_BYTES,
  segmentName,
} from '../storage/layout.js';
import { checkManifestMac, decodeManifestEntry, type ManifestEntry } from '../storage/manifest.js';

/** Why a log failed verification; stable strings, safe to branch on. */
export type VerifyFailure =
  /** A line is not a well-formed, canonical record. */
  | 'malformed_record'
  /** Records are missing: the next seq is higher than expected (deleted lines). */
  | 'seq_gap'
  /** Two records trade places (the expected seq turns up right after a later one). */
  | 'seq_out_of_order'
  /** A seq that was already seen turns up again (a replayed line or segment). */
  | 'seq_replayed'
  /** `prevMac` does not equal the previous record's `mac` (an edit, insertion or splice). */
  | 'chain_broken'
  /** The record's MAC does not verify with the audit key (an edited or forged record). */
  | 'mac_mismatch'
  /** A record names a different service than the rest of the log. */
  | 'service_mismatch'
  /** The newest segment ends in a partial line (a crash mid-write not yet repaired by reopening). */
  | 'torn_tail'
  /** A checkpoint covers more records than the files hold: the end of the log was cut off. */
  | 'truncated'
  /** A segment file that must exist (numbering, manifest) is gone. */
  | 'segment_missing'
  /** A closed segment's bytes or seq range differ from its manifest entry. */
  | 'segment_mismatch'
  /** A closed (non-newest) segment has no manifest entry. */
  | 'segment_unlisted'
  /** A manifest line is malformed, out of order, or fails its MAC/chain. */
  | 'manifest_invalid'
  /** A checkpoint is malformed, unsigned/mis-signed, or goes backwards. */
  | 'checkpoint_invalid'
  /** The records do not produce the root (or last MAC) a checkpoint signed. */
  | 'checkpoint_mismatch';

export interface VerifyReport {
  readonly ok: boolean;
  /** Records verified (all of them when ok; those before `firstBadSeq` otherwise). */
  readonly events: number;
  /** The first record that cannot be trusted (every record below it verified); null when ok or when the problem is not tied to a record. */
  readonly firstBadSeq: number | null;
  readonly reason: VerifyFailure | null;
  /** One readable sentence about the problem (null when ok). */
  readonly detail: string | null;
  /** File where the problem was found. */
  readonly file: string | null;
  readonly segments: number;
  /** Checkpoints whose roots were recomputed and matched. */
  readonly checkpointsVerified: number;
  readonly latestCheckpoint: Checkpoint | null;
  /** What could be checked with the keys given. */
  readonly checked: { readonly macs: boolean; readonly signatures: boolean };
  /** Limits of this verification (e.g. no key given, events after the last checkpoint). */
  readonly warnings: readonly string[];
}

export interface VerifyOptions {
  /** Audit key: lets the verifier check every record MAC (detects any edit). */
  readonly key?: SecretKey;
  /** Ed25519 public key: checkpoints must carry a valid signature by it. */
  readonly publicKey?: CheckpointPublicKey;
  /**
   * A checkpoint kept outside the log directory (published, notarised, in another system): the
   * log must still contain exactly that tree. This is what catches an attacker who cuts the end
   * of the log AND the checkpoints that covered it.
   */
  readonly trustedCheckpoint?: Checkpoint | string | object;
}

class Stop {
  constructor(
    readonly seq: number | null,
    readonly reason: VerifyFailure,
    readonly detail: string,
    readonly file: string | null,
  ) {}
}

/**
 * Streams every segment (one line in memory at a time) and checks, in order: record
 * shape and canonical form, seq continuity, the prevMac chain, each MAC (with `key`), every
 * checkpoint's root and signature (with `publicKey`), every closed segment against the manifest,
 * and that no checkpoint covers records the files no longer hold. Stops at the first problem.
 * Throws `AuditUnreadableError` only when the directory cannot be read at all.
 */
export async function verifyAuditLog(
  dir: string,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const names = readLogDir(dir);
  const v = new Verifier(dir, options);
  try {
    await v.run(names);
  } catch (error) {
    if (error instanceof Stop) return v.report(error);
    if (error instanceof AuditUnreadableError) throw error;
    throw new AuditUnreadableError(
      `cannot read the audit log in ${dir}: ${(error as Error).message}`,
      error,
    );
  }
  return v.report(null);
}

function readLogDir(dir: string): string[] {
  let names: string[];
  try {
    const stat = fs.lstatSync(dir);
    if (stat.isSymbolicLink())
      throw new AuditUnreadableError(`${dir} is a symbolic link; give the real directory`);
    if (!stat.isDirectory()) throw new AuditUnreadableError(`${dir} is not a directory`);
    names = fs.readdirSync(dir);
  } catch (error) {
    if (error instanceof AuditUnreadableError) throw error;
    throw new AuditUnreadableError(`cannot read ${dir}: ${(error as Error).message}`, error);
  }
  if (
    !names.some((n) => n === MANIFEST_FILE || n === CHECKPOINT_FILE || listSegments([n]).length > 0)
  ) {
    throw new AuditUnreadableError(
      `${dir} holds no audit log (no segment-*.ndjson, manifest or checkpoints)`,
    );
  }
  return names;
}

class Verifier {
  private readonly tree = new MerkleAccumulator();
  private readonly publicKey;
  private seq = 0;
  private lastMac = GENESIS_MAC;
  private serviceId: string | undefined;
  private manifest: ManifestEntry[] = [];
  private checkpoints: Checkpoint[] = [];
  private nextCheckpoint = 0;
  private verifiedCheckpoints = 0;
  private lastVerifiedSize = 0;
  private segments = 0;
  /** A seq jump seen on the previous line: a gap, unless the next line fills it (a swap). */
  private pendingJump: { expected: number; found: number; file: string } | undefined;
  private readonly warnings: string[] = [];
  /** A side file whose last line is partial (a crash mid-append): reported if nothing worse is. */
  private tornSideFile: string | undefined;

  constructor(
    private readonly dir: string,
    private readonly options: VerifyOptions,
  ) {
    this.publicKey = options.publicKey === undefined ? undefined : toPublicKey(options.publicKey);
    if (options.key !== undefined) checkAuditKey(options.key);
  }

  report(stop: Stop | null): VerifyReport {
    const base = {
      segments: this.segments,
      checkpointsVerified: this.verifiedCheckpoints,
      latestCheckpoint: this.checkpoints.at(-1) ?? null,
      checked: { macs: this.options.key !== undefined, signatures: this.publicKey !== undefined },
      warnings: this.warnings,
    };
    if (stop === null) {
      return {
        ok: true,
        events: this.seq,
        firstBadSeq: null,
        reason: null,
        detail: null,
        file: null,
        ...base,
      };
    }
    const events = stop.seq === null ? this.seq : Math.min(this.seq, stop.seq - 1);
    return {
      ok: false,
      events,
      firstBadSeq: stop.seq,
      reason: stop.reason,
      detail: stop.detail,
      file: stop.file,
      ...base,
    };
  }

  async run(names: string[]): Promise<void> {
    if (!this.options.key)
      this.warnings.push(
        'no audit key given: record MACs were not checked, only the chain links and checkpoints',
      );
    if (!this.publicKey && !this.options.key)
      this.warnings.push('no public key or audit key: checkpoints were not authenticated');
    if (names.includes(MANIFEST_FILE)) await this.readManifest();
    if (names.includes(CHECKPOINT_FILE)) await this.readCheckpoints();
    this.addTrustedCheckpoint();
    // Signed checkpoints name the service: a record 1 with an edited serviceId is then caught at
    // record 1, not blamed on record 2.
    this.serviceId = this.checkpoints[0]?.serviceId;
    const segments = listSegments(names);
    this.checkCheckpointsAtCurrentSize(CHECKPOINT_FILE);
    for (const [i, seg] of segments.entries()) {
      if (seg.index !== i + 1) {
        const missing = segmentName(i + 1);
        throw new Stop(
          this.seq + 1,
          'segment_missing',
          `${missing} is missing (found ${seg.name} next)`,
          missing,
        );
      }
      await this.readSegment(seg.name, i, i === segments.length - 1);
      this.segments += 1;
    }
    this.finish(segments.length);
  }

  private async readManifest(): Promise<void> {
    let prev = GENESIS_MAC;
    for await (const { line, terminated, oversized } of lines(path.join(this.dir, MANIFEST_FILE))) {
      if (oversized) throw oversizedStop(null, 'manifest_invalid', MANIFEST_FILE);
      if (!terminated) {
        this.tornSideFile = MANIFEST_FILE;
        break;
      }
      const at = this.manifest.length + 1;
      const entry = line === null ? 'line is not valid UTF-8' : decodeManifestEntry(line);
      if (typeof entry === 'string')
        throw new Stop(null, 'manifest_invalid', `manifest line ${at}: ${entry}`, MANIFEST_FILE);
      if (entry.index !== at || entry.segment !== segmentName(at)) {
        throw new Stop(
          entry.firstSeq,
          'manifest_invalid',
          `manifest line ${at} describes ${entry.segment}, expected ${segmentName(at)}`,
          MANIFEST_FILE,
        );
      }
      if (entry.prevMac !== prev) {
        throw new Stop(
          entry.firstSeq,
          'manifest_invalid',
          `manifest line ${at} does not chain to the line before it`,
          MANIFEST_FILE,
        );
      }
      if (this.options.key && !checkManifestMac(this.options.key, entry)) {
        throw new Stop(
          entry.firstSeq,
          'manifest_invalid',
          `manifest line ${at} fails its MAC (edited or forged, or the key given is not this log's audit key)`,
          MANIFEST_FILE,
        );
      }
      prev = entry.mac;
      this.manifest.push(entry);
    }
  }

  private async readCheckpoints(): Promise<void> {
    let n = 0;
    for await (const { line, terminated, oversized } of lines(
      path.join(this.dir, CHECKPOINT_FILE),
    )) {
      if (oversized) throw oversizedStop(null, 'checkpoint_invalid', CHECKPOINT_FILE);
      if (!terminated) {
        this.tornSideFile = CHECKPOINT_FILE;
        break;
      }
      n += 1;
      const cp = line === null ? 'line is not valid UTF-8' : decodeCheckpointLine(line);
      if (typeof cp === 'string')
        throw new Stop(null, 'checkpoint_invalid', `checkpoint line ${n}: ${cp}`, CHECKPOINT_FILE);
      this.authenticate(cp, `checkpoint line ${n}`);
      const last = this.checkpoints.at(-1);
      if (last && cp.treeSize < last.treeSize) {
        throw new Stop(
          null,
          'checkpoint_invalid',
          `checkpoint line ${n} has tree size ${cp.treeSize}, smaller than the one before (${last.treeSize})`,
          CHECKPOINT_FILE,
        );
      }
      this.checkpoints.push(cp);
    }
  }

  private authenticate(cp: Checkpoint, what: string): void {
    if (this.publicKey) {
      if (cp.sig === undefined)
        throw new Stop(
          null,
          'checkpoint_invalid',
          `${what} is not signed, but a public key was given`,
          CHECKPOINT_FILE,
        );
      if (!verifyCheckpointSignature(cp, this.publicKey)) {
        throw new Stop(
          null,
          'checkpoint_invalid',
          `${what} has a signature that does not verify with the public key`,
          CHECKPOINT_FILE,
        );
      }
    }
    if (this.options.key && !verifyCheckpointMac(cp, this.options.key)) {
      throw new Stop(
        null,
        'checkpoint_invalid',
        `${what} fails its MAC with the audit key (forged, or the key given is not this log's audit key)`,
        CHECKPOINT_FILE,
      );
    }
  }

  private addTrustedCheckpoint(): void {
    if (this.options.trustedCheckpoint === undefined) return;
    const cp = decodeCheckpoint(this.options.trustedCheckpoint);
    if (typeof cp === 'string')
      throw new Stop(null, 'checkpoint_invalid', `trusted checkpoint: ${cp}`, null);
    this.authenticate(cp, 'the trusted checkpoint');
    // Merge by size so it is checked while streaming, like the ones on disk.
    this.checkpoints = [...this.checkpoints, cp].sort((a, b) => a.treeSize - b.treeSize);
  }

  private checkCheckpointsAtCurrentSize(file: string): void {
    for (
      let cp = this.checkpoints[this.nextCheckpoint];
      cp && cp.treeSize === this.tree.size;
      cp = this.checkpoints[++this.nextCheckpoint]
    ) {
      const root = Buffer.from(this.tree.root()).toString('hex');
      if (cp.root !== root || cp.lastMac !== this.lastMac) {
        throw new Stop(
          this.lastVerifiedSize + 1,
          'checkpoint_mismatch',
          `records ${this.lastVerifiedSize + 1}..${cp.treeSize} do not produce the root signed in the checkpoint at tree size ${cp.treeSize}`,
          file,
        );
      }
      if (this.serviceId !== undefined && cp.serviceId !== this.serviceId) {
        throw new Stop(
          null,
          'checkpoint_invalid',
          `checkpoint at tree size ${cp.treeSize} names service "${cp.serviceId}"`,
          CHECKPOINT_FILE,
        );
      }
      this.verifiedCheckpoints += 1;
      this.lastVerifiedSize = cp.treeSize;
    }
  }

  private async readSegment(name: string, position: number, isLast: boolean): Promise<void> {
    const hash = createHash('sha256');
    const firstSeq = this.seq + 1;
    let torn: { seq: number } | undefined;
    let lineNo = 0;
    for await (const { terminated, raw, oversized } of lines(path.join(this.dir, name), hash)) {
      lineNo += 1;
      if (oversized) throw oversizedStop(this.seq + 1, 'malformed_record', name);
      if (!terminated) {
        // We always write whole lines; a last line without its newline is a write cut short.
        torn = { seq: this.seq + 1 };
        break;
      }
      const record = decodeRecord(raw);
      if (typeof record === 'string') {
        throw new Stop(this.seq + 1, 'malformed_record', `${name} line ${lineNo}: ${record}`, name);
      }
      if (!this.acceptSeq(record.seq, name)) continue;
      if (this.serviceId !== undefined && record.serviceId !== this.serviceId) {
        throw new Stop(
          record.seq,
          'service_mismatch',
          `record ${record.seq} names service "${record.serviceId}", the log belongs to "${this.serviceId}"`,
          name,
        );
      }
      this.serviceId = record.serviceId;
      if (record.prevMac !== this.lastMac) {
        // With the key (or a checkpoint that covers the previous record) the previous record's
        // mac is vouched for, so this record's prevMac is what changed. Otherwise the previous
        // record's mac field may be the edit: both are suspect.
        const previousVouched = this.options.key || record.seq - 1 <= this.lastVerifiedSize;
        const suspect = previousVouched ? record.seq : record.seq - 1;
        throw new Stop(
          suspect,
          'chain_broken',
          `record ${record.seq}'s prevMac is not the MAC of record ${record.seq - 1}` +
            (suspect < record.seq
              ? ` (without the audit key, either of the two may be the edited one)`
              : ''),
          name,
        );
      }
      if (this.options.key && computeMac(this.options.key, record) !== record.mac) {
        throw new Stop(
          record.seq,
          'mac_mismatch',
          `record ${record.seq} fails its MAC: it was edited or forged` +
            (this.seq === 0 ? " (or the key given is not this log's audit key)" : ''),
          name,
        );
      }
      this.tree.append(leafHash(raw));
      this.seq = record.seq;
      this.lastMac = record.mac;
      this.checkCheckpointsAtCurrentSize(name);
    }
    if (torn) {
      throw new Stop(
        torn.seq,
        isLast ? 'torn_tail' : 'malformed_record',
        isLast
          ? `${name} ends in a partial line (a crash mid-write?); opening the log with AuditLogger.open repairs it and records the repair`
          : `${name} is not the newest segment but ends in a partial line`,
        name,
      );
    }
    const entry = this.manifest[position];
    // A seq jump on the last line is judged on the next segment's first line (gap or swap) first.
    if (entry && !this.pendingJump) {
      const digest = hash.digest('hex');
      if (entry.firstSeq !== firstSeq || entry.lastSeq !== this.seq || entry.sha256 !== digest) {
        throw new Stop(
          entry.firstSeq,
          'segment_mismatch',
          `${name} does not match its manifest entry (seq ${entry.firstSeq}..${entry.lastSeq}, SHA-256 ${entry.sha256.slice(0, 16)}...)`,
          name,
        );
      }
    }
  }

  /**
   * Seq must be previous + 1. A jump is a gap, unless the very next line belongs inside the skipped
   * range (a swap, also of lines further apart), so a jump is held back for one line (returns
   * false: skip this record) and decided on the next.
   */
  private acceptSeq(found: number, file: string): boolean {
    const expected = this.seq + 1;
    const jump = this.pendingJump;
    if (jump) {
      this.pendingJump = undefined;
      if (found >= jump.expected && found < jump.found) {
        throw new Stop(
          jump.expected,
          'seq_out_of_order',
          `record ${jump.found} comes before record ${found}: lines were reordered`,
          jump.file,
        );
      }
      throw gapStop(jump);
    }
    if (found === expected) return true;
    if (found < expected) {
      throw new Stop(
        expected,
        'seq_replayed',
        `record ${found} appears again where record ${expected} belongs (a replayed line or segment)`,
        file,
      );
    }
    this.pendingJump = { expected, found, file };
    return false;
  }

  private finish(segmentCount: number): void {
    if (this.pendingJump) throw gapStop(this.pendingJump);
    if (this.manifest.length > segmentCount) {
      const entry = this.manifest[segmentCount]!;
      throw new Stop(
        entry.firstSeq,
        'segment_missing',
        `${entry.segment} is listed in the manifest but missing`,
        entry.segment,
      );
    }
    if (segmentCount - this.manifest.length > 1) {
      const unlisted = this.manifest.length;
      throw new Stop(
        null,
        'segment_unlisted',
        `${segmentName(unlisted + 1)} is not the newest segment but has no manifest entry`,
        MANIFEST_FILE,
      );
    }
    const beyond = this.checkpoints[this.nextCheckpoint];
    if (beyond) {
      throw new Stop(
        this.seq + 1,
        'truncated',
        `a checkpoint covers ${beyond.treeSize} records but the files hold only ${this.seq}: records ${this.seq + 1}..${beyond.treeSize} were cut off`,
        CHECKPOINT_FILE,
      );
    }
    if (this.tornSideFile !== undefined) {
      throw new Stop(
        null,
        'torn_tail',
        `${this.tornSideFile} ends in a partial line (a crash mid-write?); opening the log with AuditLogger.open repairs it and records the repair`,
        this.tornSideFile,
      );
    }
    const covered = this.checkpoints.at(-1)?.treeSize ?? 0;
    if (covered < this.seq) {
      this.warnings.push(
        `records ${covered + 1}..${this.seq} come after the last checkpoint: their removal from the end would not be detectable`,
      );
    }
  }
}

/** A key for another purpose (or not a key) would make every MAC look forged: say so instead. */
function checkAuditKey(key: unknown): void {
  if (!(key instanceof SecretKey) || key.purpose !== 'audit') {
    throw new AuditConfigError(
      'key',
      "key must be the log's audit key: a SecretKey from deriveKey(secret, 'audit') or loadKeyFile(path, 'audit')",
    );
  }
}

function oversizedStop(seq: number | null, reason: VerifyFailure, file: string): Stop {
  return new Stop(seq, reason, `${file} holds a line longer than ${MAX_LINE_BYTES} bytes`, file);
}

function gapStop(jump: { expected: number; found: number; file: string }): Stop {
  const range =
    jump.found - 1 === jump.expected
      ? `record ${jump.expected} is`
      : `records ${jump.expected}..${jump.found - 1} are`;
  return new Stop(
    jump.expected,
    'seq_gap',
    `${range} missing (the next record is ${jump.found})`,
    jump.file,
  );
}

/**
 * Lines of a file as a stream (a read stream opened without following symlinks), split on LF
 * (0x0A) only, each with its exact raw bytes and whether it ended in a newline. Not readline:
 * readline also ends lines at a lone CR, so a newline edited into a CR would split the same way and
 * hide the edit. `line` is null when the bytes are not valid UTF-8 (decoding would replace them
 * with U+FFFD and so hide which bytes were there). `hash` sees the exact file bytes.
 */
async function* lines(
  file: string,
  hash?: ReturnType<typeof createHash>,
): AsyncGenerator<{ line: string | null; raw: Buffer; terminated: boolean; oversized?: true }> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    throw new AuditUnreadableError(`cannot open ${file}: ${(error as Error).message}`, error);
  }
  const stream = handle.createReadStream();
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      hash?.update(buf);
      let start = 0;
      for (let lf = buf.indexOf(10, start); lf !== -1; lf = buf.indexOf(10, start)) {
        pending.push(buf.subarray(start, lf));
        const raw = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        if (raw.length > MAX_LINE_BYTES) {
          yield { line: null, raw: Buffer.alloc(0), terminated: true, oversized: true };
          return;
        }
        yield { line: utf8OrNull(raw), raw, terminated: true };
        start = lf + 1;
      }
      if (start < buf.length) {
        pending.push(buf.subarray(start));
        pendingBytes += buf.length - start;
        // Memory stays flat even on a file with no newline at all.
        if (pendingBytes > MAX_LINE_BYTES) {
          yield { line: null, raw: Buffer.alloc(0), terminated: true, oversized: true };
          return;
        }
      }
    }
    if (pending.length > 0) {
      const raw = Buffer.concat(pending);
      yield { line: utf8OrNull(raw), raw, terminated: false };
    }
  } finally {
    stream.destroy();
    await handle.close().catch(() => {});
  }
}

function utf8OrNull(raw: Buffer): string | null {
  return isUtf8(raw) ? raw.toString('utf8') : null;
}
