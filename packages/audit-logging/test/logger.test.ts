import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import {
  AuditClosedError,
  AuditConfigError,
  type AuditRecord,
  GENESIS_MAC,
  verifyAuditLog,
  verifyCheckpoint,
  verifyCheckpointConsistency,
  verifyRecordInclusion,
} from '@vramseal/audit-logging';
import { deriveKey } from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auditKey,
  checkpointKeys,
  cleanupTmp,
  openLogger,
  readLines,
  sampleEvent,
  sealedEvent,
  segmentPath,
  TOKEN,
  tmpLogDir,
} from './helpers.js';

afterEach(cleanupTmp);

const parse = (line: string) => JSON.parse(line) as AuditRecord;

describe('AuditLogger basics', () => {
  it('appends chained records and returns receipts', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    const r1 = await log.emit(sealedEvent(1));
    const r2 = await log.emit(sampleEvent('auth_success'));
    expect([r1.seq, r2.seq]).toEqual([1, 2]);
    expect(r1.segment).toBe('segment-000001.ndjson');
    await log.close();
    const [a, b] = readLines(segmentPath(dir)).map(parse);
    expect(a!.prevMac).toBe(GENESIS_MAC);
    expect(b!.prevMac).toBe(a!.mac);
    expect(a!.mac).toBe(r1.mac);
    expect(a!.auditId).not.toBe(b!.auditId);
    expect(a!.event).toEqual(sealedEvent(1));
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 2 });
  });

  it('creates the directory 0700 and files 0600', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    await log.emit(sealedEvent(1));
    await log.close();
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of ['segment-000001.ndjson', 'checkpoints.ndjson']) {
      expect(fs.statSync(path.join(dir, name)).mode & 0o777).toBe(0o600);
    }
  });

  it('refuses a symlinked directory and a symlinked segment', async () => {
    const real = tmpLogDir();
    fs.mkdirSync(real, { recursive: true });
    const link = `${real}-link`;
    fs.symlinkSync(real, link);
    await expect(openLogger(link)).rejects.toThrow(AuditConfigError);
    await expect(openLogger(link)).rejects.toThrow(/symbolic link/);

    const dir = tmpLogDir();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(`${dir}-target`, '');
    fs.symlinkSync(`${dir}-target`, segmentPath(dir));
    await expect(openLogger(dir)).rejects.toThrow(AuditConfigError);
  });

  it('rejects bad options with errors that name the option', async () => {
    const dir = tmpLogDir();
    await expect(openLogger(dir, { serviceId: 'a\u001b[31m' })).rejects.toMatchObject({
      option: 'serviceId',
    });
    await expect(
      openLogger(dir, { key: deriveKey('test-worker-token-7f3a9c2e51b84d06a1e9', 'seal') }),
    ).rejects.toMatchObject({
      option: 'key',
      code: 'CONFIG_ERROR',
    });
    await expect(openLogger(dir, { durability: 'sometimes' as 'immediate' })).rejects.toMatchObject(
      { option: 'durability' },
    );
    await expect(openLogger(dir, { checkpointEvery: 0 })).rejects.toMatchObject({
      option: 'checkpointEvery',
    });
    await expect(
      openLogger(dir, { batch: { maxEvents: 10, maxDelayMs: 2 ** 31 } }),
    ).rejects.toMatchObject({ option: 'batch.maxDelayMs' });
    await expect(
      openLogger(dir, { rotation: { daily: 'yes' as unknown as boolean } }),
    ).rejects.toMatchObject({ option: 'rotation.daily' });
  });

  it('allows one writer per directory', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    await expect(openLogger(dir)).rejects.toThrow(/already open/);
    await log.close();
    const again = await openLogger(dir);
    await again.close();
  });

  it('refuses a second writer process while the first is alive', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    const child = fileURLToPath(new URL('./fixtures/emit-child.ts', import.meta.url));
    const r = spawnSync(
      process.execPath,
      ['--conditions=@vramseal/source', '--import', 'tsx', child, dir, '0', TOKEN],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        encoding: 'utf8',
      },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`open for writing by process ${process.pid}`));
    await log.close();
  });

  it('rejects emit after close with AuditClosedError and an invalid event with the field name', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    await expect(log.emit({ ...sealedEvent(1), digest: 'nope' })).rejects.toMatchObject({
      field: 'digest',
    });
    await log.close();
    await expect(log.emit(sealedEvent(1))).rejects.toBeInstanceOf(AuditClosedError);
    await log.close(); // idempotent
  });

  it('refuses to reopen a directory with a different serviceId', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    await log.emit(sealedEvent(1));
    await log.close();
    await expect(openLogger(dir, { serviceId: 'worker-b' })).rejects.toMatchObject({
      option: 'serviceId',
    });
  });
});

describe('secrets', () => {
  it('never show up in inspect or JSON output of the logger', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    const pem = checkpointKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const seed = pem.split('\n')[1]!;
    for (const shown of [inspect(log, { depth: 10 }), JSON.stringify(log), String(log)]) {
      expect(shown).not.toContain(TOKEN);
      expect(shown).not.toContain(seed);
    }
    expect(inspect(log)).toContain(auditKey.id);
    await log.close();
  });
});

describe('restart', () => {
  it('close, reopen, append: one continuous chain that verifies', async () => {
    const dir = tmpLogDir();
    let log = await openLogger(dir);
    for (let i = 1; i <= 5; i++) await log.emit(sealedEvent(i));
    await log.close();
    log = await openLogger(dir);
    const r = await log.emit(sealedEvent(6));
    expect(r.seq).toBe(6);
    await log.close();
    log = await openLogger(dir, { durability: 'batched' });
    await Promise.all([7, 8, 9].map((i) => log.emit(sealedEvent(i))));
    await log.close();
    const records = readLines(segmentPath(dir)).map(parse);
    expect(records.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 1; i < records.length; i++) expect(records[i]!.prevMac).toBe(records[i - 1]!.mac);
    const report = await verifyAuditLog(dir, {
      key: auditKey,
      publicKey: checkpointKeys.publicKey,
    });
    expect(report).toMatchObject({ ok: true, events: 9, checkpointsVerified: 3 });
  });

  it('refuses to open with the wrong key instead of forking the chain', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    await log.emit(sealedEvent(1));
    await log.close();
    const other = deriveKey('another-worker-token-55c1d0e9a7b3', 'audit');
    await expect(openLogger(dir, { key: other })).rejects.toMatchObject({
      code: 'INTEGRITY_VIOLATION',
    });
  });
});

describe('durability modes', () => {
  it('batched: a lone event is committed by the timer, with no further writes', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 1000, maxDelayMs: 30 },
    });
    const started = performance.now();
    const pending = log.emit(sealedEvent(1));
    // Not written by emit itself: only the timer (no later emit, flush or close comes) commits it.
    expect(fs.readFileSync(segmentPath(dir), 'utf8')).toBe('');
    const receipt = await pending;
    expect(performance.now() - started).toBeGreaterThanOrEqual(25); // maxDelayMs, less timer slack
    expect(receipt.seq).toBe(1);
    expect(readLines(segmentPath(dir))).toHaveLength(1);
    await log.close();
  });

  it('batched: nothing is on disk before the commit, everything after', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 3, maxDelayMs: 60_000 },
    });
    const first = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    expect(fs.existsSync(segmentPath(dir)) ? readLines(segmentPath(dir)) : []).toHaveLength(0);
    const third = log.emit(sealedEvent(3)); // reaches maxEvents: group commit
    const receipts = await Promise.all([...first, third]);
    expect(receipts.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(readLines(segmentPath(dir))).toHaveLength(3);
    await log.close();
  });

  it('hybrid: a critical event commits at once, taking queued ones with it', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
      durability: 'hybrid',
      batch: { maxEvents: 1000, maxDelayMs: 60_000 },
    });
    const routine = log.emit(sealedEvent(1));
    const critical = log.emit(sampleEvent('seal_verification_failed'));
    expect(readLines(segmentPath(dir))).toHaveLength(2);
    expect((await critical).seq).toBe(2);
    expect((await routine).seq).toBe(1);
    await log.close();
  });

  it('flush() commits the queue', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 1000, maxDelayMs: 60_000 },
    });
    const p = log.emit(sealedEvent(1));
    await log.flush();
    expect(readLines(segmentPath(dir))).toHaveLength(1);
    await p;
    await log.close();
  });
});

describe('rotation', () => {
  it('rotates by size and chains closed segments in the manifest', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir, { rotation: { maxBytes: 1200 } });
    for (let i = 1; i <= 12; i++) await log.emit(sealedEvent(i));
    await log.close();
    const segments = fs.readdirSync(dir).filter((n) => n.startsWith('segment-'));
    expect(segments.length).toBeGreaterThan(2);
    const manifest = readLines(path.join(dir, 'manifest.ndjson')).map((l) => JSON.parse(l));
    expect(manifest).toHaveLength(segments.length - 1);
    expect(manifest[1].prevMac).toBe(manifest[0].mac);
    expect(manifest[1].firstSeq).toBe(manifest[0].lastSeq + 1);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({
      ok: true,
      events: 12,
      segments: segments.length,
    });
  });

  it('resumes after a crash between the manifest line and the next segment file', async () => {
    const dir = tmpLogDir();
    let log = await openLogger(dir, { rotation: { maxBytes: 1200 }, checkpointEvery: 1000 });
    for (let i = 1; i <= 12; i++) await log.emit(sealedEvent(i));
    await log.close();
    // Recreate the files as such a crash leaves them: every segment closed and listed, no
    // successor yet, and no checkpoint beyond the listed records.
    const manifest = readLines(path.join(dir, 'manifest.ndjson')).map((l) => JSON.parse(l));
    const lastListed = manifest.at(-1)!;
    fs.unlinkSync(segmentPath(dir, manifest.length + 1));
    fs.unlinkSync(path.join(dir, 'checkpoints.ndjson'));
    log = await openLogger(dir, { rotation: { maxBytes: 1200 } });
    const r = await log.emit(sealedEvent(99));
    expect(r).toMatchObject({
      seq: lastListed.lastSeq + 1,
      segment: `segment-${String(manifest.length + 1).padStart(6, '0')}.ndjson`,
    });
    await log.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({
      ok: true,
      events: lastListed.lastSeq + 1,
    });
  });

  it('rotates at UTC midnight when daily is set', async () => {
    const dir = tmpLogDir();
    let now = new Date('2026-03-01T23:59:59.000Z');
    const log = await openLogger(dir, { rotation: { daily: true }, clock: () => now });
    await log.emit(sealedEvent(1));
    await log.emit(sealedEvent(2));
    now = new Date('2026-03-02T00:00:01.000Z');
    const r = await log.emit(sealedEvent(3));
    expect(r.segment).toBe('segment-000002.ndjson');
    await log.close();
    expect(readLines(segmentPath(dir, 1))).toHaveLength(2);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 3 });
  });
});

describe('timestamps', () => {
  it("stamps each record with the clock's time exactly as Date#toISOString writes it (property)", async () => {
    // Times within a second, across seconds, and a clock stepped back (NTP) or far ahead.
    const step = fc.oneof(
      fc.integer({ min: 0, max: 999 }),
      fc.integer({ min: 1000, max: 3_600_000 }),
      fc.integer({ min: -5000, max: -1 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 253_402_000_000_000 }), // up to the year 9999
        fc.array(step, { minLength: 1, maxLength: 12 }),
        async (start, steps) => {
          const times = [start];
          for (const d of steps) times.push(Math.max(0, times.at(-1)! + d));
          let next = 0;
          const dir = tmpLogDir();
          const log = await openLogger(dir, {
            durability: 'batched',
            // One reading per emit, in order; the closing checkpoint reads the last time again.
            clock: () => new Date(times[Math.min(next++, times.length - 1)]!),
          });
          const receipts = await Promise.all(times.map((_, i) => log.emit(sealedEvent(i + 1))));
          await log.close();
          expect(receipts.map((r) => r.ts)).toEqual(times.map((ms) => new Date(ms).toISOString()));
          const onDisk = readLines(segmentPath(dir)).map((l) => JSON.parse(l).ts);
          expect(onDisk).toEqual(receipts.map((r) => r.ts));
        },
      ),
      { numRuns: 40 },
    );
  });
  it("refuses a clock reading no record could hold: emit rejects (CONFIG_ERROR, option 'clock') and writes nothing", async () => {
    const dir = tmpLogDir();
    let reading: unknown = new Date('2026-03-01T12:00:00.000Z');
    const log = await openLogger(dir, { clock: () => reading as Date });
    await log.emit(sealedEvent(1));
    for (const [bad, said] of [
      [new Date(Number.NaN), /returned an invalid Date/],
      [new Date('+010000-01-01T00:00:00.000Z'), /returned the Date \+010000-01-01/],
      [new Date(-62_167_219_200_001), /year 0000 to 9999/],
      [1_700_000_000_000, /returned a number/],
      [null, /returned null/],
    ] as const) {
      reading = bad;
      await expect(log.emit(sealedEvent(2))).rejects.toMatchObject({
        code: 'CONFIG_ERROR',
        option: 'clock',
        message: expect.stringMatching(said),
      });
    }
    reading = new Date('9999-12-31T23:59:59.999Z'); // the last recordable millisecond
    expect((await log.emit(sealedEvent(3))).seq).toBe(2);
    await log.close();
    expect(readLines(segmentPath(dir))).toHaveLength(2);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 2 });
    await expect(
      openLogger(tmpLogDir(), { clock: 'now' as unknown as () => Date }),
    ).rejects.toMatchObject({
      code: 'CONFIG_ERROR',
      option: 'clock',
    });
  });
});

describe('checkpoints and proofs', () => {
  it('checkpoints every N events and on close, signed for public-key holders', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir, { checkpointEvery: 4 });
    for (let i = 1; i <= 10; i++) await log.emit(sealedEvent(i));
    expect(log.latestCheckpoint()?.treeSize).toBe(8);
    await log.close();
    const cps = readLines(path.join(dir, 'checkpoints.ndjson'));
    expect(cps.map((l) => JSON.parse(l).treeSize)).toEqual([4, 8, 10]);
    for (const cp of cps)
      expect(verifyCheckpoint(cp, checkpointKeys.publicKey)).toEqual({ ok: true });
    const forged = cps[2]!.replace('"treeSize":10', '"treeSize":11');
    expect(verifyCheckpoint(forged, checkpointKeys.publicKey).ok).toBe(false);
  });

  it('inclusion and consistency proofs verify with only the public key (PEM)', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir, { checkpointEvery: 1000 });
    for (let i = 1; i <= 7; i++) await log.emit(sealedEvent(i));
    const older = log.checkpoint();
    for (let i = 8; i <= 13; i++) await log.emit(sealedEvent(i));
    const newer = log.checkpoint();
    const pem = checkpointKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const lines = readLines(segmentPath(dir));
    for (const seq of [1, 5, 13]) {
      const proof = log.inclusionProof(seq);
      expect(verifyRecordInclusion(lines[seq - 1]!, proof, newer, pem)).toEqual({ ok: true });
      expect(verifyRecordInclusion(lines[seq]! ?? lines[0]!, proof, newer, pem).ok).toBe(false);
    }
    const consistency = log.consistencyProof(older.treeSize, newer.treeSize);
    expect(verifyCheckpointConsistency(older, newer, consistency, pem)).toEqual({ ok: true });
    expect(
      verifyCheckpointConsistency(
        older,
        newer,
        { ...consistency, path: consistency.path.slice(1) },
        pem,
      ).ok,
    ).toBe(false);
    // A malformed proof is a failed check, never an exception or a lenient hex decode.
    const inclusion = log.inclusionProof(5);
    const malformed: unknown[] = [
      null,
      { ...inclusion, path: 'nope' },
      { ...inclusion, path: inclusion.path.map((h) => h.toUpperCase()) },
      { ...inclusion, path: [`${inclusion.path[0]}zz`, ...inclusion.path.slice(1)] },
    ];
    for (const proof of malformed) {
      const check = verifyRecordInclusion(lines[4]!, proof as typeof inclusion, newer, pem);
      expect(check, JSON.stringify(proof)).toMatchObject({ ok: false, reason: /proof/ });
      const cons = verifyCheckpointConsistency(older, newer, proof as typeof consistency, pem);
      expect(cons.ok).toBe(false);
    }
    expect(() => log.inclusionProof(14)).toThrow(/seq/);
    await log.close();
  });

  it('accepts a 32-byte Ed25519 seed as signing key and raw public key bytes', async () => {
    const dir = tmpLogDir();
    const seed = new Uint8Array(32).fill(7);
    const log = await openLogger(dir, { signingKey: seed });
    await log.emit(sealedEvent(1));
    const cp = log.checkpoint();
    await log.close();
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const priv = createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
      format: 'der',
      type: 'pkcs8',
    });
    const raw = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32);
    expect(verifyCheckpoint(cp, new Uint8Array(raw))).toEqual({ ok: true });
    await expect(openLogger(tmpLogDir(), { signingKey: new Uint8Array(31) })).rejects.toMatchObject(
      { option: 'signingKey' },
    );
  });
});
