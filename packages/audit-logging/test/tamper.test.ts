import fs from 'node:fs';
import path from 'node:path';
import { verifyAuditLog } from '@vramseal/audit-logging';
import { deriveKey } from '@vramseal/seal-crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  auditKey,
  checkpointKeys,
  cleanupTmp,
  openLogger,
  readLines,
  sealedEvent,
  segmentPath,
  tmpLogDir,
  writeLines,
} from './helpers.js';

/**
 * Tamper suite on real files: a closed log of 20 records in 4 segments (5 records each,
 * checkpoints every 5), then one kind of tampering per test, each of which must be caught with
 * the right first bad seq and reason.
 */
const TOTAL = 20;
let dir: string;

interface ManifestLine {
  segment: string;
  firstSeq: number;
  lastSeq: number;
}

async function buildLog(): Promise<string> {
  const d = tmpLogDir();
  const probe = JSON.stringify(sealedEvent(10)).length + 300;
  const log = await openLogger(d, { rotation: { maxBytes: probe * 5 }, checkpointEvery: 5 });
  for (let i = 1; i <= TOTAL; i++) await log.emit(sealedEvent(i));
  await log.close();
  return d;
}

function manifest(): ManifestLine[] {
  return readLines(path.join(dir, 'manifest.ndjson')).map((l) => JSON.parse(l) as ManifestLine);
}

const verify = () => verifyAuditLog(dir, { key: auditKey, publicKey: checkpointKeys.publicKey });

beforeEach(async () => {
  dir = await buildLog();
});
// The writer re-checks the log on open with its own (synchronous) reader: whatever the verifier
// finds wrong, open must refuse too, so nothing is ever appended to a tampered log.
afterEach(async () => {
  try {
    const report = await verify();
    if (!report.ok) {
      await expect(openLogger(dir)).rejects.toMatchObject({ code: 'INTEGRITY_VIOLATION' });
    }
  } finally {
    cleanupTmp();
  }
});

describe('tamper detection', () => {
  it('the untouched log verifies, across several segments', async () => {
    const report = await verify();
    expect(report).toMatchObject({ ok: true, events: TOTAL, firstBadSeq: null, reason: null });
    expect(report.segments).toBeGreaterThanOrEqual(3);
    expect(manifest().length).toBe(report.segments - 1);
  });

  it('a key for another purpose is refused; a wrong audit key is named as a possible cause', async () => {
    await expect(
      verifyAuditLog(dir, { key: deriveKey('test-worker-token-7f3a9c2e51b84d06a1e9', 'seal') }),
    ).rejects.toMatchObject({ code: 'CONFIG_ERROR', option: 'key' });
    const other = deriveKey('another-worker-token-0c1d2e3f4a5b6c7d', 'audit');
    const report = await verifyAuditLog(dir, { key: other });
    expect(report).toMatchObject({ ok: false, reason: 'manifest_invalid' }); // read first
    expect(report.detail).toMatch(/not this log's audit key/);
    fs.unlinkSync(path.join(dir, 'manifest.ndjson'));
    const next = await verifyAuditLog(dir, { key: other });
    expect(next).toMatchObject({ ok: false, reason: 'checkpoint_invalid' });
    expect(next.detail).toMatch(/not this log's audit key/);
  });

  it('a modified field: MAC mismatch at that record', async () => {
    const file = segmentPath(dir, 1);
    const lines = readLines(file);
    lines[2] = lines[2]!.replace('"shardId":"shard-3"', '"shardId":"shard-9"');
    writeLines(file, lines);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: 3,
      reason: 'mac_mismatch',
      events: 2,
    });
  });

  it('a modified field is caught without the key too, by the signed checkpoint', async () => {
    const file = segmentPath(dir, 1);
    const lines = readLines(file);
    lines[2] = lines[2]!.replace('"vramBytes":3072', '"vramBytes":3073');
    writeLines(file, lines);
    const report = await verifyAuditLog(dir, { publicKey: checkpointKeys.publicKey });
    expect(report).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'checkpoint_mismatch' });
  });

  it('a deleted line: seq gap at the missing record', async () => {
    const file = segmentPath(dir, 1);
    const lines = readLines(file);
    lines.splice(3, 1); // seq 4
    writeLines(file, lines);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'seq_gap' });
  });

  it('a forged line inserted: MAC mismatch at the forgery', async () => {
    const file = segmentPath(dir, 1);
    const lines = readLines(file);
    const prev = JSON.parse(lines[3]!);
    const forged = { ...prev, seq: 5, prevMac: prev.mac, mac: 'ee'.repeat(32) };
    forged.event = { ...prev.event, shardId: 'shard-forged' };
    const sorted = Object.fromEntries(Object.entries(forged).sort(([a], [b]) => (a < b ? -1 : 1)));
    const ev = Object.fromEntries(
      Object.entries(forged.event).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    lines.splice(4, 0, JSON.stringify({ ...sorted, event: ev }));
    writeLines(file, lines);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 5, reason: 'mac_mismatch' });
  });

  it('two lines swapped: out of order at the first of them', async () => {
    const file = segmentPath(dir, 2);
    const first = manifest()[1]!.firstSeq;
    const lines = readLines(file);
    [lines[0], lines[1]] = [lines[1]!, lines[0]!];
    writeLines(file, lines);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: first,
      reason: 'seq_out_of_order',
    });
  });

  it('two lines further apart swapped: out of order at the first of them', async () => {
    const lines = readLines(segmentPath(dir, 1));
    [lines[1], lines[3]] = [lines[3]!, lines[1]!]; // seq 1, 4, 3, 2, 5
    writeLines(segmentPath(dir, 1), lines);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'seq_out_of_order' });
  });

  it('the tail truncated (whole lines): the checkpoint proves records are missing', async () => {
    const segments = fs.readdirSync(dir).filter((n) => n.startsWith('segment-')).length;
    const file = segmentPath(dir, segments);
    const lines = readLines(file);
    writeLines(file, lines.slice(0, -2));
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: TOTAL - 1,
      reason: 'truncated',
      events: TOTAL - 2,
    });
  });

  it('the tail truncated mid-line: a torn last line', async () => {
    const segments = fs.readdirSync(dir).filter((n) => n.startsWith('segment-')).length;
    const file = segmentPath(dir, segments);
    fs.truncateSync(file, fs.statSync(file).size - 10);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: TOTAL, reason: 'torn_tail' });
  });

  it('a whole segment removed: segment missing at its first record', async () => {
    const second = manifest()[1]!;
    fs.unlinkSync(path.join(dir, second.segment));
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: second.firstSeq,
      reason: 'segment_missing',
    });
  });

  it('a segment renamed to another spelling of its number counts as missing', async () => {
    const second = manifest()[1]!;
    // segment-0000002: one more zero than the logger writes (changed in the file name only: the
    // temp folder's random name may hold "-0" too, which made this test flaky).
    const respelled = path.basename(segmentPath(dir, 2)).replace('segment-0', 'segment-00');
    fs.renameSync(path.join(dir, second.segment), path.join(dir, respelled));
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: second.firstSeq,
      reason: 'segment_missing',
    });
  });

  it('the newest segments removed: the manifest and checkpoints notice', async () => {
    const entries = manifest();
    const count = entries.length + 1;
    fs.unlinkSync(segmentPath(dir, count));
    fs.unlinkSync(segmentPath(dir, count - 1));
    const report = await verify();
    expect(report).toMatchObject({
      ok: false,
      firstBadSeq: entries[count - 2]!.firstSeq,
      reason: 'segment_missing',
    });
  });

  it('an old segment replayed in place of a newer one: replay at the overwritten range', async () => {
    const third = manifest()[2]!;
    fs.copyFileSync(segmentPath(dir, 1), path.join(dir, third.segment));
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: third.firstSeq,
      reason: 'seq_replayed',
    });
  });

  it('an old segment replayed as an extra newest segment: replay after the last record', async () => {
    const next = manifest().length + 2;
    fs.copyFileSync(segmentPath(dir, 1), segmentPath(dir, next));
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: TOTAL + 1,
      reason: 'seq_replayed',
    });
  });

  it('the manifest deleted: closed segments are no longer accounted for', async () => {
    fs.unlinkSync(path.join(dir, 'manifest.ndjson'));
    expect(await verify()).toMatchObject({ ok: false, reason: 'segment_unlisted' });
  });

  it('a manifest line forged without the key fails its MAC', async () => {
    const file = path.join(dir, 'manifest.ndjson');
    const lines = readLines(file);
    lines[0] = lines[0]!.replace(/"sha256":"[0-9a-f]{64}"/, `"sha256":"${'0'.repeat(64)}"`);
    writeLines(file, lines);
    expect(await verify()).toMatchObject({ ok: false, reason: 'manifest_invalid', firstBadSeq: 1 });
  });

  it('trailing bytes after a closed segment are caught', async () => {
    fs.appendFileSync(segmentPath(dir, 1), ' ');
    expect(await verify()).toMatchObject({ ok: false, reason: 'malformed_record' });
  });

  it('a line too long to be a record is refused without buffering it (verify and open)', async () => {
    const newest = segmentPath(dir, manifest().length + 1);
    fs.appendFileSync(newest, Buffer.alloc(3 << 20, 0x41)); // 3 MiB, no newline
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: TOTAL + 1,
      reason: 'malformed_record',
      detail: expect.stringMatching(/longer than/),
    });
    await expect(openLogger(dir)).rejects.toMatchObject({
      code: 'INTEGRITY_VIOLATION',
      seq: TOTAL + 1,
    });
  });

  it('a record moved across a segment boundary: the manifest disagrees', async () => {
    // Chain and MACs still line up; only the manifest knows where segment 1 ended.
    const one = readLines(segmentPath(dir, 1));
    const moved = one.pop()!;
    writeLines(segmentPath(dir, 1), one);
    writeLines(segmentPath(dir, 2), [moved, ...readLines(segmentPath(dir, 2))]);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'segment_mismatch' });
  });

  it('truncation plus removal of the covering checkpoints needs an external checkpoint', async () => {
    const external = readLines(path.join(dir, 'checkpoints.ndjson')).at(-1)!;
    const segments = fs.readdirSync(dir).filter((n) => n.startsWith('segment-')).length;
    const file = segmentPath(dir, segments);
    writeLines(file, readLines(file).slice(0, -3)); // records 18..20 gone
    const cps = readLines(path.join(dir, 'checkpoints.ndjson'));
    writeLines(
      path.join(dir, 'checkpoints.ndjson'),
      cps.filter((l) => JSON.parse(l).treeSize <= 15),
    );
    // With only the files, this looks like a log that ends at 17 (documented limit)...
    const filesOnly = await verify();
    expect(filesOnly).toMatchObject({ ok: true, events: 17 });
    expect(filesOnly.warnings.join(' ')).toMatch(/after the last checkpoint/);
    // ...but a checkpoint published elsewhere proves records were cut off.
    const report = await verifyAuditLog(dir, {
      key: auditKey,
      publicKey: checkpointKeys.publicKey,
      trustedCheckpoint: external,
    });
    expect(report).toMatchObject({ ok: false, firstBadSeq: 18, reason: 'truncated' });
  });

  it('a checkpoint forged without the signing key is rejected', async () => {
    const file = path.join(dir, 'checkpoints.ndjson');
    const cps = readLines(file);
    const last = JSON.parse(cps.at(-1)!);
    cps.push(JSON.stringify({ ...last, treeSize: 25 }));
    writeLines(file, cps);
    expect(await verify()).toMatchObject({
      ok: false,
      reason: 'checkpoint_invalid',
      firstBadSeq: null,
    });
  });

  it('a checkpoint line re-encoded with the same values (other bytes) is rejected', async () => {
    // Node's base64 and JSON parsers accept many spellings of one value; the signature covers the
    // values, so only a check of the exact line keeps the file to one encoding per checkpoint.
    const file = path.join(dir, 'checkpoints.ndjson');
    const cps = readLines(file);
    const last = cps.at(-1)!;
    const sig = (JSON.parse(last) as { sig: string }).sig;
    const variants = [
      last.replace(sig, sig.replace(/=+$/, '')), // padding dropped
      last.replace(sig, `${sig.slice(0, 10)}\\n${sig.slice(10)}`), // an escaped newline inside
      last.replace(sig, `${sig.slice(0, 10)}!${sig.slice(10)}`), // a non-base64 character
      last.replace('"treeSize":20', '"treeSize":20.0'),
      last.replace('"treeSize":20', '"treeSize":2e1'),
      last.replace('{"lastMac"', '{ "lastMac"'),
      last.replace('"serviceId":"worker-a"', '"serviceId":"worker\\u002da"'),
      last.replace('}', ',"extra":1}'),
      last.replace('}', `,"treeSize":20}`), // duplicate key, same value
    ];
    for (const variant of variants) {
      expect(variant, variant).not.toBe(last);
      writeLines(file, [...cps.slice(0, -1), variant]);
      expect(await verify(), variant).toMatchObject({ ok: false, reason: 'checkpoint_invalid' });
      await expect(openLogger(dir), variant).rejects.toMatchObject({
        code: 'INTEGRITY_VIOLATION',
      });
    }
    writeLines(file, cps);
    expect(await verify()).toMatchObject({ ok: true });
  });

  it('a record line re-encoded with the same values (other bytes) is malformed', async () => {
    const file = segmentPath(dir, 1);
    const lines = readLines(file);
    const line = lines[1]!;
    const variants = [
      `\uFEFF${line}`, // BOM
      `${line} `, // trailing space
      `${line}\r`, // CRLF line end
      line.replace('"seq":2', '"seq":2.0'),
      line.replace('"seq":2', '"seq":2e0'),
      line.replace('"gpuDevice":0', '"gpuDevice":-0'),
      line.replace('"shardId":"shard-2"', '"shardId":"shard\\u002d2"'),
      line.replace('"type":"vram_sealed"', '"type":"vram_sealed","type":"vram_sealed"'),
      line.replace(/"mac":"([0-9a-f]{64})"/, (_m, mac: string) => `"mac":"${mac.toUpperCase()}"`),
      line.replace(/"auditId":"([^"]+)"/, (_m, id: string) => `"auditId":"${id.toUpperCase()}"`),
    ];
    for (const variant of variants) {
      expect(variant, variant).not.toBe(line);
      writeLines(file, [lines[0]!, variant, ...lines.slice(2)]);
      expect(await verify(), JSON.stringify(variant)).toMatchObject({
        ok: false,
        firstBadSeq: 2,
        reason: 'malformed_record',
      });
    }
  });

  it('the writer refuses to append to a tampered log, and changes nothing in it', async () => {
    const file = segmentPath(dir, 1);
    const lines = readLines(file);
    lines.splice(1, 1);
    writeLines(file, lines);
    // Torn tails elsewhere would be repaired on a good log; on a tampered one they stay as found.
    const checkpoints = path.join(dir, 'checkpoints.ndjson');
    fs.appendFileSync(checkpoints, '{"lastMac":"00');
    const newest = segmentPath(dir, manifest().length + 1);
    fs.appendFileSync(newest, '{"auditId":"5b1c');
    const before = fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n))]);
    await expect(openLogger(dir)).rejects.toMatchObject({ code: 'INTEGRITY_VIOLATION', seq: 2 });
    const after = fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n))]);
    expect(after).toEqual(before);
  });

  it('a closed segment listed in the manifest is never cut, even when it is the newest', async () => {
    const entries = manifest();
    fs.unlinkSync(segmentPath(dir, entries.length + 1)); // as if the crash came before it existed
    const newest = segmentPath(dir, entries.length);
    fs.appendFileSync(newest, '{"auditId":"5b1c');
    const size = fs.statSync(newest).size;
    await expect(openLogger(dir)).rejects.toMatchObject({ code: 'INTEGRITY_VIOLATION' });
    expect(fs.statSync(newest).size).toBe(size);
  });
});
