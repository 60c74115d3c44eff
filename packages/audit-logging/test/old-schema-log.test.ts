import { createPrivateKey, createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditLogger, verifyAuditLog } from '@vramseal/audit-logging';
import { deriveKey } from '@vramseal/seal-crypto';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * test/fixtures/old-schema-log/ was written by test/fixtures/make-old-schema-log.ts with the event
 * schemas as they were before the `name` kind and the VRAM-manager fields (see the fixtures README).
 * Records are re-validated against EVENT_SCHEMAS when a log is read back, so a schema change that
 * narrowed anything would make this old log fail to verify or to reopen.
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/old-schema-log/', import.meta.url));
const key = deriveKey('old-schema-fixture-token-3e9a71c5', 'audit');
const seed = Buffer.from('4f1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0', 'hex');
const privateKey = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
  format: 'der',
  type: 'pkcs8',
});
const publicKey = createPublicKey(privateKey);
const RECORDS = 41;

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A writable copy: opening a log takes a lock, tightens modes and appends. */
function copyFixture(): string {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vramseal-old-schema-'));
  made.push(base);
  const dir = path.join(base, 'log');
  fs.cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe('a log written with the old event schema', () => {
  it('still verifies with the audit key and the checkpoint public key', async () => {
    const report = await verifyAuditLog(copyFixture(), { key, publicKey });
    expect(report.reason).toBeNull();
    expect(report.ok).toBe(true);
    expect(report.events).toBe(RECORDS);
    expect(report.segments).toBeGreaterThanOrEqual(3);
    expect(report.checkpointsVerified).toBeGreaterThanOrEqual(3);
    expect(report.checked).toEqual({ macs: true, signatures: true });
  });

  it('still reopens, and the chain continues from its last record', async () => {
    const dir = copyFixture();
    const log = await AuditLogger.open({
      dir,
      serviceId: 'worker-old-schema',
      key,
      signingKey: privateKey,
    });
    expect(log.size).toBe(RECORDS);
    const receipt = await log.emit({
      type: 'vram_sealed',
      shardId: 'llama-3-8b/shard-00003',
      gpuDevice: 0,
      vramBytes: 1024,
      digest: 'ab'.repeat(32),
      workerId: 'worker-gpu-17',
    });
    expect(receipt.seq).toBe(RECORDS + 1);
    await log.close();
    const report = await verifyAuditLog(dir, { key, publicKey });
    expect(report.ok).toBe(true);
    expect(report.events).toBe(RECORDS + 1);
  });

  it('takes events with the new fields and types after the old records, in one chain', async () => {
    const dir = copyFixture();
    const open = () =>
      AuditLogger.open({ dir, serviceId: 'worker-old-schema', key, signingKey: privateKey });
    const log = await open();
    await log.emit({
      type: 'seal_verification_failed',
      shardId: '0x1234abcd',
      gpuDevice: 0,
      workerId: 'worker-gpu-17',
      reason: 'tree root differs from the sealed one',
      check: 'tree_root',
      expectedTreeRoot: 'cd'.repeat(32),
      actualTreeRoot: 'ef'.repeat(32),
    });
    await log.emit({
      type: 'vram_manager_reset',
      operator: 'oncall-alice',
      reason: 'memory replaced',
      workerId: 'worker-gpu-17',
      stoppedBecause: 'seal verification failed',
    });
    await log.close();
    const report = await verifyAuditLog(dir, { key, publicKey });
    expect(report.ok).toBe(true);
    expect(report.events).toBe(RECORDS + 2);
    const reopened = await open();
    expect(reopened.size).toBe(RECORDS + 2);
    await reopened.close();
  });

  it('is detected as tampered if one of its records is edited (the fixture is really checked)', async () => {
    const dir = copyFixture();
    const segment = path.join(dir, 'segment-000003.ndjson');
    const text = fs.readFileSync(segment, 'utf8');
    expect(text).toContain('"path":"../../etc/passwd"');
    fs.writeFileSync(segment, text.replace('../../etc/passwd', '../../etc/shadow'));
    const report = await verifyAuditLog(dir, { key, publicKey });
    expect(report.ok).toBe(false);
  });
});
