import { isUtf8 } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { leafHash, type SecretKey, timingSafeEqual } from '@vramseal/seal-crypto';
import {
  type Checkpoint,
  decodeCheckpointLine,
  verifyCheckpointMac,
} from '../checkpoint/checkpoint.js';
import { computeMac, decodeRecord, GENESIS_MAC } from '../envelope/record.js';
import { AuditIntegrityError } from '../errors.js';
import { MerkleAccumulator } from '../merkle/accumulator.js';
import { CHECKPOINT_FILE, listSegments, MANIFEST_FILE, segmentName } from '../storage/layout.js';
import { checkManifestMac, decodeManifestEntry, type ManifestEntry } from '../storage/manifest.js';
import { OversizedLineError, openReadOnly, scanLines } from '../storage/secure-fs.js';
import { LeafStore } from './leaf-store.js';

/** A torn tail cut off while opening: the bytes after the last newline of an append-only file. */
export interface Repair {
  file: string;
  droppedBytes: number;
  droppedSha256: string;
  /** Last record on disk when the log was reopened. */
  lastGoodSeq: number;
}

/** Everything the writer needs to continue the log exactly where it stopped. */
export interface RecoveredState {
  seq: number;
  lastMac: string;
  serviceId: string | undefined;
  leaves: LeafStore;
  tree: MerkleAccumulator;
  manifest: ManifestEntry[];
  lastManifestMac: string;
  checkpoints: Checkpoint[];
  /** Index of the segment to append to, and what it already holds. */
  active: {
    index: number;
    bytes: number;
    hash: Hash;
    firstSeq: number;
    firstTs: string | undefined;
  };
  repairs: Repair[];
}

const fromHex = (hex: string) => Buffer.from(hex, 'hex');
const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function fail(seq: number | null, file: string, what: string): never {
  throw new AuditIntegrityError(
    seq,
    `audit log integrity check failed while opening (${file}${seq === null ? '' : `, seq ${seq}`}): ${what}. ` +
      'Run `audit-logging verify <dir>` for a full report; keep the directory as evidence and open a new one',
  );
}

/**
 * Reads a small append-only side file (manifest, checkpoints), cutting a torn last line (a write
 * interrupted by a crash; it was never acknowledged) and returning its complete lines.
 */
/** scanLines, with a line too long to be ours reported as an integrity failure. */
function scanChecked(
  fd: number,
  name: string,
  seqNow: () => number | null,
  onLine: Parameters<typeof scanLines>[1],
): ReturnType<typeof scanLines> {
  try {
    return scanLines(fd, onLine);
  } catch (error) {
    if (error instanceof OversizedLineError) fail(seqNow(), name, error.message);
    throw error;
  }
}

/** A torn tail found while reading, cut only once the whole log has verified. */
interface Cut {
  readonly file: string;
  readonly offset: number;
}

function readSideFile(dir: string, name: string, repairs: Repair[], cuts: Cut[]): string[] {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) return [];
  const fd = openReadOnly(file);
  const lines: string[] = [];
  try {
    const { tail, tailOffset } = scanChecked(
      fd,
      name,
      () => null,
      (line, _end, raw) => {
        if (!isUtf8(raw)) fail(null, name, `line ${lines.length + 1} is not valid UTF-8`);
        lines.push(line);
      },
    );
    if (tail.length > 0) {
      cuts.push({ file, offset: tailOffset });
      repairs.push({
        file: name,
        droppedBytes: tail.length,
        droppedSha256: sha256Hex(tail),
        lastGoodSeq: 0,
      });
    }
  } finally {
    fs.closeSync(fd);
  }
  return lines;
}

function readManifest(
  dir: string,
  key: SecretKey,
  repairs: Repair[],
  cuts: Cut[],
): { entries: ManifestEntry[]; lastMac: string } {
  const entries: ManifestEntry[] = [];
  let prev = GENESIS_MAC;
  for (const line of readSideFile(dir, MANIFEST_FILE, repairs, cuts)) {
    const entry = decodeManifestEntry(line);
    if (typeof entry === 'string') fail(null, MANIFEST_FILE, entry);
    if (entry.prevMac !== prev || !checkManifestMac(key, entry)) {
      fail(
        entry.firstSeq,
        MANIFEST_FILE,
        `entry for ${entry.segment} does not verify with this audit key`,
      );
    }
    if (entry.index !== entries.length + 1)
      fail(entry.firstSeq, MANIFEST_FILE, 'entries are not in segment order');
    entries.push(entry);
    prev = entry.mac;
  }
  return { entries, lastMac: prev };
}

function readCheckpoints(
  dir: string,
  key: SecretKey,
  repairs: Repair[],
  cuts: Cut[],
): Checkpoint[] {
  const out: Checkpoint[] = [];
  for (const line of readSideFile(dir, CHECKPOINT_FILE, repairs, cuts)) {
    const cp = decodeCheckpointLine(line);
    if (typeof cp === 'string') fail(null, CHECKPOINT_FILE, cp);
    if (!verifyCheckpointMac(cp, key))
      fail(cp.treeSize, CHECKPOINT_FILE, 'a checkpoint does not verify with this audit key');
    const last = out[out.length - 1];
    if (last && cp.treeSize < last.treeSize)
      fail(cp.treeSize, CHECKPOINT_FILE, 'checkpoint tree sizes go backwards');
    out.push(cp);
  }
  return out;
}

/**
 * Re-reads the whole log with the audit key before appending to it: every record's MAC and chain
 * link, every closed segment against its manifest entry, every checkpoint against the tree. The
 * chain then resumes from the last record on disk, never from genesis. Only an unterminated last
 * line (a torn write) of the active segment, the manifest or the checkpoint file is repaired, and
 * only after everything else verified; anything else is an integrity error and changes nothing.
 */
export function recoverLog(dir: string, key: SecretKey): RecoveredState {
  const repairs: Repair[] = [];
  const cuts: Cut[] = [];
  const { entries: manifest, lastMac: lastManifestMac } = readManifest(dir, key, repairs, cuts);
  const checkpoints = readCheckpoints(dir, key, repairs, cuts);
  const segments = listSegments(fs.readdirSync(dir));
  segments.forEach((s, i) => {
    if (s.index !== i + 1)
      fail(
        null,
        s.name,
        `segment files are not numbered 1..${segments.length} (missing ${segmentName(i + 1)})`,
      );
  });
  if (manifest.length > segments.length) {
    fail(
      manifest[segments.length]!.firstSeq,
      manifest[segments.length]!.segment,
      'a segment listed in the manifest is missing',
    );
  }

  const leaves = new LeafStore();
  const tree = new MerkleAccumulator();
  let seq = 0;
  let lastMac = GENESIS_MAC;
  let serviceId: string | undefined;
  let nextCheckpoint = 0;
  let active: RecoveredState['active'] = {
    index: 1,
    bytes: 0,
    hash: createHash('sha256'),
    firstSeq: 1,
    firstTs: undefined,
  };

  const checkCheckpointsAt = () => {
    for (
      let cp = checkpoints[nextCheckpoint];
      cp && cp.treeSize === tree.size;
      cp = checkpoints[++nextCheckpoint]
    ) {
      if (!timingSafeEqual(tree.root(), fromHex(cp.root)) || cp.lastMac !== lastMac) {
        fail(
          cp.treeSize,
          CHECKPOINT_FILE,
          `records 1..${cp.treeSize} do not match the checkpoint taken at that size`,
        );
      }
    }
  };
  checkCheckpointsAt();

  for (const [i, seg] of segments.entries()) {
    const isLast = i === segments.length - 1;
    const file = path.join(dir, seg.name);
    const hash = createHash('sha256');
    const firstSeq = seq + 1;
    let firstTs: string | undefined;
    const fd = openReadOnly(file);
    let result: { tail: Buffer; tailOffset: number };
    try {
      result = scanChecked(
        fd,
        seg.name,
        () => seq + 1,
        (_line, _end, raw) => {
          const record = decodeRecord(raw);
          if (typeof record === 'string') fail(seq + 1, seg.name, record);
          if (record.seq !== seq + 1)
            fail(seq + 1, seg.name, `expected seq ${seq + 1}, found ${record.seq}`);
          if (record.prevMac !== lastMac)
            fail(record.seq, seg.name, 'prevMac does not match the previous record');
          if (computeMac(key, record) !== record.mac)
            fail(record.seq, seg.name, 'MAC does not verify with this audit key');
          if (serviceId !== undefined && record.serviceId !== serviceId)
            fail(record.seq, seg.name, 'serviceId changes mid-log');
          serviceId = record.serviceId;
          firstTs ??= record.ts;
          hash.update(raw).update('\n');
          const leaf = leafHash(raw);
          leaves.push(leaf);
          tree.append(leaf);
          seq = record.seq;
          lastMac = record.mac;
          checkCheckpointsAt();
        },
      );
    } finally {
      fs.closeSync(fd);
    }
    if (result.tail.length > 0) {
      if (!isLast || manifest[i])
        fail(seq + 1, seg.name, 'a closed segment ends in a partial line');
      cuts.push({ file, offset: result.tailOffset });
      repairs.push({
        file: seg.name,
        droppedBytes: result.tail.length,
        droppedSha256: sha256Hex(result.tail),
        lastGoodSeq: seq,
      });
    }
    const entry = manifest[i];
    if (entry) {
      const digest = hash.copy().digest('hex');
      if (
        entry.segment !== seg.name ||
        entry.firstSeq !== firstSeq ||
        entry.lastSeq !== seq ||
        entry.sha256 !== digest
      ) {
        fail(
          entry.firstSeq,
          seg.name,
          'segment does not match its manifest entry (edited, replaced or truncated)',
        );
      }
    } else if (!isLast) {
      fail(firstSeq, seg.name, 'a closed segment has no manifest entry');
    }
    active = { index: seg.index, bytes: result.tailOffset, hash, firstSeq, firstTs };
  }
  if (nextCheckpoint < checkpoints.length) {
    const cp = checkpoints[nextCheckpoint]!;
    fail(
      seq + 1,
      CHECKPOINT_FILE,
      `a checkpoint covers ${cp.treeSize} records but only ${seq} are on disk (the tail was truncated or reordered)`,
    );
  }
  // The newest segment was closed (manifest written) but the crash came before its successor existed.
  if (manifest.length === segments.length && segments.length > 0) {
    active = {
      index: segments.length + 1,
      bytes: 0,
      hash: createHash('sha256'),
      firstSeq: seq + 1,
      firstTs: undefined,
    };
  }
  // Everything verified: only now cut the torn tails, so a log that fails to open is left exactly
  // as it was found (evidence).
  for (const cut of cuts) fs.truncateSync(cut.file, cut.offset);
  for (const repair of repairs) repair.lastGoodSeq = seq;
  return {
    seq,
    lastMac,
    serviceId,
    leaves,
    tree,
    manifest,
    lastManifestMac,
    checkpoints,
    active,
    repairs,
  };
}
