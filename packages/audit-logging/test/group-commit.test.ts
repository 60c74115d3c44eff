import fs from 'node:fs';
import {
  type AuditError,
  type AuditLogger,
  type AuditLoggerOptions,
  type AuditReceipt,
  AuditWriteError,
  verifyAuditLog,
} from '@vramseal/audit-logging';
import { hmacSha256Hex } from '@vramseal/seal-crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  auditKey,
  cleanupTmp,
  openLogger,
  readLines,
  sampleEvent,
  sealedEvent,
  segmentPath,
  tmpLogDir,
} from './helpers.js';

// Records are sealed by the real HMAC; the mock only counts the calls (how often a batch is sealed).
vi.mock('@vramseal/seal-crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@vramseal/seal-crypto')>();
  return { ...actual, hmacSha256Hex: vi.fn(actual.hmacSha256Hex) };
});

function diskError(code: string, call: string): Error {
  return Object.assign(new Error(`${code}: simulated, ${call}`), { code });
}

// The disk is simulated only in its timing and failures: each fdatasync the logger starts on the
// thread pool is held here until the test releases it (really run) or fails it (EIO).
type SyncCallback = (error: NodeJS.ErrnoException | null) => void;
const realFdatasync = fs.fdatasync;
let held: { fd: number; callback: SyncCallback }[] = [];

function holdSyncs(): void {
  held = [];
  vi.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, callback: SyncCallback) => {
    held.push({ fd, callback });
  }) as typeof fs.fdatasync);
}

/** Waits until the logger has started a sync (held, not released). */
async function nextSyncStarted(): Promise<void> {
  await vi.waitFor(() => expect(held.length).toBeGreaterThan(0));
}

async function nextSync(): Promise<{ fd: number; callback: SyncCallback }> {
  await vi.waitFor(() => expect(held.length).toBeGreaterThan(0));
  return held.shift()!;
}

/** Runs the held fdatasync for real and lets the logger see its result. */
async function releaseSync(): Promise<void> {
  const { fd, callback } = await nextSync();
  realFdatasync(fd, callback);
}

async function failSync(): Promise<void> {
  const { callback } = await nextSync();
  callback(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5 }));
}

/** Whether `promise` has settled by the next turn of the event loop (without waiting for it). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

const seqs = (dir: string, index = 1) =>
  readLines(segmentPath(dir, index)).map((l) => (JSON.parse(l) as { seq: number }).seq);

/** A logger whose syncs the test holds and releases, in `durability` (batched by default). */
async function openHeld(
  options: Partial<AuditLoggerOptions> = {},
): Promise<{ dir: string; log: AuditLogger }> {
  holdSyncs();
  const dir = tmpLogDir();
  const log = await openLogger(dir, {
    durability: 'batched',
    batch: { maxEvents: 2, maxDelayMs: 60_000 },
    ...options,
  });
  return { dir, log };
}

/** Gives the disk back, closes the log, and checks that it verifies with `events` records. */
async function closeAndVerify(log: AuditLogger, dir: string, events: number): Promise<void> {
  vi.restoreAllMocks();
  await log.close();
  expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events });
}

afterEach(() => {
  vi.restoreAllMocks();
  cleanupTmp();
});

describe('group commit: the fsync runs off the event loop', () => {
  it("the tests' settled() tells a settled promise from a pending one", async () => {
    expect(await settled(Promise.resolve(1))).toBe(true);
    expect(await settled(Promise.reject(new Error('x')))).toBe(true);
    expect(await settled(new Promise(() => {}))).toBe(false);
  });

  it('batched commits never block the loop on fdatasyncSync; immediate does, by design', async () => {
    const syncOnLoop = vi.spyOn(fs, 'fdatasyncSync');
    const batched = await openLogger(tmpLogDir(), {
      durability: 'batched',
      batch: { maxEvents: 4, maxDelayMs: 5 },
      checkpointEvery: 100_000,
    });
    await Promise.all(Array.from({ length: 40 }, (_, i) => batched.emit(sealedEvent(i + 1))));
    expect(syncOnLoop).not.toHaveBeenCalled();
    await batched.close();

    const immediate = await openLogger(tmpLogDir(), { checkpointEvery: 100_000 });
    syncOnLoop.mockClear();
    await immediate.emit(sealedEvent(1));
    expect(syncOnLoop).toHaveBeenCalledTimes(1);
    await immediate.close();
  });

  it('a batch written during a sync is acknowledged only by a later sync', async () => {
    const { dir, log } = await openHeld();
    const first = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    const second = [log.emit(sealedEvent(3)), log.emit(sealedEvent(4))];
    // Both batches are written at once (the second while the first one's sync is in flight)...
    expect(seqs(dir)).toEqual([1, 2, 3, 4]);
    expect(await settled(first[0]!)).toBe(false);
    expect(log.size).toBe(0);

    await releaseSync(); // ...the first sync started before the second batch was written
    const firstReceipts = await Promise.all(first);
    expect(firstReceipts.map((r) => r.seq)).toEqual([1, 2]);
    expect(log.size).toBe(2);
    expect(await settled(second[0]!)).toBe(false);

    await releaseSync(); // a second sync covers the second batch
    expect((await Promise.all(second)).map((r) => r.seq)).toEqual([3, 4]);
    expect(log.size).toBe(4);
    const closing = log.close();
    await closing;
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 4 });
  });

  it('a failed sync rejects every unacknowledged batch, cuts them off the file, and the chain goes on', async () => {
    const reported: AuditError[] = [];
    const { dir, log } = await openHeld({
      onError: (error) => {
        reported.push(error);
      },
    });
    const kept = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    await releaseSync();
    await Promise.all(kept);

    const lostA = [log.emit(sealedEvent(3)), log.emit(sealedEvent(4))];
    const lostB = [log.emit(sealedEvent(5)), log.emit(sealedEvent(6))]; // written during that sync
    expect(seqs(dir)).toEqual([1, 2, 3, 4, 5, 6]);
    await failSync();
    for (const p of [...lostA, ...lostB]) {
      await expect(p).rejects.toMatchObject({
        name: 'AuditWriteError',
        code: 'AUDIT_WRITE_FAILED',
      });
    }
    const failure = await lostA[0]!.catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AuditWriteError);
    expect(failure).toMatchObject({ osCode: 'EIO', retriable: false });
    expect((failure as Error).message).toMatch(/EIO: i\/o error, fdatasync.*was not recorded/);
    expect(reported).toEqual([failure]); // reported once, not once per batch
    expect(seqs(dir)).toEqual([1, 2]);
    expect(log.size).toBe(2);

    // The log is still usable: the next events continue the chain from seq 2.
    const next = [log.emit(sealedEvent(7)), log.emit(sealedEvent(8))];
    await releaseSync();
    expect((await Promise.all(next)).map((r: AuditReceipt) => r.seq)).toEqual([3, 4]);
    await closeAndVerify(log, dir, 4);
  });

  it('flush() waits for the sync in flight and rejects with its failure', async () => {
    const { log } = await openHeld({ batch: { maxEvents: 100, maxDelayMs: 60_000 } });
    const event = log.emit(sealedEvent(1));
    const flushed = log.flush();
    expect(await settled(flushed)).toBe(false);
    await failSync();
    await expect(flushed).rejects.toBeInstanceOf(AuditWriteError);
    await expect(event).rejects.toBeInstanceOf(AuditWriteError);
    vi.restoreAllMocks();
    await log.close();
  });

  it('hybrid: a critical event is written at once and is durable when its emit resolves', async () => {
    const { dir, log } = await openHeld({
      durability: 'hybrid',
      batch: { maxEvents: 1000, maxDelayMs: 60_000 },
    });
    const routine = log.emit(sealedEvent(1));
    const critical = log.emit(sampleEvent('seal_verification_failed'));
    expect(seqs(dir)).toEqual([1, 2]);
    expect(await settled(critical)).toBe(false);
    await releaseSync();
    expect((await critical).seq).toBe(2);
    expect((await routine).seq).toBe(1);
    vi.restoreAllMocks();
    await log.close();
  });

  it('rotation waits until the segment is durable: the batch that needs it stays queued', async () => {
    const { dir, log } = await openHeld({ rotation: { maxBytes: 1000 }, checkpointEvery: 100_000 });
    const first = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    const second = [log.emit(sealedEvent(3)), log.emit(sealedEvent(4))]; // would pass maxBytes
    expect(seqs(dir)).toEqual([1, 2]);
    expect(fs.existsSync(segmentPath(dir, 2))).toBe(false);
    await releaseSync();
    await Promise.all(first);
    // Now the first segment is durable: it is closed and the waiting batch starts the next one.
    await vi.waitFor(() => expect(fs.existsSync(segmentPath(dir, 2))).toBe(true));
    expect(seqs(dir, 2)).toEqual([3, 4]);
    await releaseSync();
    expect((await Promise.all(second)).map((r) => r.segment)).toEqual([
      'segment-000002.ndjson',
      'segment-000002.ndjson',
    ]);
    await closeAndVerify(log, dir, 4);
  });

  it('close() waits for the sync in flight, then checkpoints what is durable; a second close waits too', async () => {
    const { dir, log } = await openHeld({ batch: { maxEvents: 100, maxDelayMs: 60_000 } });
    const event = log.emit(sealedEvent(1));
    const closing = log.close();
    const again = log.close();
    await expect(log.emit(sealedEvent(2))).rejects.toMatchObject({ name: 'AuditClosedError' });
    expect(await settled(closing)).toBe(false);
    await releaseSync();
    await Promise.all([closing, again]);
    expect((await event).seq).toBe(1);
    expect(log.latestCheckpoint()?.treeSize).toBe(1);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 1 });
  });

  it('checkpoint() covers the durable records, not those still being synced', async () => {
    const { dir, log } = await openHeld();
    const first = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    await releaseSync();
    await Promise.all(first);
    const second = [log.emit(sealedEvent(3)), log.emit(sealedEvent(4))];
    expect(log.checkpoint().treeSize).toBe(2);
    await releaseSync();
    await Promise.all(second);
    expect(log.checkpoint().treeSize).toBe(4);
    await closeAndVerify(log, dir, 4);
  });

  it('a timer that fires during a sync writes its batch at once; the next sync acknowledges it', async () => {
    const { dir, log } = await openHeld({ batch: { maxEvents: 100, maxDelayMs: 5 } });
    const a = log.emit(sealedEvent(1));
    await nextSyncStarted();
    const b = log.emit(sealedEvent(2));
    await vi.waitFor(() => expect(seqs(dir)).toEqual([1, 2]));
    await releaseSync();
    expect((await a).seq).toBe(1);
    expect(await settled(b)).toBe(false);
    await releaseSync();
    expect((await b).seq).toBe(2);
    vi.restoreAllMocks();
    await log.close();
  });

  it('a write that fails while a sync is in flight is cut back alone; the batch being synced stays', async () => {
    const { dir, log } = await openHeld();
    const a = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    const recordsWithA = readLines(segmentPath(dir));
    vi.spyOn(fs, 'writeSync').mockImplementationOnce(() => {
      throw diskError('ENOSPC', 'write');
    });
    const b = [log.emit(sealedEvent(3)), log.emit(sealedEvent(4))];
    for (const p of b) {
      await expect(p).rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED', osCode: 'ENOSPC' });
    }
    expect(readLines(segmentPath(dir))).toEqual(recordsWithA);
    await releaseSync();
    expect((await Promise.all(a)).map((r) => r.seq)).toEqual([1, 2]);
    const c = [log.emit(sealedEvent(5)), log.emit(sealedEvent(6))];
    await releaseSync();
    expect((await Promise.all(c)).map((r) => r.seq)).toEqual([3, 4]);
    await closeAndVerify(log, dir, 4);
  });

  it('flush() does not hang when a sync fails while more events wait: it rejects once they are settled', async () => {
    const { dir, log } = await openHeld({ batch: { maxEvents: 100, maxDelayMs: 60_000 } });
    const a = log.emit(sealedEvent(1));
    const flushed = log.flush();
    const b = log.emit(sealedEvent(2)); // queued behind the sync in flight
    const aFails = expect(a).rejects.toBeInstanceOf(AuditWriteError);
    await failSync();
    await releaseSync(); // the flush goes on to write and sync the event that waited
    await expect(flushed).rejects.toBeInstanceOf(AuditWriteError);
    await aFails;
    expect((await b).seq).toBe(1);
    await closeAndVerify(log, dir, 1);
  });

  it('a failed sync that cannot be cut back leaves the log broken: nothing more is written until a reopen', async () => {
    const { dir, log } = await openHeld();
    const a = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    const waiting = log.emit(sealedEvent(3)); // queued; its timer is far away
    vi.spyOn(fs, 'ftruncateSync').mockImplementationOnce(() => {
      throw diskError('EIO', 'ftruncate');
    });
    await failSync();
    for (const p of a) {
      await expect(p).rejects.toMatchObject({ message: expect.stringMatching(/Reopen the log/) });
    }
    await expect(log.emit(sealedEvent(4))).rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED' });
    await log.close();
    await expect(waiting).rejects.toMatchObject({
      message: expect.stringMatching(/Reopen the log/),
    });
    // The lines that could not be cut stay (never acknowledged, chained like any other); nothing
    // was appended after them with a chain that had dropped them.
    expect(seqs(dir)).toEqual([1, 2]);
    vi.restoreAllMocks();
    const reopened = await openLogger(dir);
    expect((await reopened.emit(sealedEvent(5))).seq).toBe(3);
    await reopened.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 3 });
  });

  it('events emitted while a rotation waits for the sync join the waiting batch without being sealed again', async () => {
    const { dir, log } = await openHeld({ rotation: { maxBytes: 1000 }, checkpointEvery: 100_000 });
    const sealing = vi.mocked(hmacSha256Hex);
    const events = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    events.push(log.emit(sealedEvent(3)), log.emit(sealedEvent(4))); // needs a new segment: waits
    sealing.mockClear();
    for (let i = 5; i <= 54; i++) events.push(log.emit(sealedEvent(i)));
    expect(sealing).not.toHaveBeenCalled();
    await releaseSync();
    await vi.waitFor(() => expect(fs.existsSync(segmentPath(dir, 2))).toBe(true));
    expect(sealing).toHaveBeenCalledTimes(52); // each waiting event sealed once, into segment 2
    await releaseSync();
    expect((await Promise.all(events)).map((r) => r.seq)).toEqual(
      Array.from({ length: 54 }, (_, i) => i + 1),
    );
    await closeAndVerify(log, dir, 54);
  });

  it('a sync that fails while a rotation waits: the waiting batch is written in its place', async () => {
    const { dir, log } = await openHeld({ rotation: { maxBytes: 1000 } });
    const lost = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    const waiting = [log.emit(sealedEvent(3)), log.emit(sealedEvent(4))];
    await failSync();
    for (const p of lost) await expect(p).rejects.toBeInstanceOf(AuditWriteError);
    // The segment is empty again, so no rotation is due: the waiting batch takes seq 1 and 2.
    await releaseSync();
    const receipts = await Promise.all(waiting);
    expect(receipts.map((r) => [r.seq, r.segment])).toEqual([
      [1, 'segment-000001.ndjson'],
      [2, 'segment-000001.ndjson'],
    ]);
    await closeAndVerify(log, dir, 2);
  });

  it('a periodic checkpoint taken while a batch is unsynced signs only the durable records', async () => {
    const { dir, log } = await openHeld({ checkpointEvery: 2 });
    const events = [1, 2, 3, 4].map((i) => log.emit(sealedEvent(i)));
    await releaseSync(); // acknowledges 1-2 while 3-4 wait for the next sync
    await Promise.all(events.slice(0, 2));
    expect(log.latestCheckpoint()?.treeSize).toBe(2);
    await releaseSync();
    await Promise.all(events);
    expect(log.latestCheckpoint()?.treeSize).toBe(4);
    vi.restoreAllMocks();
    await log.close();
    const sizes = readLines(`${dir}/checkpoints.ndjson`).map(
      (l) => (JSON.parse(l) as { treeSize: number }).treeSize,
    );
    expect(sizes).toEqual([2, 4]);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 4 });
  });

  it('an onError hook that emits while close() drains gets AuditClosedError, and close() finishes', async () => {
    const dir = tmpLogDir();
    const fromHook: Promise<unknown>[] = [];
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 100, maxDelayMs: 60_000 },
      // The one write(2) that fails must be the batch's own, not the zeros written ahead of it.
      preallocate: 0,
      onError: () => {
        fromHook.push(log.emit(sealedEvent(99)));
      },
    });
    const queued = log.emit(sealedEvent(1));
    vi.spyOn(fs, 'writeSync').mockImplementationOnce(() => {
      throw diskError('ENOSPC', 'write');
    });
    await log.close();
    await expect(queued).rejects.toMatchObject({ osCode: 'ENOSPC' });
    expect(fromHook).toHaveLength(1);
    await expect(fromHook[0]).rejects.toMatchObject({ name: 'AuditClosedError' });
  });
});
