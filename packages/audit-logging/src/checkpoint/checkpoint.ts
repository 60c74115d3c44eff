import { type KeyObject, sign, verify } from 'node:crypto';
import { hmacSha256, hmacSha256Hex, type SecretKey } from '@vramseal/seal-crypto';
import { canonicalJson } from '../envelope/canonical-json.js';
import { HEX64, ISO_UTC } from '../envelope/formats.js';
import { equalsHex } from '../envelope/hex.js';
import { validateRecordedText } from '../events/validate.js';
import { type CheckpointPublicKey, toPublicKey } from './keys.js';

/**
 * A signed tree head (RFC 6962 section 3.5 / RFC 9162 section 4.10): the Merkle root over the
 * first `treeSize` records, when it was taken, and the MAC of record `treeSize` (tying the tree to
 * the hash chain). `sig` is Ed25519 over `checkpointNote()` and lets anyone holding only the public
 * key check it; `mac` is HMAC-SHA256 with the audit key over the same note.
 */
export interface Checkpoint {
  readonly serviceId: string;
  readonly treeSize: number;
  /** Hex RFC 6962 root over the leaf hashes of records 1..treeSize. */
  readonly root: string;
  /** Hex MAC of record `treeSize` (64 zeros when the tree is empty). */
  readonly lastMac: string;
  /** ISO 8601 UTC. */
  readonly time: string;
  /** Base64 Ed25519 signature over the note; absent when the logger has no signing key. */
  readonly sig?: string;
  /** Hex HMAC-SHA256(audit key, note). */
  readonly mac: string;
}

export type UnsignedCheckpoint = Omit<Checkpoint, 'sig' | 'mac'>;

/**
 * The exact bytes that are signed: one field per line under a versioned header, in the spirit of
 * the C2SP signed-note checkpoint format. Fields are validated to hold no newline, so the note is
 * unambiguous.
 */
export function checkpointNote(cp: UnsignedCheckpoint): Buffer {
  return Buffer.from(
    `vramseal-audit-checkpoint/v1\n${cp.serviceId}\n${cp.treeSize}\n${cp.root}\n${cp.lastMac}\n${cp.time}\n`,
    'utf8',
  );
}

export function makeCheckpoint(
  body: UnsignedCheckpoint,
  key: SecretKey,
  signingKey: KeyObject | undefined,
): Checkpoint {
  const note = checkpointNote(body);
  const mac = hmacSha256Hex(key, note);
  const cp: Checkpoint = { ...body, mac };
  return signingKey ? { ...cp, sig: sign(null, note, signingKey).toString('base64') } : cp;
}

export function encodeCheckpoint(cp: Checkpoint): string {
  return canonicalJson(cp);
}

/** Parses one line of checkpoints.ndjson (or a checkpoint published elsewhere); a reason on failure. */
export function decodeCheckpoint(input: string | object): Checkpoint | string {
  let parsed: unknown = input;
  if (typeof input === 'string') {
    try {
      parsed = JSON.parse(input);
    } catch {
      return 'checkpoint is not valid JSON';
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return 'checkpoint is not a JSON object';
  const c = parsed as Record<string, unknown>;
  try {
    validateRecordedText('serviceId', c.serviceId);
  } catch (error) {
    return `checkpoint ${(error as Error).message}`;
  }
  if (typeof c.treeSize !== 'number' || !Number.isSafeInteger(c.treeSize) || c.treeSize < 0) {
    return 'checkpoint treeSize is not a non-negative integer';
  }
  if (typeof c.root !== 'string' || !HEX64.test(c.root))
    return 'checkpoint root is not 64 hex digits';
  if (typeof c.lastMac !== 'string' || !HEX64.test(c.lastMac))
    return 'checkpoint lastMac is not 64 hex digits';
  if (typeof c.time !== 'string' || !ISO_UTC.test(c.time))
    return 'checkpoint time is not ISO 8601 UTC';
  if (typeof c.mac !== 'string' || !HEX64.test(c.mac)) return 'checkpoint mac is not 64 hex digits';
  if (c.sig !== undefined && !isSignatureBase64(c.sig))
    return 'checkpoint sig is not a 64-byte Ed25519 signature in base64';
  const cp: Checkpoint = {
    serviceId: c.serviceId as string,
    treeSize: c.treeSize,
    root: c.root,
    lastMac: c.lastMac,
    time: c.time,
    mac: c.mac,
    ...(typeof c.sig === 'string' ? { sig: c.sig } : {}),
  };
  return cp;
}

/**
 * Node's base64 decoder skips characters outside the alphabet and tolerates missing padding, so
 * many strings decode to the same signature: accept only the one Node writes.
 */
function isSignatureBase64(sig: unknown): sig is string {
  if (typeof sig !== 'string') return false;
  const bytes = Buffer.from(sig, 'base64');
  return bytes.length === 64 && bytes.toString('base64') === sig;
}

/**
 * One line of checkpoints.ndjson: a checkpoint, and exactly the bytes the logger writes for it
 * (canonical JSON, no unknown fields), so the file holds one encoding per checkpoint.
 */
export function decodeCheckpointLine(line: string): Checkpoint | string {
  const cp = decodeCheckpoint(line);
  if (typeof cp === 'string') return cp;
  return encodeCheckpoint(cp) === line ? cp : 'checkpoint line is not in canonical JSON form';
}

/** True when `sig` is a valid Ed25519 signature by `publicKey` over the checkpoint's note. */
export function verifyCheckpointSignature(cp: Checkpoint, publicKey: CheckpointPublicKey): boolean {
  if (cp.sig === undefined) return false;
  const key = toPublicKey(publicKey);
  try {
    return verify(null, checkpointNote(cp), key, Buffer.from(cp.sig, 'base64'));
  } catch {
    return false;
  }
}

/** True when `mac` is the audit key's HMAC over the checkpoint's note (constant-time compare). */
export function verifyCheckpointMac(cp: Checkpoint, key: SecretKey): boolean {
  return equalsHex(hmacSha256(key, checkpointNote(cp)), cp.mac);
}
