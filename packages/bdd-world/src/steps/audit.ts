import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Given, Then, When } from '@cucumber/cucumber';
import { AuditLogger, verifyAuditLog } from '@vramseal/audit-logging';
import { deriveKey, sha256Hex } from '@vramseal/seal-crypto';
import type { VramsealWorld } from '../world.js';

Given(
  'an audit log for service {string} keyed by the worker token {string}',
  async function (this: VramsealWorld, serviceId: string, token: string) {
    const dir = join(mkdtempSync(join(tmpdir(), 'vramseal-bdd-audit-')), 'audit');
    const signing = generateKeyPairSync('ed25519');
    this.audit = {
      dir,
      serviceId,
      key: deriveKey(token, 'audit'),
      signingKey: signing.privateKey,
      publicKey: signing.publicKey,
    };
    this.tempDirs.push(join(dir, '..'));
  },
);

Given(
  '{int} shards have been sealed and audited',
  async function (this: VramsealWorld, count: number) {
    const audit = this.need(this.audit, 'audit log');
    const log = await AuditLogger.open({
      dir: audit.dir,
      serviceId: audit.serviceId,
      key: audit.key,
      signingKey: audit.signingKey,
      checkpointEvery: 8,
    });
    for (let i = 1; i <= count; i++) {
      await log.emit({
        type: 'vram_sealed',
        shardId: `llama-3-8b/shard-${i}`,
        gpuDevice: 0,
        vramBytes: 1_048_576 * i,
        digest: sha256Hex(new TextEncoder().encode(`shard ${i}`)),
        workerId: audit.serviceId,
      });
    }
    await log.close();
  },
);

/** The records of the (single) segment, one line each, and a way to write them back. */
function segmentLines(dir: string): { lines: string[]; save: (lines: string[]) => void } {
  const name = readdirSync(dir).find((f) => f.startsWith('segment-') && f.endsWith('.ndjson'));
  assert.ok(name, `no segment file in ${dir}`);
  const file = join(dir, name);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { lines, save: (changed) => writeFileSync(file, `${changed.join('\n')}\n`) };
}

When(
  'an attacker changes the vramBytes of record {int}',
  function (this: VramsealWorld, seq: number) {
    const { lines, save } = segmentLines(this.need(this.audit, 'audit log').dir);
    const record = JSON.parse(lines[seq - 1]!);
    record.event.vramBytes += 1;
    lines[seq - 1] = JSON.stringify(record);
    save(lines);
  },
);

When('an attacker deletes record {int}', function (this: VramsealWorld, seq: number) {
  const { lines, save } = segmentLines(this.need(this.audit, 'audit log').dir);
  lines.splice(seq - 1, 1);
  save(lines);
});

When(
  'an attacker swaps records {int} and {int}',
  function (this: VramsealWorld, first: number, second: number) {
    const { lines, save } = segmentLines(this.need(this.audit, 'audit log').dir);
    [lines[first - 1], lines[second - 1]] = [lines[second - 1]!, lines[first - 1]!];
    save(lines);
  },
);

When('the auditor verifies the log', async function (this: VramsealWorld) {
  const audit = this.need(this.audit, 'audit log');
  this.auditReport = await verifyAuditLog(audit.dir, {
    key: audit.key,
    publicKey: audit.publicKey,
  });
});

Then('the log verifies with {int} events', function (this: VramsealWorld, events: number) {
  const report = this.need(this.auditReport, 'verification report');
  assert.equal(report.ok, true, `expected a valid log, got ${report.reason}: ${report.detail}`);
  assert.equal(report.events, events);
});

Then(
  'verification fails at record {int} with reason {string}',
  function (this: VramsealWorld, seq: number, reason: string) {
    const report = this.need(this.auditReport, 'verification report');
    assert.equal(report.ok, false, 'a tampered log must not verify');
    assert.equal(report.reason, reason);
    assert.equal(report.firstBadSeq, seq);
    assert.equal(report.events, seq - 1, 'every record before the first bad one still verifies');
  },
);
