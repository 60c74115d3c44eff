import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { AuditRecord, VerifyReport } from '@vramseal/audit-logging';
import { fieldAt, fieldMatches } from './narration.js';

/**
 * Reads every record of an audit log directory, in order: the `segment-NNNNNN.ndjson` files, one
 * canonical JSON record per line, up to the first NUL (the segment being written ends in zeros the
 * writer preallocates; the layout audit-logging documents). Reading is not verifying: pair it with
 * `verifyAuditLog` when the records must be trusted.
 */
export function readAuditRecords(dir: string): AuditRecord[] {
  const segments = readdirSync(dir)
    .filter((name) => /^segment-\d{6,}\.ndjson$/.test(name))
    .sort();
  return segments.flatMap((name) =>
    recordsText(readFileSync(join(dir, name), 'utf8'))
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as AuditRecord),
  );
}

/** A segment's text up to its preallocated zeros, if it has any. */
function recordsText(text: string): string {
  const zeros = text.indexOf('\0');
  return zeros === -1 ? text : text.slice(0, zeros);
}

/**
 * Some record's event has `type` and every field in `fields` (dotted paths allowed; a string
 * expectation also matches a number printed the same way). Returns the first such record.
 */
export function assertAuditEvent(
  records: readonly AuditRecord[],
  type: string,
  fields: Readonly<Record<string, unknown>> = {},
): AuditRecord {
  const candidates = records.filter((record) => record.event.type === type);
  if (candidates.length === 0) fail(`the audit log has no ${inspect(type)} event`, records);
  const found = candidates.find((record) =>
    Object.entries(fields).every(([path, want]) => fieldMatches(fieldAt(record.event, path), want)),
  );
  if (!found) fail(`no ${inspect(type)} audit event has ${inspect(fields)}`, candidates);
  return found;
}

/** How many records have an event of `type`. */
export function countAuditEvents(records: readonly AuditRecord[], type: string): number {
  return records.filter((record) => record.event.type === type).length;
}

/** The verifier's report says the log is intact; otherwise throws with its reason and detail. */
export function assertAuditVerifies(report: VerifyReport, events?: number): void {
  if (!report.ok) {
    throw new Error(
      `the audit log does not verify: ${report.reason} at record ${report.firstBadSeq}: ${report.detail}`,
    );
  }
  if (events !== undefined && report.events !== events) {
    throw new Error(`the audit log verifies with ${report.events} events, expected ${events}`);
  }
}

function fail(what: string, records: readonly AuditRecord[]): never {
  const shown = records
    .slice(-25)
    .map((r) => `  #${r.seq} ${r.event.type} ${JSON.stringify(r.event)}`)
    .join('\n');
  throw new Error(
    records.length > 0 ? `${what}. Audit records:\n${shown}` : `${what} (the log is empty).`,
  );
}
