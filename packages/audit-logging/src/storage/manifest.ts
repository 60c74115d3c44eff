import { hmacSha256, type SecretKey } from '@vramseal/seal-crypto';
import { canonicalJson } from '../envelope/canonical-json.js';
import { HEX64, ISO_UTC } from '../envelope/formats.js';
import { equalsHex, toHex } from '../envelope/hex.js';

/**
 * One line of manifest.ndjson, written when a segment is closed by rotation: which records it
 * holds and the SHA-256 of its exact bytes (CloudTrail's digest-file idea). Entries are chained
 * like records (`prevMac`) and MACed with the audit key, so a closed segment cannot be removed,
 * replaced by an older one, or edited without the manifest disagreeing.
 */
export interface ManifestEntry {
  readonly segment: string;
  readonly index: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly bytes: number;
  /** Hex SHA-256 of the whole segment file. */
  readonly sha256: string;
  /** Hex MAC of the last record in the segment. */
  readonly lastMac: string;
  readonly closedAt: string;
  readonly prevMac: string;
  readonly mac: string;
}

export type ManifestBody = Omit<ManifestEntry, 'mac'>;

const ENTRY_KEYS = [
  'bytes',
  'closedAt',
  'firstSeq',
  'index',
  'lastMac',
  'lastSeq',
  'mac',
  'prevMac',
  'segment',
  'sha256',
];

export function manifestMac(key: SecretKey, body: ManifestBody): string {
  return toHex(manifestMacBytes(key, body));
}

/** True when `entry.mac` is the audit key's MAC of the entry (compared in constant time). */
export function checkManifestMac(key: SecretKey, entry: ManifestEntry): boolean {
  const { mac, ...body } = entry;
  return equalsHex(manifestMacBytes(key, body), mac);
}

function manifestMacBytes(key: SecretKey, body: ManifestBody): Uint8Array {
  return hmacSha256(key, Buffer.from(canonicalJson(body), 'utf8'));
}

export function encodeManifestEntry(entry: ManifestEntry): string {
  return canonicalJson(entry);
}

export function decodeManifestEntry(line: string): ManifestEntry | string {
  let p: unknown;
  try {
    p = JSON.parse(line);
  } catch {
    return 'manifest line is not valid JSON';
  }
  if (typeof p !== 'object' || p === null) return 'manifest line is not an object';
  const e = p as Record<string, unknown>;
  const uint = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (typeof e.segment !== 'string') return 'manifest segment is not a string';
  if (!uint(e.index) || !uint(e.firstSeq) || !uint(e.lastSeq) || !uint(e.bytes)) {
    return 'manifest counters are not non-negative integers';
  }
  for (const f of ['sha256', 'lastMac', 'prevMac', 'mac'] as const) {
    if (typeof e[f] !== 'string' || !HEX64.test(e[f] as string))
      return `manifest ${f} is not 64 hex digits`;
  }
  if (typeof e.closedAt !== 'string' || !ISO_UTC.test(e.closedAt))
    return 'manifest closedAt is not an ISO 8601 UTC timestamp';
  const keys = Object.keys(e).sort();
  if (keys.length !== ENTRY_KEYS.length || keys.some((k, i) => k !== ENTRY_KEYS[i])) {
    return `manifest fields are [${keys.join(', ')}], expected [${ENTRY_KEYS.join(', ')}]`;
  }
  const entry = e as unknown as ManifestEntry;
  if (canonicalJson(entry) !== line) return 'manifest line is not in canonical JSON form';
  return entry;
}
