import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { AuditConfigError, type AuditRecord, verifyAuditLog } from '@vramseal/audit-logging';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  auditKey,
  cleanupTmp,
  openLogger,
  readLines,
  recordsEnd,
  sealedEvent,
  segmentPath,
  tmpLogDir,
} from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  cleanupTmp();
});

const MiB = 1 << 20;

/** The directory as a crash (SIGKILL, the page cache intact) would leave it: a copy taken live. */
function crashCopy(dir: string): string {
  const copy = `${dir}-crashed`;
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}

/** Writes `bytes` into a segment at `offset` (over its zeros), as a write the disk kept part of. */
function writeAt(file: string, bytes: Buffer, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

const records = (dir: string) =>
  readLines(segmentPath(dir)).map((line) => JSON.parse(line) as AuditRecord);

/**
 * The verifier reports the crashed log torn after `good` records; open then cuts exactly `cut`
 * (the bytes from the torn line to the last non-zero one) and records it, and the log verifies.
 */
async function expectRepaired(crashed: string, good: number, cut: Buffer, detail?: string) {
  expect(await verifyAuditLog(crashed, { key: auditKey })).toMatchObject({
    ok: false,
    reason: 'torn_tail',
    events: good,
    ...(detail === undefined ? {} : { detail: expect.stringContaining(detail) }),
  });
  const reopened = await openLogger(crashed);
  await reopened.close();
  expect(records(crashed)[good]!.event).toEqual({
    type: 'audit_log_repaired',
    file: 'segment-000001.ndjson',
    droppedBytes: cut.length,
    droppedSha256: createHash('sha256').update(cut).digest('hex'),
    lastGoodSeq: good,
  });
  expect(await verifyAuditLog(crashed, { key: auditKey })).toMatchObject({
    ok: true,
    events: good + 1,
  });
}

async function liveLog(events: number, options = {}) {
  const dir = tmpLogDir();
  const log = await openLogger(dir, options);
  for (let i = 1; i <= events; i++) await log.emit(sealedEvent(i));
  return { dir, log };
}

describe('preallocated segments', () => {
  it('a segment being written ends in zeros written 1 MiB ahead, and the live log verifies', async () => {
    const { dir, log } = await liveLog(3);
    const data = fs.readFileSync(segmentPath(dir));
    const end = recordsEnd(data);
    expect(data.subarray(0, end).toString('utf8').split('\n')).toHaveLength(4);
    expect(data[end - 1]).toBe(10);
    // The first record's write made room for itself and 1 MiB more; the next two used some of it.
    expect(data.length).toBe(Buffer.byteLength(`${readLines(segmentPath(dir))[0]}\n`) + MiB);
    expect(data.subarray(end).every((byte) => byte === 0)).toBe(true);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 3 });
    await log.close();
  });

  it('close cuts the zeros off: a closed segment holds exactly its records', async () => {
    const { dir, log } = await liveLog(3);
    await log.close();
    const data = fs.readFileSync(segmentPath(dir));
    expect(data.includes(0)).toBe(false);
    expect(data.toString('utf8')).toBe(`${readLines(segmentPath(dir)).join('\n')}\n`);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 3 });
  });

  it('rotation closes a segment without its zeros, and rotation.maxBytes caps how far ahead they go', async () => {
    const maxBytes = 2048;
    const { dir, log } = await liveLog(12, { rotation: { maxBytes } });
    const segments = fs.readdirSync(dir).filter((name) => name.startsWith('segment-'));
    expect(segments.length).toBeGreaterThan(2);
    for (const [i] of segments.slice(0, -1).entries()) {
      const closed = fs.readFileSync(segmentPath(dir, i + 1));
      expect(closed.includes(0), `segment ${i + 1}`).toBe(false);
      expect(closed.length).toBeLessThanOrEqual(maxBytes);
    }
    const active = fs.readFileSync(segmentPath(dir, segments.length));
    expect(active.includes(0)).toBe(true);
    expect(active.length).toBeLessThanOrEqual(recordsEnd(active) + maxBytes);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 12 });
    await log.close();
  });

  it('reopened after a crash, the writer goes on where the records end: the zeros are no repair', async () => {
    // Past the read stream's 64 KiB chunks, so lines and the zeros cross chunk boundaries.
    const { dir, log } = await liveLog(0, { durability: 'batched' });
    await Promise.all(Array.from({ length: 200 }, (_, i) => log.emit(sealedEvent(i + 1))));
    const crashed = crashCopy(dir);
    await log.close();
    expect(recordsEnd(fs.readFileSync(segmentPath(crashed)))).toBeGreaterThan(64 * 1024);

    const reopened = await openLogger(crashed);
    expect((await reopened.emit(sealedEvent(201))).seq).toBe(201);
    await reopened.close();
    const all = records(crashed);
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
    expect(all.some((r) => r.event.type === 'audit_log_repaired')).toBe(false);
    expect(fs.readFileSync(segmentPath(crashed)).includes(0)).toBe(false);
    expect(await verifyAuditLog(crashed, { key: auditKey })).toMatchObject({
      ok: true,
      events: 201,
    });
  });

  it('a record torn inside the zeros is reported, then cut on open, counting its own bytes only', async () => {
    const { dir, log } = await liveLog(3);
    const crashed = crashCopy(dir);
    await log.close();
    const file = segmentPath(crashed);
    // The next record's first sectors reached the disk, the rest did not.
    const end = recordsEnd(fs.readFileSync(file));
    const partial = Buffer.from(
      '{"auditId":"0f0f0f0f-0000-4000-8000-000000000000","event":{"type":"vram_sealed",'.padEnd(
        (Math.floor(end / 512) + 1) * 512 - end,
        'x',
      ),
    );
    writeAt(file, partial, end);
    await expectRepaired(crashed, 3, partial);
    const reopened = await openLogger(crashed);
    expect((await reopened.emit(sealedEvent(4))).seq).toBe(5);
    await reopened.close();
    expect(await verifyAuditLog(crashed, { key: auditKey })).toMatchObject({ ok: true, events: 5 });
  });

  it('bytes after a run of zeros (a write the disk kept only the later pages of) are torn up to the last non-zero byte', async () => {
    const { dir, log } = await liveLog(3);
    const crashed = crashCopy(dir);
    await log.close();
    const file = segmentPath(crashed);
    const end = recordsEnd(fs.readFileSync(file));
    // Three read-stream chunks further on, with zeros on both sides.
    const gap = 200_000;
    const fragment = Buffer.from('0000-4000-8000-000000000000","seq":4}\n');
    writeAt(file, fragment, end + gap);
    expect(fs.statSync(file).size).toBeGreaterThan(end + gap + fragment.length);
    await expectRepaired(crashed, 3, Buffer.concat([Buffer.alloc(gap), fragment]));
  });

  it('a NUL anywhere inside a record line (a page written back mid-copy, or an edit) is a torn tail, reported with where it is', async () => {
    const { dir, log } = await liveLog(3);
    const crashed = crashCopy(dir);
    await log.close();
    const nulInSecondRecord = (file: string) => {
      const secondLine = fs.readFileSync(file).indexOf(10) + 1;
      writeAt(file, Buffer.from([0]), secondLine + 21);
      return secondLine;
    };
    const secondLine = nulInSecondRecord(segmentPath(crashed));
    const data = fs.readFileSync(segmentPath(crashed));
    let last = data.length - 1;
    while (data[last] === 0) last -= 1;
    await expectRepaired(
      crashed,
      1,
      data.subarray(secondLine, last + 1),
      `ends in a partial line cut short by a NUL byte at byte ${secondLine + 21}`,
    );

    // The closed log has a checkpoint over all three records: open refuses to cut any of them.
    nulInSecondRecord(segmentPath(dir));
    await expect(openLogger(dir)).rejects.toMatchObject({
      name: 'AuditIntegrityError',
      message: expect.stringContaining('were cut off'),
    });
  });

  it('a closed segment that ends in zeros fails verification, and open refuses the log', async () => {
    const { dir, log } = await liveLog(8, { rotation: { maxBytes: 2048 } });
    await log.close();
    fs.appendFileSync(segmentPath(dir, 1), Buffer.alloc(100));
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({
      ok: false,
      reason: 'malformed_record',
      file: 'segment-000001.ndjson',
      detail: expect.stringContaining('holds 100 zero bytes after its last record'),
    });
    await expect(openLogger(dir)).rejects.toMatchObject({ name: 'AuditIntegrityError' });
  });

  it('preallocate: 0 writes plain appends: the live segment holds its records and nothing else', async () => {
    const { dir, log } = await liveLog(3, { preallocate: 0 });
    const data = fs.readFileSync(segmentPath(dir));
    expect(data.includes(0)).toBe(false);
    expect(data.toString('utf8').split('\n')).toHaveLength(4);
    await log.close();
  });

  it('preallocate must be a whole number of bytes from 0 to 64 MiB', async () => {
    for (const preallocate of [-1, 1.5, Number.NaN, '4096', 64 * MiB + 1]) {
      const opened = openLogger(tmpLogDir(), { preallocate: preallocate as number });
      await expect(opened).rejects.toBeInstanceOf(AuditConfigError);
      await expect(opened).rejects.toMatchObject({
        option: 'preallocate',
        message: expect.stringContaining(
          'preallocate must be a whole number of bytes from 0 (plain appends) to 67108864 (64 MiB)',
        ),
      });
    }
    await (await openLogger(tmpLogDir(), { preallocate: 64 * MiB })).close();
  });

  it('zeros the disk refuses do not fail the event: its records are written past the end instead', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    const realWrite = fs.writeSync;
    const refused: Buffer[] = [];
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: Buffer, ...rest: never[]) => {
      if (Buffer.isBuffer(data) && data.length >= 4096 && data.every((byte) => byte === 0)) {
        refused.push(data);
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
        });
      }
      return realWrite(fd, data, ...rest);
    }) as typeof fs.writeSync);
    const receipt = await log.emit(sealedEvent(1));
    vi.restoreAllMocks();
    expect(refused.length).toBeGreaterThan(0);
    expect(receipt.seq).toBe(1);
    expect(fs.readFileSync(segmentPath(dir)).includes(0)).toBe(false);
    await log.emit(sealedEvent(2));
    await log.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 2 });
  });

  it('zeros the disk takes only part of are still cut off when the log closes', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    const realWrite = fs.writeSync;
    let cutShort = 0;
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: Buffer, ...rest: never[]) => {
      if (Buffer.isBuffer(data) && data.length >= 4096 && data.every((byte) => byte === 0)) {
        cutShort += 1;
        realWrite(fd, data.subarray(0, 300_000), 0, 300_000, rest[2] as unknown as number);
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
        });
      }
      return realWrite(fd, data, ...rest);
    }) as typeof fs.writeSync);
    await log.emit(sealedEvent(1));
    vi.restoreAllMocks();
    expect(cutShort).toBe(1);
    expect(fs.statSync(segmentPath(dir)).size).toBe(300_000);
    await log.close();
    const data = fs.readFileSync(segmentPath(dir));
    expect(data.includes(0)).toBe(false);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 1 });
  });

  it('a rotation that cannot cut the zeros off fails that emit with what to do; the next one rotates', async () => {
    const { dir, log } = await liveLog(3, { rotation: { maxBytes: 1500 } });
    expect(fs.existsSync(segmentPath(dir, 2))).toBe(false);
    vi.spyOn(fs, 'ftruncateSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
    });
    await expect(log.emit(sealedEvent(4))).rejects.toMatchObject({
      code: 'AUDIT_WRITE_FAILED',
      message: expect.stringMatching(/EIO.*the batch was not recorded\. Free space or fix/),
    });
    vi.restoreAllMocks();
    expect((await log.emit(sealedEvent(5))).segment).toBe('segment-000002.ndjson');
    expect(fs.readFileSync(segmentPath(dir, 1)).includes(0)).toBe(false);
    await log.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 4 });
  });

  it('a close that cannot cut the zeros off still closes; the log verifies and the next open writes over them', async () => {
    const { dir, log } = await liveLog(2);
    const truncate = vi.spyOn(fs, 'ftruncateSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
    });
    await log.close();
    vi.restoreAllMocks();
    expect(truncate).toHaveBeenCalled();
    expect(fs.readFileSync(segmentPath(dir)).includes(0)).toBe(true);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 2 });
    const reopened = await openLogger(dir);
    expect((await reopened.emit(sealedEvent(3))).seq).toBe(3);
    await reopened.close();
    expect(fs.readFileSync(segmentPath(dir)).includes(0)).toBe(false);
    expect(records(dir).map((r) => r.seq)).toEqual([1, 2, 3]);
  });
});
