import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLogger, type AuditRecord, type VerifyReport } from '@vramseal/audit-logging';
import {
  assertAuditEvent,
  assertAuditVerifies,
  assertCorrelationId,
  assertNarrationEvent,
  assertNarrationIncludes,
  assertNoNarrationEvent,
  assertNoPointersInNarration,
  assertNoSecretsInNarration,
  countAuditEvents,
  findPointerOrHandle,
  metricSample,
  readAuditRecords,
} from '@vramseal/bdd-world';
import type { NarrationEvent } from '@vramseal/narration-core';
import { deriveKey } from '@vramseal/seal-crypto';
import { describe, expect, it } from 'vitest';

const ID = '3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b';
const event = (fields: Partial<NarrationEvent>): NarrationEvent =>
  ({
    level: 'info',
    actor: 'vram-residency',
    action: 'seal',
    target: 's1',
    human: 'Sealed shard s1 (1 KiB) on device 0.',
    correlation_id: ID,
    ...fields,
  }) as NarrationEvent;

describe('narration assertions', () => {
  const events = [
    event({}),
    event({ action: 'verify', human: 'Verified shard s1.', context: { deep: true } } as never),
  ];

  it('find text in human/cute/story, and say what was there when it is missing', () => {
    expect(assertNarrationIncludes(events, 'Verified shard').action).toBe('verify');
    expect(() => assertNarrationIncludes(events, 'Deallocated')).toThrow(
      /no narration event's human\/cute\/story includes 'Deallocated'.*\n.*seal s1: Sealed shard s1/,
    );
  });

  it('match an action with fields by dotted path, Gherkin text matching numbers and booleans', () => {
    expect(assertNarrationEvent(events, 'verify', { 'context.deep': 'true' }).action).toBe(
      'verify',
    );
    expect(assertNarrationEvent(events, 'verify', { 'context.deep': true }).action).toBe('verify');
    expect(() => assertNarrationEvent(events, 'verify', { 'context.deep': 'false' })).toThrow(
      /no 'verify' event has/,
    );
    expect(() => assertNarrationEvent(events, 'deallocate')).toThrow(
      /no narration event has action/,
    );
  });

  it('assert an action is absent', () => {
    assertNoNarrationEvent(events, 'verify_failed');
    expect(() => assertNoNarrationEvent(events, 'seal')).toThrow(
      /expected no 'seal' event, found 1/,
    );
  });

  it('require the correlation id on every event, and at least one event', () => {
    assertCorrelationId(events, ID);
    expect(() =>
      assertCorrelationId([...events, event({ correlation_id: undefined } as never)], ID),
    ).toThrow(/1 of 3 events do not carry/);
    expect(() => assertCorrelationId([], ID)).toThrow(/no narration events/);
    expect(() => assertCorrelationId(events, 'not-a-uuid')).toThrow(/not a valid correlation id/);
  });

  it('find a known secret without printing it, and values the redaction rules recognise', () => {
    const secret = 'worker token: 9f8e7d6c5b4a39281706';
    const leaky = [event({ human: `token is ${secret}` })];
    let message = '';
    try {
      assertNoSecretsInNarration(leaky, [secret]);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/known secret #1 appears/);
    expect(message).not.toContain('9f8e7d6c5b4a39281706');
    expect(() =>
      assertNoSecretsInNarration(
        [event({ human: 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345' })],
        [],
      ),
    ).toThrow(/looks like a secret/);
    assertNoSecretsInNarration(events, [secret]);
  });

  it('find pointers and handle words, not digests', () => {
    expect(findPointerOrHandle('at 0x7f3a2b100000')).toBe('0x7f3a2b100000');
    expect(findPointerOrHandle('the cudaIpcMemHandle was')).toBe('cudaIpcMemHandle');
    expect(findPointerOrHandle(`digest ${'ab'.repeat(32)} and ModelShardHandle`)).toBeUndefined();
    expect(() => assertNoPointersInNarration([event({ human: 'ptr 0xdeadbeef00' })])).toThrow(
      /0xdeadbeef00/,
    );
  });
});

describe('audit assertions', () => {
  const record = (seq: number, event: Record<string, unknown>) =>
    ({ seq, event }) as unknown as AuditRecord;
  const records = [
    record(1, { type: 'vram_allocated', shardId: 'a', vramBytes: 10 }),
    record(2, { type: 'vram_sealed', shardId: 'a', vramBytes: 10 }),
    record(3, { type: 'vram_sealed', shardId: 'b', vramBytes: 20 }),
  ];

  it('find an event of a type with fields, and count them', () => {
    expect(assertAuditEvent(records, 'vram_sealed', { shardId: 'b', vramBytes: '20' }).seq).toBe(3);
    expect(() => assertAuditEvent(records, 'vram_sealed', { shardId: 'c' })).toThrow(
      /no 'vram_sealed' audit event has \{ shardId: 'c' \}/,
    );
    expect(() => assertAuditEvent([], 'vram_sealed')).toThrow(/the log is empty/);
    expect(countAuditEvents(records, 'vram_sealed')).toBe(2);
  });

  it('read the records of a log still being written (its segment ends in preallocated zeros)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bdd-world-audit-'));
    const key = deriveKey('bdd-world-test-token-5d1e', 'audit');
    const log = await AuditLogger.open({ dir, serviceId: 'bdd', key });
    try {
      for (const id of ['a', 'b']) {
        await log.emit({ type: 'pool_created', actor: 'tester', poolId: id });
      }
      expect(fs.readFileSync(path.join(dir, 'segment-000001.ndjson')).includes(0)).toBe(true);
      const live = readAuditRecords(dir);
      expect(live.map((r) => [r.seq, r.event])).toEqual([
        [1, { type: 'pool_created', actor: 'tester', poolId: 'a' }],
        [2, { type: 'pool_created', actor: 'tester', poolId: 'b' }],
      ]);
    } finally {
      await log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('report why a log does not verify, and a wrong event count', () => {
    const ok = { ok: true, events: 3 } as VerifyReport;
    assertAuditVerifies(ok, 3);
    expect(() => assertAuditVerifies(ok, 4)).toThrow(/verifies with 3 events, expected 4/);
    const bad = {
      ok: false,
      reason: 'mac_mismatch',
      firstBadSeq: 2,
      detail: 'record 2 MAC',
    } as VerifyReport;
    expect(() => assertAuditVerifies(bad)).toThrow(/mac_mismatch at record 2: record 2 MAC/);
  });
});

describe('metricSample', () => {
  const exposition = [
    '# HELP vram_seal_operations_total Seals.',
    '# TYPE vram_seal_operations_total counter',
    'vram_seal_operations_total{result="success"} 3',
    'vram_seal_operations_total{result="failure"} 1',
    'vram_used_bytes{gpu_device="0"} 1048576',
  ].join('\n');

  it('reads one sample by its exact name and labels', () => {
    expect(metricSample(exposition, 'vram_seal_operations_total{result="success"}')).toBe(3);
    expect(metricSample(exposition, 'vram_used_bytes{gpu_device="0"}')).toBe(1048576);
    expect(metricSample(exposition, 'vram_seal_operations_total')).toBeUndefined();
    expect(metricSample(exposition, 'vram_used_bytes{gpu_device="1"}')).toBeUndefined();
  });
});
