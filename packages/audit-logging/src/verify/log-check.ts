import { createHash, type Hash, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { leafHash, type SecretKey } from '@vramseal/seal-crypto';
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import { equalsHex, fromHex } from '../envelope/hex.js';
import { decodeRecord, GENESIS_MAC, macMatches } from '../envelope/record.js';
import { MerkleAccumulator } from '../merkle/accumulator.js';
import { CHECKPOINT_FILE, listSegments, MANIFEST_FILE, segmentName } from '../storage/layout.js';
import { readLines } from '../storage/lines.js';
import type { ManifestEntry } from '../storage/manifest.js';
import {
  type CheckFailure,
  failure,
  oversizedLine,
  seqGap,
  type TornTail,
  tornSegment,
  zerosInClosedSegment,
} from './failure.js';
import { readSideFiles, type SideFileKeys } from './side-files.js';

export interface LogCheckOptions {
  /** Audit key: every record, manifest line and checkpoint MAC is checked with it. */
  readonly key?: SecretKey;
  /** Ed25519 public key: every checkpoint must carry a valid signature by it. */
  readonly publicKey?: KeyObject;
  /** A checkpoint kept outside the directory; the log must still contain exactly that tree. */
  readonly trustedCheckpoint?: Checkpoint | string | object;
  /**
   * A partial last line (a crash mid-write): 'report' makes it a `torn_tail` failure (the
   * verifier); 'repair' accepts it in the newest segment and the side files and returns it in
   * `tornTails`, for the writer to cut once everything else verified.
   */
  readonly tornTails: 'report' | 'repair';
  /** Each record's RFC 6962 leaf hash, in order (the writer keeps them to serve proofs). */
  readonly onLeaf?: (leaf: Uint8Array) => void;
}

/** A segment as read: where the writer would go on appending to it. */
export interface SegmentState {
  index: number;
  /** Bytes of complete lines: a torn tail or preallocated zeros start here, and so does the next write. */
  bytes: number;
  /** SHA-256 over those bytes, still open for appending. */
  hash: Hash;
  firstSeq: number;
  firstTs: string | undefined;
}

export interface LogCheckResult {
  /** The first problem, or null when the log verified. */
  readonly failure: CheckFailure | null;
  /** Records read and verified, in order (with a failure, those before it and maybe the culprit). */
  readonly seq: number;
  readonly lastMac: string;
  readonly serviceId: string | undefined;
  readonly tree: MerkleAccumulator;
  readonly manifest: readonly ManifestEntry[];
  readonly checkpoints: readonly Checkpoint[];
  readonly checkpointsVerified: number;
  /** Segments read to their end. */
  readonly segments: number;
  /** The newest segment read, if any. */
  readonly lastSegment: SegmentState | undefined;
  readonly tornTails: readonly TornTail[];
}

/**
 * The one audit-log checker, shared by the verifier and the writer's recovery. Streams the manifest,
 * the checkpoints and every segment (one line in memory at a time) and checks, in order: record
 * shape and canonical form, seq continuity, the prevMac chain, each MAC (with the key), every
 * checkpoint's root (constant-time) and signature (with the public key), every closed segment
 * against the manifest, and that no checkpoint covers records the files no longer hold. Stops at
 * the first problem and returns it with everything verified before it. Throws only
 * AuditUnreadableError, when a file cannot be read at all.
 */
export async function checkLog(
  dir: string,
  names: readonly string[],
  options: LogCheckOptions,
): Promise<LogCheckResult> {
  const check = new LogCheck(dir, options);
  const found = (await check.run(names)) ?? null;
  return check.result(found);
}

class LogCheck {
  private readonly tree = new MerkleAccumulator();
  private readonly keys: SideFileKeys;
  private seq = 0;
  private lastMac = GENESIS_MAC;
  private serviceId: string | undefined;
  private manifest: ManifestEntry[] = [];
  private checkpoints: Checkpoint[] = [];
  private nextCheckpoint = 0;
  private verifiedCheckpoints = 0;
  private lastVerifiedSize = 0;
  private segments = 0;
  private lastSegment: SegmentState | undefined;
  private readonly tornTails: TornTail[] = [];
  /** A seq jump seen on the previous line: a gap, unless the next line fills it (a swap). */
  private pendingJump: { expected: number; found: number; file: string } | undefined;

  constructor(
    private readonly dir: string,
    private readonly options: LogCheckOptions,
  ) {
    this.keys = { key: options.key, publicKey: options.publicKey };
  }

  result(found: CheckFailure | null): LogCheckResult {
    return {
      failure: found,
      seq: this.seq,
      lastMac: this.lastMac,
      serviceId: this.serviceId,
      tree: this.tree,
      manifest: this.manifest,
      checkpoints: this.checkpoints,
      checkpointsVerified: this.verifiedCheckpoints,
      segments: this.segments,
      lastSegment: this.lastSegment,
      tornTails: this.tornTails,
    };
  }

  async run(names: readonly string[]): Promise<CheckFailure | undefined> {
    const side = await readSideFiles(this.dir, names, this.keys, this.options.trustedCheckpoint);
    this.manifest = side.manifest;
    this.checkpoints = side.checkpoints;
    this.tornTails.push(...side.tornTails);
    if (side.failure) return side.failure;
    // Signed checkpoints name the service: a record 1 with an edited serviceId is then caught at
    // record 1, not blamed on record 2.
    this.serviceId = this.checkpoints[0]?.serviceId;
    const segments = listSegments(names);
    const atStart = this.checkCheckpointsAtCurrentSize(CHECKPOINT_FILE);
    if (atStart) return atStart;
    for (const [i, seg] of segments.entries()) {
      if (seg.index !== i + 1) {
        const missing = segmentName(i + 1);
        return failure(
          this.seq + 1,
          'segment_missing',
          `${missing} is missing (found ${seg.name} next)`,
          missing,
        );
      }
      const problem = await this.readSegment(seg.name, i, i === segments.length - 1);
      if (problem) return problem;
      this.segments += 1;
    }
    return this.finish(segments.length);
  }

  private checkCheckpointsAtCurrentSize(file: string): CheckFailure | undefined {
    for (
      let cp = this.checkpoints[this.nextCheckpoint];
      cp && cp.treeSize === this.tree.size;
      cp = this.checkpoints[++this.nextCheckpoint]
    ) {
      if (!equalsHex(this.tree.root(), cp.root) || !equalsHex(fromHex(this.lastMac), cp.lastMac)) {
        return failure(
          this.lastVerifiedSize + 1,
          'checkpoint_mismatch',
          `records ${this.lastVerifiedSize + 1}..${cp.treeSize} do not produce the root signed in the checkpoint at tree size ${cp.treeSize}`,
          file,
        );
      }
      if (this.serviceId !== undefined && cp.serviceId !== this.serviceId) {
        return failure(
          null,
          'checkpoint_invalid',
          `checkpoint at tree size ${cp.treeSize} names service "${cp.serviceId}"`,
          CHECKPOINT_FILE,
        );
      }
      this.verifiedCheckpoints += 1;
      this.lastVerifiedSize = cp.treeSize;
    }
    return undefined;
  }

  private async readSegment(
    name: string,
    position: number,
    isLast: boolean,
  ): Promise<CheckFailure | undefined> {
    const file = path.join(this.dir, name);
    const hash = createHash('sha256');
    const firstSeq = this.seq + 1;
    let firstTs: string | undefined;
    let bytes = 0;
    let lineNo = 0;
    const closed = !isLast || this.manifest[position] !== undefined;
    for await (const line of readLines(file, { preallocated: true })) {
      lineNo += 1;
      if (line.kind === 'oversized') return oversizedLine(this.seq + 1, 'malformed_record', name);
      if (line.kind === 'unused') {
        // The writer cuts a segment's preallocated zeros off before it lists it in the manifest.
        if (closed) return zerosInClosedSegment(this.seq + 1, name, line.offset, line.length);
        break;
      }
      if (line.kind === 'torn') {
        // Where a NUL cuts a line short, nothing tells a crash from an edit: a page can reach the
        // disk while a later write is still being copied into it, and the cut then falls
        // anywhere. So it is a torn tail either way, reported with where the NUL is.
        if (this.options.tornTails === 'repair' && !closed) {
          const { offset, length, sha256 } = line;
          this.tornTails.push({ file: name, path: file, offset, length, sha256 });
          break;
        }
        return tornSegment(this.seq + 1, name, {
          isLast,
          closed,
          report: this.options.tornTails === 'report',
          nulInLine: line.nulInLine,
        });
      }
      const record = decodeRecord(line.raw);
      if (typeof record === 'string') {
        return failure(this.seq + 1, 'malformed_record', `${name} line ${lineNo}: ${record}`, name);
      }
      const problem = this.checkRecord(record, line.raw, name);
      if (problem === 'held') continue;
      if (problem) return problem;
      firstTs ??= record.ts;
      hash.update(line.raw).update('\n');
      bytes = line.offset + line.raw.length + 1;
    }
    this.lastSegment = { index: position + 1, bytes, hash, firstSeq, firstTs };
    const entry = this.manifest[position];
    // A seq jump on the last line is judged on the next segment's first line (gap or swap) first.
    if (entry && !this.pendingJump) {
      const digest = hash.copy().digest('hex');
      if (entry.firstSeq !== firstSeq || entry.lastSeq !== this.seq || entry.sha256 !== digest) {
        return failure(
          entry.firstSeq,
          'segment_mismatch',
          `${name} does not match its manifest entry (seq ${entry.firstSeq}..${entry.lastSeq}, SHA-256 ${entry.sha256.slice(0, 16)}...)`,
          name,
        );
      }
    }
    return undefined;
  }

  /** One decoded record against the chain; 'held' when a seq jump waits for the next line. */
  private checkRecord(
    record: Exclude<ReturnType<typeof decodeRecord>, string>,
    raw: Buffer,
    name: string,
  ): CheckFailure | 'held' | undefined {
    const seqProblem = this.acceptSeq(record.seq, name);
    if (seqProblem) return seqProblem;
    if (this.serviceId !== undefined && record.serviceId !== this.serviceId) {
      return failure(
        record.seq,
        'service_mismatch',
        `record ${record.seq} names service "${record.serviceId}", the log belongs to "${this.serviceId}"`,
        name,
      );
    }
    this.serviceId = record.serviceId;
    if (record.prevMac !== this.lastMac) {
      // With the key (or a checkpoint that covers the previous record) the previous record's mac
      // is vouched for, so this record's prevMac is what changed. Otherwise the previous record's
      // mac field may be the edit: both are suspect.
      const previousVouched = this.options.key || record.seq - 1 <= this.lastVerifiedSize;
      const suspect = previousVouched ? record.seq : record.seq - 1;
      return failure(
        suspect,
        'chain_broken',
        `record ${record.seq}'s prevMac is not the MAC of record ${record.seq - 1}` +
          (suspect < record.seq
            ? ' (without the audit key, either of the two may be the edited one)'
            : ''),
        name,
      );
    }
    if (this.options.key && !macMatches(this.options.key, record)) {
      return failure(
        record.seq,
        'mac_mismatch',
        `record ${record.seq} fails its MAC: it was edited or forged` +
          (this.seq === 0 ? " (or the key given is not this log's audit key)" : ''),
        name,
      );
    }
    const leaf = leafHash(raw);
    this.tree.append(leaf);
    this.options.onLeaf?.(leaf);
    this.seq = record.seq;
    this.lastMac = record.mac;
    return this.checkCheckpointsAtCurrentSize(name);
  }

  /**
   * Seq must be previous + 1. A jump is a gap, unless the very next line belongs inside the skipped
   * range (a swap, also of lines further apart), so a jump is held back for one line and decided on
   * the next.
   */
  private acceptSeq(found: number, file: string): CheckFailure | 'held' | undefined {
    const expected = this.seq + 1;
    const jump = this.pendingJump;
    if (jump) {
      this.pendingJump = undefined;
      if (found >= jump.expected && found < jump.found) {
        return failure(
          jump.expected,
          'seq_out_of_order',
          `record ${jump.found} comes before record ${found}: lines were reordered`,
          jump.file,
        );
      }
      return seqGap(jump);
    }
    if (found === expected) return undefined;
    if (found < expected) {
      return failure(
        expected,
        'seq_replayed',
        `record ${found} appears again where record ${expected} belongs (a replayed line or segment)`,
        file,
      );
    }
    this.pendingJump = { expected, found, file };
    return 'held';
  }

  private finish(segmentCount: number): CheckFailure | undefined {
    if (this.pendingJump) return seqGap(this.pendingJump);
    if (this.manifest.length > segmentCount) {
      const entry = this.manifest[segmentCount]!;
      return failure(
        entry.firstSeq,
        'segment_missing',
        `${entry.segment} is listed in the manifest but missing`,
        entry.segment,
      );
    }
    if (segmentCount - this.manifest.length > 1) {
      return failure(
        null,
        'segment_unlisted',
        `${segmentName(this.manifest.length + 1)} is not the newest segment but has no manifest entry`,
        MANIFEST_FILE,
      );
    }
    const beyond = this.checkpoints[this.nextCheckpoint];
    if (beyond) {
      return failure(
        this.seq + 1,
        'truncated',
        `a checkpoint covers ${beyond.treeSize} records but the files hold only ${this.seq}: records ${this.seq + 1}..${beyond.treeSize} were cut off`,
        CHECKPOINT_FILE,
      );
    }
    const torn = this.tornTails[0];
    if (torn !== undefined && this.options.tornTails === 'report') {
      return failure(
        null,
        'torn_tail',
        `${torn.file} ends in a partial line (a crash mid-write?); opening the log with AuditLogger.open repairs it and records the repair`,
        torn.file,
      );
    }
    return undefined;
  }
}
