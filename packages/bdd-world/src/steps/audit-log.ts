import assert from 'node:assert/strict';
import { type DataTable, Then, When } from '@cucumber/cucumber';
import { type AuditRecord, verifyAuditLog } from '@vramseal/audit-logging';
import {
  assertAuditEvent,
  assertAuditVerifies,
  countAuditEvents,
  readAuditRecords,
} from '../assertions/audit.js';
import { assertNarrationEvent } from '../assertions/narration.js';
import { smallestChange } from '../tamper.js';
import type { VramWorld } from '../world.js';
import { segment } from './audit.js';

/** The records on disk when an operation returned (the durability steps). */
const recordsAtReturn = new WeakMap<VramWorld, AuditRecord[]>();

// Steps on the scenario manager's own audit log (see audit.ts for the stand-alone log steps).

Then('the audit log has a(n) {string} event', async function (this: VramWorld, type: string) {
  this.auditChecks++;
  assertAuditEvent(await this.auditRecords(), type);
});

Then(
  'the audit log has a(n) {string} event for shard {string}',
  async function (this: VramWorld, type: string, shardId: string) {
    this.auditChecks++;
    assertAuditEvent(await this.auditRecords(), type, { shardId });
  },
);

Then(
  'the audit log has a(n) {string} event with:',
  async function (this: VramWorld, type: string, table: DataTable) {
    this.auditChecks++;
    assertAuditEvent(await this.auditRecords(), type, Object.fromEntries(table.raw()));
  },
);

Then(
  'the audit log has {int} {string} event(s)',
  async function (this: VramWorld, count: number, type: string) {
    this.auditChecks++;
    assert.equal(countAuditEvents(await this.auditRecords(), type), count);
  },
);

Then('the audit log has no {string} event', async function (this: VramWorld, type: string) {
  this.auditChecks++;
  assert.equal(countAuditEvents(await this.auditRecords(), type), 0);
});

Then(
  "every audit event carries the worker id and the scenario's correlation id",
  async function (this: VramWorld) {
    this.auditChecks++;
    const records = await this.auditRecords();
    assert.ok(records.length > 0, 'the audit log is empty');
    for (const record of records) {
      const event = record.event as Record<string, unknown>;
      assert.equal(event.workerId, this.workerId, `record ${record.seq} (${record.event.type})`);
      // Every operation of the scenario ran under its correlation id: every record must carry it.
      assert.equal(
        event.correlationId,
        this.correlationId,
        `record ${record.seq} (${record.event.type})`,
      );
    }
  },
);

When(
  'shard {string} is verified and the audit log is read from disk as the call returns',
  async function (this: VramWorld, id: string) {
    const audit = this.need(this.managerAudit, 'audit log');
    const shard = this.sealed(id);
    await this.attempt(() => this.vram.verifySealed(shard));
    // No flush, no waiting: what is on disk the moment the call has returned.
    recordsAtReturn.set(this, readAuditRecords(audit.dir));
  },
);

Then(
  'the audit log read at that moment has a(n) {string} event for shard {string}',
  function (this: VramWorld, type: string, shardId: string) {
    this.auditChecks++;
    assertAuditEvent(this.need(recordsAtReturn.get(this), 'audit log read at return'), type, {
      shardId,
    });
  },
);

Then('the audit log verifies', async function (this: VramWorld) {
  this.auditChecks++;
  const audit = this.need(this.managerAudit, 'audit log');
  await this.auditRecords();
  assertAuditVerifies(
    await verifyAuditLog(audit.dir, { key: audit.key, publicKey: audit.publicKey }),
  );
});

Then('the audit log verifies with {int} events', async function (this: VramWorld, events: number) {
  this.auditChecks++;
  const audit = this.need(this.managerAudit, 'audit log');
  await this.auditRecords();
  const report = await verifyAuditLog(audit.dir, { key: audit.key, publicKey: audit.publicKey });
  assertAuditVerifies(report, events);
});

When(
  'an attacker changes {string} of the first {string} audit record',
  async function (this: VramWorld, field: string, type: string) {
    const audit = this.need(this.managerAudit, 'audit log');
    await this.auditRecords();
    await audit.logger?.close();
    audit.logger = undefined;
    this.auditTampered = true;
    const { lines, save } = segment(this);
    const index = lines.findIndex((line) => JSON.parse(line).event.type === type);
    assert.ok(index >= 0, `no ${type} record to change`);
    const record = JSON.parse(lines[index]!);
    assert.ok(Object.hasOwn(record.event, field), `a ${type} record has no field "${field}"`);
    record.event[field] = smallestChange(record.event[field], field);
    lines[index] = JSON.stringify(record);
    save(lines);
    this.tamperedSeq = record.seq;
  },
);

Then(
  'the audit log fails verification at that record with reason {string}',
  async function (this: VramWorld, reason: string) {
    this.auditChecks++;
    const audit = this.need(this.managerAudit, 'audit log');
    const report = await verifyAuditLog(audit.dir, { key: audit.key, publicKey: audit.publicKey });
    assert.equal(report.ok, false, 'the tampered log verified');
    assert.equal(report.reason, reason, report.detail ?? '');
    assert.equal(report.firstBadSeq, this.tamperedSeq);
  },
);

Then(
  'the audit log records for shard {string} are, in order:',
  async function (this: VramWorld, shardId: string, table: DataTable) {
    this.auditChecks++;
    const types = (await this.auditRecords())
      .filter((record) => (record.event as { shardId?: string }).shardId === shardId)
      .map((record) => record.event.type);
    assert.deepEqual(
      types,
      table.raw().map(([type]) => type),
    );
  },
);

Then(
  'the sealed digest and tree root of shard {string} are in its audit record',
  async function (this: VramWorld, id: string) {
    this.auditChecks++;
    const shard = this.sealed(id);
    assertAuditEvent(await this.auditRecords(), 'vram_sealed', {
      shardId: id,
      digest: shard.digest,
      treeRoot: shard.treeRoot,
      leafSize: shard.leafSize,
      keyId: shard.keyId,
    });
  },
);

When("the audit log's storage stops accepting writes", async function (this: VramWorld) {
  // The logger the manager holds is closed underneath it: every later emit is refused.
  const audit = this.need(this.managerAudit, 'audit log');
  await this.auditRecords();
  await audit.logger?.close();
  this.auditTampered = true;
});

Then(
  'the lost audit write is counted and narrated as observability_degraded',
  async function (this: VramWorld) {
    this.narrationChecks++;
    // The routine event reaches the logger after the operation returned; its refusal comes later.
    const deadline = Date.now() + 5000;
    while (this.vram.observabilityFailures.audit === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(this.vram.observabilityFailures.audit >= 1, 'no audit failure was counted');
    assertNarrationEvent(this.narration.events, 'observability_degraded');
  },
);
