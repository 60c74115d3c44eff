import fs from 'node:fs';
import path from 'node:path';
import { verifyAuditLog } from '@vramseal/audit-logging';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditKey,
  checkpointKeys,
  cleanupTmp,
  openLogger,
  readLines,
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

/** The record (1-based, = its seq) that byte `at` of the original segment belongs to. */
function recordOf(at: number): number {
  return original.subarray(0, at).toString().split('\n').length;
}

/** Runs `check` on the segment with byte `at` set to `value`, then puts the original back. */
async function withSegmentByte(
  at: number,
  value: number,
  check: () => Promise<void>,
): Promise<void> {
  const tampered = Buffer.from(original);
  tampered[at] = value;
  fs.writeFileSync(segmentPath(dir), tampered);
  try {
    await check();
  } finally {
    fs.writeFileSync(segmentPath(dir), original);
  }
}

describe('any single-byte change to a segment is detected (property)', () => {
  it('with the audit key', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: original.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, xor) => {
          await withSegmentByte(at, original[at]! ^ xor, async () => {
            const report = await verifyAuditLog(dir, { key: auditKey });
            expect(report.ok).toBe(false);
            // The changed byte's record is the first bad one; every record before it still verifies.
            const line = recordOf(at);
            expect(report.firstBadSeq).toBe(line);
            expect(report.events).toBe(line - 1);
            // The writer's own check on open (a second implementation) must agree.
            await expect(openLogger(dir)).rejects.toMatchObject({ code: 'INTEGRITY_VIOLATION' });
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('with only the public key: found by the signed checkpoints, never before the covering range', async () => {
    const sizes = readLines(path.join(dir, 'checkpoints.ndjson')).map(
      (l) => (JSON.parse(l) as { treeSize: number }).treeSize,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: original.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, xor) => {
          await withSegmentByte(at, original[at]! ^ xor, async () => {
            const report = await verifyAuditLog(dir, { publicKey: checkpointKeys.publicKey });
            expect(report.ok).toBe(false);
            // Without the key a record is only as trusted as the checkpoint that covers it: the
            // report may point at the start of the covering range, never past the edit and never
            // into a range an intact checkpoint already vouched for.
            const line = recordOf(at);
            const vouched = Math.max(0, ...sizes.filter((size) => size < line));
            expect(report.firstBadSeq).toBeLessThanOrEqual(line);
            expect(report.firstBadSeq).toBeGreaterThan(vouched);
            expect(report.events).toBe(report.firstBadSeq! - 1);
          });
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
        await withSegmentByte(at, replacement, async () => {
          const report = await verifyAuditLog(dir, { key: auditKey });
          const line = recordOf(at);
          expect(report.ok, `newline at ${at} -> 0x${replacement.toString(16)}`).toBe(false);
          expect(report.firstBadSeq).toBe(line);
        });
      }
    }
  });
});

describe('one text, one byte sequence', () => {
  // Decoding UTF-8 turns every invalid sequence into U+FFFD: a real U+FFFD (EF BF BD) in a field
  // swapped for a lone invalid byte decodes to the same record and the same MAC. Only a check of
  // the bytes themselves sees it, so records after the newest checkpoint would otherwise pass.
  it('a U+FFFD replaced by an invalid UTF-8 byte is caught, by the verifier and by open', async () => {
    const d = tmpLogDir();
    const log = await openLogger(d, { checkpointEvery: 1000, signingKey: undefined });
    await log.emit(sealedEvent(1));
    await log.emit({ type: 'auth_failure', actor: 'bad\uFFFDname', method: 'token', reason: 'r' });
    await log.flush();
    const file = segmentPath(d);
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf(Buffer.from([0xef, 0xbf, 0xbd]));
    expect(at).toBeGreaterThan(0);
    for (const invalid of [[0xff], [0xc0, 0xbf], [0xed, 0xa0, 0x80]]) {
      fs.writeFileSync(
        file,
        Buffer.concat([bytes.subarray(0, at), Buffer.from(invalid), bytes.subarray(at + 3)]),
      );
      expect(await verifyAuditLog(d, { key: auditKey })).toMatchObject({
        ok: false,
        firstBadSeq: 2,
        reason: 'malformed_record',
        detail: expect.stringMatching(/not valid UTF-8/),
      });
    }
    fs.writeFileSync(file, bytes);
    expect(await verifyAuditLog(d, { key: auditKey })).toMatchObject({ ok: true, events: 2 });
    await log.close();
    const closed = fs.readFileSync(file);
    fs.writeFileSync(
      file,
      Buffer.concat([closed.subarray(0, at), Buffer.from([0xff]), closed.subarray(at + 3)]),
    );
    await expect(openLogger(d)).rejects.toMatchObject({ code: 'INTEGRITY_VIOLATION', seq: 2 });
  });
});
