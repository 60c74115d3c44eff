import fs from 'node:fs';
import {
  type AuditError,
  type AuditReceipt,
  AuditWriteError,
  verifyAuditLog,
} from '@vramseal/audit-logging';
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

/** Whether `promise` has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const result = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    Promise.resolve(marker),
  ]);
  return result !== marker;
}

const seqs = (dir: string, index = 1) =>
  readLines(segmentPath(dir, index)).map((l) => (JSON.parse(l) as { seq: number }).seq);

afterEach(() => {
  vi.restoreAllMocks();
  cleanupTmp();
});

describe('group commit: the fsync runs off the event loop', () => {
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
    holdSyncs();
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 2, maxDelayMs: 60_000 },
    });
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
    holdSyncs();
    const dir = tmpLogDir();
    const reported: AuditError[] = [];
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 2, maxDelayMs: 60_000 },
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
    vi.restoreAllMocks();
    await log.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 4 });
  });

  it('flush() waits for the sync in flight and rejects with its failure', async () => {
    holdSyncs();
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 100, maxDelayMs: 60_000 },
    });
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
    holdSyncs();
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
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
    holdSyncs();
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 2, maxDelayMs: 60_000 },
      rotation: { maxBytes: 1000 },
      checkpointEvery: 100_000,
    });
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
    vi.restoreAllMocks();
    await log.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 4 });
  });

  it('close() waits for the sync in flight, then checkpoints what is durable; a second close waits too', async () => {
    holdSyncs();
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 100, maxDelayMs: 60_000 },
    });
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
    holdSyncs();
    const dir = tmpLogDir();
    const log = await openLogger(dir, {
      durability: 'batched',
      batch: { maxEvents: 2, maxDelayMs: 60_000 },
    });
    const first = [log.emit(sealedEvent(1)), log.emit(sealedEvent(2))];
    await releaseSync();
    await Promise.all(first);
    const second = [log.emit(sealedEvent(3)), log.emit(sealedEvent(4))];
    expect(log.checkpoint().treeSize).toBe(2);
    await releaseSync();
    await Promise.all(second);
    expect(log.checkpoint().treeSize).toBe(4);
    vi.restoreAllMocks();
    await log.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 4 });
  });
});
