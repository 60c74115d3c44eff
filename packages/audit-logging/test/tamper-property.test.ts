import fs from 'node:fs';
import { verifyAuditLog } from '@vramseal/audit-logging';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditKey,
  cleanupTmp,
  openLogger,
  sealedEvent,
  segmentPath,
  tmpLogDir,
} from './helpers.js';

let dir: string;
let original: Buffer;

beforeAll(async () => {
  dir = tmpLogDir();
  const log = await openLogger(dir, { checkpointEvery: 4 });
  for (let i = 1; i <= 10; i++) await log.emit(sealedEvent(i));
  await log.close();
  original = fs.readFileSync(segmentPath(dir));
});
afterAll(cleanupTmp);

describe('any single-byte change to a segment is detected (property)', () => {
  it('with the audit key', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: original.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, xor) => {
          const tampered = Buffer.from(original);
          tampered[at] = tampered[at]! ^ xor;
          fs.writeFileSync(segmentPath(dir), tampered);
          try {
            const report = await verifyAuditLog(dir, { key: auditKey });
            expect(report.ok).toBe(false);
            // The changed byte's record is the first bad one; every record before it still verifies.
            const line = original.subarray(0, at).toString().split('\n').length;
            expect(report.firstBadSeq).toBe(line);
            expect(report.events).toBe(line - 1);
          } finally {
            fs.writeFileSync(segmentPath(dir), original);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  // Found by the property above (1 run in ~20,000): a record's newline edited into a CR (0x0D)
  // used to pass, because readline also ends lines at a lone CR. Every newline, every time.
  it('a newline edited into CR, TAB or space is found at its record', async () => {
    const newlines = [...original.entries()].filter(([, byte]) => byte === 0x0a).map(([at]) => at);
    for (const at of newlines) {
      for (const replacement of [0x0d, 0x09, 0x20]) {
        const tampered = Buffer.from(original);
        tampered[at] = replacement;
        fs.writeFileSync(segmentPath(dir), tampered);
        try {
          const report = await verifyAuditLog(dir, { key: auditKey });
          const line = original.subarray(0, at).toString().split('\n').length;
          expect(report.ok, `newline at ${at} -> 0x${replacement.toString(16)}`).toBe(false);
          expect(report.firstBadSeq).toBe(line);
        } finally {
          fs.writeFileSync(segmentPath(dir), original);
        }
      }
    }
  });
});
