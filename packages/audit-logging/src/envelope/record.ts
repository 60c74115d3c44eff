import { isUtf8 } from 'node:buffer';
import { hmacSha256, hmacSha256Hex, type SecretKey } from '@vramseal/seal-crypto';
import type { LoggedEvent } from '../events/schema.js';
import { validateRecordedEvent, validateRecordedText } from '../events/validate.js';
import { HEX64, ISO_UTC } from './formats.js';
import { equalsHex } from './hex.js';

/**
 * One line of a segment file. `mac` = HMAC-SHA256(audit key, canonical JSON of every other field),
 * and `prevMac` is the previous record's `mac`, so each record commits to the whole history before
 * it (the CloudTrail / hash-chain construction). Genesis `prevMac` is 32 zero bytes.
 */
export interface AuditRecord {
  /** 1-based position in the log; also the Merkle leaf index + 1. */
  readonly seq: number;
  /** Random UUID, unique per record (for cross-referencing from other systems). */
  readonly auditId: string;
  /** ISO 8601 UTC time at which `emit` was called. */
  readonly ts: string;
  readonly serviceId: string;
  readonly event: LoggedEvent;
  /** Hex of the previous record's MAC (64 zeros for seq 1). */
  readonly prevMac: string;
  /** Hex HMAC-SHA256 of the canonical JSON of the fields above. */
  readonly mac: string;
}

export type RecordBody = Omit<AuditRecord, 'mac'>;

export const GENESIS_MAC = '0'.repeat(64);

const RECORD_KEYS = ['auditId', 'event', 'mac', 'prevMac', 'seq', 'serviceId', 'ts'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Canonical JSON of an event that came out of validateEvent / validateRecordedEvent: those build
 * a fresh object with its keys inserted in sorted order and only strings, safe integers and
 * booleans as values, for which JSON.stringify writes exactly `canonicalJson` (a test pins this
 * for every event type), natively and several times faster. Only for such events: any other
 * object must go through `canonicalJson`.
 */
function eventJson(event: LoggedEvent): string {
  return JSON.stringify(event);
}

/**
 * A record's canonical line split where `mac` goes (keys sorted: auditId, event | mac | prevMac,
 * seq, serviceId, ts). The MAC covers `head + tail`, which is the canonical JSON of every field but
 * `mac`; the line is `head + "mac":"…", + tail`. One layout for both, so they cannot drift apart.
 */
function recordText(body: RecordBody, event: string): { head: string; tail: string } {
  return {
    head: `{"auditId":${JSON.stringify(body.auditId)},"event":${event},`,
    tail:
      `"prevMac":"${body.prevMac}","seq":${body.seq},` +
      `"serviceId":${JSON.stringify(body.serviceId)},"ts":${JSON.stringify(body.ts)}}`,
  };
}

/** The text the MAC covers: canonical JSON of the body. */
function macInput(body: RecordBody): string {
  const { head, tail } = recordText(body, eventJson(body.event));
  return head + tail;
}

/**
 * MACs a new record and writes its line (without the newline) in one go: the writer's hot path,
 * where the event is encoded once for both.
 */
export function sealRecord(key: SecretKey, body: RecordBody): { mac: string; line: string } {
  const { head, tail } = recordText(body, eventJson(body.event));
  const mac = hmacSha256Hex(key, head + tail);
  return { mac, line: `${head}"mac":"${mac}",${tail}` };
}

/** True when `record.mac` is the audit key's MAC of the record (compared in constant time). */
export function macMatches(key: SecretKey, record: AuditRecord): boolean {
  return equalsHex(hmacSha256(key, Buffer.from(macInput(record), 'utf8')), record.mac);
}

/** The line written to disk (without its newline): canonical JSON of the whole record. */
export function encodeRecord(record: AuditRecord): string {
  const { head, tail } = recordText(record, eventJson(record.event));
  return `${head}"mac":"${record.mac}",${tail}`;
}

/**
 * Parses and checks the shape of one line (its exact bytes, without the newline); returns a reason
 * string instead of throwing. The bytes must be valid UTF-8: decoding replaces every invalid
 * sequence with U+FFFD, so without this check a U+FFFD in a field could be swapped for any invalid
 * byte and the decoded record (and so its MAC) would not change.
 */
export function decodeRecord(raw: Buffer): AuditRecord | string {
  if (!isUtf8(raw)) return 'line is not valid UTF-8';
  const line = raw.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return 'line is not valid JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'line is not a JSON object';
  }
  const r = parsed as Record<string, unknown>;
  const keys = Object.keys(r).sort();
  if (keys.length !== RECORD_KEYS.length || keys.some((k, i) => k !== RECORD_KEYS[i])) {
    return `record fields are [${keys.join(', ')}], expected [${RECORD_KEYS.join(', ')}]`;
  }
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 1)
    return 'seq is not a positive integer';
  if (typeof r.auditId !== 'string' || !UUID.test(r.auditId)) return 'auditId is not a UUID';
  if (typeof r.ts !== 'string' || !ISO_UTC.test(r.ts)) return 'ts is not an ISO 8601 UTC timestamp';
  try {
    // The same rules as the writer's option: a forged serviceId cannot carry escapes to a terminal.
    validateRecordedText('serviceId', r.serviceId);
  } catch (error) {
    return (error as Error).message;
  }
  if (typeof r.prevMac !== 'string' || !HEX64.test(r.prevMac))
    return 'prevMac is not 64 hex digits';
  if (typeof r.mac !== 'string' || !HEX64.test(r.mac)) return 'mac is not 64 hex digits';
  let event: LoggedEvent;
  try {
    event = validateRecordedEvent(r.event);
  } catch (error) {
    return `event is invalid: ${(error as Error).message}`;
  }
  const record: AuditRecord = {
    seq: r.seq,
    auditId: r.auditId,
    ts: r.ts,
    serviceId: r.serviceId as string,
    event,
    prevMac: r.prevMac,
    mac: r.mac,
  };
  // One value, one encoding: anything else (spaces, key order, escapes) was not written by us.
  if (encodeRecord(record) !== line) return 'line is not in canonical JSON form';
  return record;
}
