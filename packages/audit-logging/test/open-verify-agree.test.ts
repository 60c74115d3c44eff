import fs from 'node:fs';
import { verifyAuditLog } from '@vramseal/audit-logging';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auditKey,
  cleanupTmp,
  openLogger,
  sealedEvent,
  segmentPath,
  tmpLogDir,
} from './helpers.js';

afterEach(cleanupTmp);

// AuditLogger.open and verifyAuditLog run the same checker (verify/log-check.ts): whatever the
// verifier refuses, the writer refuses to append to.
describe('opening a log and verifying it judge the same way', () => {
  it('a checkpoint names the service, even of a log with no records', async () => {
    const dir = tmpLogDir();
    await (await openLogger(dir, { serviceId: 'worker-a' })).close(); // a checkpoint at size 0
    await expect(openLogger(dir, { serviceId: 'worker-b' })).rejects.toMatchObject({
      code: 'CONFIG_ERROR',
      option: 'serviceId',
    });
    const log = await openLogger(dir, { serviceId: 'worker-a' });
    await log.emit(sealedEvent(1));
    await log.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 1 });
  });

  it('a torn newest segment: the verifier reports it, opening repairs it, then both agree', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    await log.emit(sealedEvent(1));
    await log.close();
    fs.appendFileSync(segmentPath(dir), '{"auditId":"5b1c');
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({
      ok: false,
      reason: 'torn_tail',
      firstBadSeq: 2,
    });
    await (await openLogger(dir)).close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 2 });
  });
});

describe('Symbol.asyncDispose', () => {
  it('closes the logger: a final checkpoint, the directory released', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    await log.emit(sealedEvent(1));
    await log[Symbol.asyncDispose]();
    await expect(log.emit(sealedEvent(2))).rejects.toMatchObject({ code: 'AUDIT_CLOSED' });
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({
      ok: true,
      events: 1,
      checkpointsVerified: 1,
    });
    await (await openLogger(dir)).close(); // released: it opens again
  });
});
