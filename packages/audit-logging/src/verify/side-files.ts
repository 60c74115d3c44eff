import { isUtf8 } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import type { SecretKey } from '@vramseal/seal-crypto';
import {
  type Checkpoint,
  decodeCheckpoint,
  decodeCheckpointLine,
  verifyCheckpointMac,
  verifyCheckpointSignature,
} from '../checkpoint/checkpoint.js';
import { GENESIS_MAC } from '../envelope/record.js';
import { CHECKPOINT_FILE, MANIFEST_FILE, segmentName } from '../storage/layout.js';
import { readLines } from '../storage/lines.js';
import { checkManifestMac, decodeManifestEntry, type ManifestEntry } from '../storage/manifest.js';
import {
  type CheckFailure,
  failure,
  oversizedLine,
  type TornTail,
  type VerifyFailure,
} from './failure.js';

/** What reading one side file found: its entries, a torn last line, or the first problem. */
export interface SideFile<T> {
  readonly entries: T[];
  readonly torn: TornTail | undefined;
  readonly failure: CheckFailure | undefined;
}

/** The keys that authenticate what the side files say. */
export interface SideFileKeys {
  readonly key: SecretKey | undefined;
  readonly publicKey: KeyObject | undefined;
}

/**
 * The complete lines of a small append-only side file, as text (null for bytes that are not valid
 * UTF-8), handed to `check` in order until it returns a failure. A last line without its newline
 * is a torn tail: returned, not checked.
 */
async function readSideFile<T>(
  dir: string,
  name: string,
  reason: VerifyFailure,
  check: (line: string | null, lineNo: number, entries: T[]) => T | CheckFailure,
): Promise<SideFile<T>> {
  const file = path.join(dir, name);
  const entries: T[] = [];
  for await (const line of readLines(file)) {
    if (line.kind === 'oversized')
      return { entries, torn: undefined, failure: oversizedLine(null, reason, name) };
    if (line.kind === 'torn') {
      const { offset, length, sha256 } = line;
      return {
        entries,
        torn: { file: name, path: file, offset, length, sha256 },
        failure: undefined,
      };
    }
    // Side files are appended to, never preallocated, so they are read without `preallocated`
    // and hold no `unused` zeros.
    if (line.kind === 'unused') break;
    const text = isUtf8(line.raw) ? line.raw.toString('utf8') : null;
    const entry = check(text, entries.length + 1, entries);
    if (isFailure(entry)) return { entries, torn: undefined, failure: entry };
    entries.push(entry);
  }
  return { entries, torn: undefined, failure: undefined };
}

function isFailure(value: unknown): value is CheckFailure {
  return typeof value === 'object' && value !== null && 'reason' in value && 'detail' in value;
}

/** What the side files say, read before any segment: the checks of the records need both. */
export interface SideFiles {
  readonly manifest: ManifestEntry[];
  /** In tree-size order, a trusted checkpoint from outside the directory merged in. */
  readonly checkpoints: Checkpoint[];
  readonly tornTails: TornTail[];
  readonly failure: CheckFailure | undefined;
}

export async function readSideFiles(
  dir: string,
  names: readonly string[],
  keys: SideFileKeys,
  trustedCheckpoint: Checkpoint | string | object | undefined,
): Promise<SideFiles> {
  const empty = { entries: [], torn: undefined, failure: undefined };
  const manifest = names.includes(MANIFEST_FILE) ? await readManifest(dir, keys.key) : empty;
  const tornTails = manifest.torn ? [manifest.torn] : [];
  const done = (checkpoints: Checkpoint[], failure: CheckFailure | undefined): SideFiles => ({
    manifest: manifest.entries,
    checkpoints,
    tornTails,
    failure,
  });
  if (manifest.failure) return done([], manifest.failure);
  const checkpoints = names.includes(CHECKPOINT_FILE) ? await readCheckpoints(dir, keys) : empty;
  if (checkpoints.torn) tornTails.push(checkpoints.torn);
  if (checkpoints.failure || trustedCheckpoint === undefined) {
    return done(checkpoints.entries, checkpoints.failure);
  }
  const cp = decodeCheckpoint(trustedCheckpoint);
  if (typeof cp === 'string') {
    const invalid = failure(null, 'checkpoint_invalid', `trusted checkpoint: ${cp}`, null);
    return done(checkpoints.entries, invalid);
  }
  const unauthentic = authenticateCheckpoint(cp, 'the trusted checkpoint', keys);
  // Merged by size, so it is checked while streaming, like the ones on disk.
  const merged = [...checkpoints.entries, cp].sort((a, b) => a.treeSize - b.treeSize);
  return done(unauthentic ? checkpoints.entries : merged, unauthentic);
}

/** manifest.ndjson: one entry per closed segment, in order, chained and (with the key) MACed. */
function readManifest(dir: string, key: SecretKey | undefined): Promise<SideFile<ManifestEntry>> {
  return readSideFile<ManifestEntry>(
    dir,
    MANIFEST_FILE,
    'manifest_invalid',
    (line, at, entries) => {
      const entry = line === null ? 'line is not valid UTF-8' : decodeManifestEntry(line);
      const invalid = (seq: number | null, detail: string) =>
        failure(seq, 'manifest_invalid', `manifest line ${at} ${detail}`, MANIFEST_FILE);
      if (typeof entry === 'string')
        return failure(null, 'manifest_invalid', `manifest line ${at}: ${entry}`, MANIFEST_FILE);
      if (entry.index !== at || entry.segment !== segmentName(at)) {
        return invalid(entry.firstSeq, `describes ${entry.segment}, expected ${segmentName(at)}`);
      }
      if (entry.prevMac !== (entries.at(-1)?.mac ?? GENESIS_MAC)) {
        return invalid(entry.firstSeq, 'does not chain to the line before it');
      }
      if (key !== undefined && !checkManifestMac(key, entry)) {
        return invalid(
          entry.firstSeq,
          "fails its MAC (edited or forged, or the key given is not this log's audit key)",
        );
      }
      return entry;
    },
  );
}

/** checkpoints.ndjson: authenticated with whatever keys were given, tree sizes never shrinking. */
function readCheckpoints(dir: string, keys: SideFileKeys): Promise<SideFile<Checkpoint>> {
  return readSideFile<Checkpoint>(
    dir,
    CHECKPOINT_FILE,
    'checkpoint_invalid',
    (line, n, entries) => {
      const cp = line === null ? 'line is not valid UTF-8' : decodeCheckpointLine(line);
      if (typeof cp === 'string') {
        return failure(null, 'checkpoint_invalid', `checkpoint line ${n}: ${cp}`, CHECKPOINT_FILE);
      }
      const unauthentic = authenticateCheckpoint(cp, `checkpoint line ${n}`, keys);
      if (unauthentic !== undefined) return unauthentic;
      const last = entries.at(-1);
      if (last && cp.treeSize < last.treeSize) {
        return failure(
          null,
          'checkpoint_invalid',
          `checkpoint line ${n} has tree size ${cp.treeSize}, smaller than the one before (${last.treeSize})`,
          CHECKPOINT_FILE,
        );
      }
      return cp;
    },
  );
}

/** A checkpoint's signature (with the public key) and MAC (with the audit key). */
function authenticateCheckpoint(
  cp: Checkpoint,
  what: string,
  keys: SideFileKeys,
): CheckFailure | undefined {
  const invalid = (detail: string) =>
    failure(null, 'checkpoint_invalid', `${what} ${detail}`, CHECKPOINT_FILE);
  if (keys.publicKey !== undefined) {
    if (cp.sig === undefined) return invalid('is not signed, but a public key was given');
    if (!verifyCheckpointSignature(cp, keys.publicKey)) {
      return invalid('has a signature that does not verify with the public key');
    }
  }
  if (keys.key !== undefined && !verifyCheckpointMac(cp, keys.key)) {
    return invalid(
      "fails its MAC with the audit key (forged, or the key given is not this log's audit key)",
    );
  }
  return undefined;
}
