import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AuditRecord, verifyAuditLog } from '@vramseal/audit-logging';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auditKey,
  cleanupTmp,
  openLogger,
  readLines,
  recordsEnd,
  sealedEvent,
  segmentPath,
  TOKEN,
  tmpLogDir,
} from './helpers.js';

afterEach(cleanupTmp);

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/emit-child.ts', import.meta.url));

/** Runs the emitting child until it has acknowledged `killAfter` events, then SIGKILLs it. */
function runAndKill(dir: string, run: number, killAfter: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--conditions=@vramseal/source', '--import', 'tsx', child, dir, String(run), TOKEN],
      {
        cwd: packageRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const acked = new Map<string, number>();
    let buffered = '';
    let stderr = '';
    proc.stderr.on('data', (d) => {
      stderr += d;
    });
    proc.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, seq, shard] = line.split(' ');
        if (kind === 'ack') acked.set(shard!, Number(seq));
      }
      if (acked.size >= killAfter && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
    });
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

/** The records end mid-line, or something other than zeros follows them: a write cut short. */
function endsTorn(file: string): boolean {
  const data = fs.readFileSync(file);
  const end = recordsEnd(data);
  return (end > 0 && data[end - 1] !== 10) || data.subarray(end).some((byte) => byte !== 0);
}

/**
 * The first sectors of a record where the writer's next record goes (over its zeros, if any): what
 * a power loss leaves of a write whose later sectors never reached the disk.
 */
function tearWrite(file: string, start: string): void {
  const end = recordsEnd(fs.readFileSync(file));
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, start.padEnd((Math.floor(end / 512) + 1) * 512 - end, 'x'), end);
  } finally {
    fs.closeSync(fd);
  }
}

function newestSegment(dir: string): string {
  const names = fs
    .readdirSync(dir)
    .filter((n) => n.startsWith('segment-'))
    .sort();
  return path.join(dir, names.at(-1)!);
}

const records = (dir: string) =>
  readLines(segmentPath(dir)).map((l) => JSON.parse(l) as AuditRecord);

describe('crash safety', () => {
  it('SIGKILL at random points in batched mode loses no acknowledged event', async () => {
    const dir = tmpLogDir();
    const allAcked = new Map<string, number>();
    let repairsExpected = 0;
    // Random kill points, printed with every failure so a failing run can be replayed.
    const killPoints = Array.from({ length: 4 }, () => 20 + Math.floor(Math.random() * 400));
    const replay = `kill points ${killPoints.join(', ')}`;
    for (const [run, killAfter] of killPoints.entries()) {
      for (const [shard, seq] of await runAndKill(dir, run, killAfter)) allAcked.set(shard, seq);
      // A SIGKILL rarely splits a write(2) (only a large one, between pages), but power loss can
      // leave part of a multi-page batch: simulate that torn write after one of the kills.
      if (run === 1) tearWrite(newestSegment(dir), '{"auditId":"5b1c');
      // Every torn file is repaired and recorded: the segment, and the checkpoint file if the kill
      // landed inside a checkpoint write.
      for (const file of [newestSegment(dir), path.join(dir, 'checkpoints.ndjson')]) {
        if (fs.existsSync(file) && endsTorn(file)) repairsExpected += 1;
      }
      // Reopen in this process: repairs a torn tail (and records it), resumes the chain.
      const log = await openLogger(dir, { signingKey: undefined });
      await log.close();
    }
    const onDisk = new Map<string, number>();
    const repairs: AuditRecord[] = [];
    for (const r of records(dir)) {
      if (r.event.type === 'vram_sealed') onDisk.set(r.event.shardId, r.seq);
      if (r.event.type === 'audit_log_repaired') repairs.push(r);
    }
    expect(allAcked.size, replay).toBeGreaterThanOrEqual(4 * 20);
    for (const [shard, seq] of allAcked) expect(onDisk.get(shard), `${shard}; ${replay}`).toBe(seq);
    expect(repairsExpected, replay).toBeGreaterThanOrEqual(1);
    expect(repairs, replay).toHaveLength(repairsExpected);
    const report = await verifyAuditLog(dir, { key: auditKey });
    expect(report, replay).toMatchObject({ ok: true });
    expect(report.events, replay).toBeGreaterThanOrEqual(allAcked.size);
  }, 60_000);

  it('a torn checkpoint line is reported as torn (not tampered), then repaired on open', async () => {
    const dir = tmpLogDir();
    let log = await openLogger(dir);
    for (let i = 1; i <= 3; i++) await log.emit(sealedEvent(i));
    await log.close();
    const file = path.join(dir, 'checkpoints.ndjson');
    fs.appendFileSync(file, '{"lastMac":"9f');
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({
      ok: false,
      reason: 'torn_tail',
      file: 'checkpoints.ndjson',
      events: 3,
    });
    log = await openLogger(dir);
    await log.close();
    expect(records(dir)[3]?.event).toMatchObject({
      type: 'audit_log_repaired',
      file: 'checkpoints.ndjson',
      droppedBytes: 14,
    });
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 4 });
  });

  it('a torn last line is cut off on open and the repair is recorded as an event', async () => {
    const dir = tmpLogDir();
    let log = await openLogger(dir);
    for (let i = 1; i <= 3; i++) await log.emit(sealedEvent(i));
    await log.close();
    const partial = '{"auditId":"0f0f0f0f-0000-4000-8000-000000000000","event":{"type":"vram_se';
    fs.appendFileSync(segmentPath(dir), partial);
    expect((await verifyAuditLog(dir, { key: auditKey })).reason).toBe('torn_tail');

    log = await openLogger(dir);
    const next = await log.emit(sealedEvent(4));
    await log.close();
    const all = records(dir);
    const repair = all[3]!;
    expect(repair.event).toMatchObject({
      type: 'audit_log_repaired',
      file: 'segment-000001.ndjson',
      droppedBytes: Buffer.byteLength(partial),
      lastGoodSeq: 3,
    });
    expect(next.seq).toBe(5);
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 5 });
  });
});
