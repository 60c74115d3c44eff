import fs from 'node:fs';
import path from 'node:path';
import {
  type AuditRecord,
  COMMON_OPTIONAL_FIELDS,
  canonicalJson,
  EVENT_SCHEMAS,
  type EventSchema,
  type FieldKind,
  GENESIS_MAC,
  type LoggedEventType,
  validateEvent,
} from '@vramseal/audit-logging';
import { hmacSha256, leafHash, merkleRoot } from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auditKey,
  cleanupTmp,
  openLogger,
  readLines,
  sealedEvent,
  segmentPath,
  tmpLogDir,
} from './helpers.js';

afterEach(cleanupTmp);

describe('canonical JSON', () => {
  it('sorts keys at every level and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[true,null]},"b":1}',
    );
  });
  it('has one encoding per value: key order never changes the output (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())),
        (obj) => {
          const reversed = Object.fromEntries(Object.entries(obj).reverse());
          expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
          expect(JSON.parse(canonicalJson(obj))).toEqual(obj);
        },
      ),
    );
  });
  it('refuses non-integers', () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(/safe integers/);
  });
});

/** Any valid value of a field kind (printable, non-ASCII text included). */
function anyValue(kind: FieldKind): fc.Arbitrary<unknown> {
  if (typeof kind !== 'string') return fc.constantFrom(...kind);
  switch (kind) {
    case 'text':
    case 'name':
      return fc.string({
        unit: fc.constantFrom(...'azAZ09 -_./:@"\\éß漢😀'),
        minLength: 1,
        maxLength: 20,
      });
    case 'uint':
      return fc.nat({ max: Number.MAX_SAFE_INTEGER });
    case 'bool':
      return fc.boolean();
    case 'sha256':
      return fc.stringMatching(/^[0-9a-f]{64}$/);
    case 'fingerprint':
      return fc.stringMatching(/^sha256:[0-9a-f]{16}$/);
  }
}

/** A valid event of `type`: every required field, any subset of the optional ones, keys in any order. */
function anyEvent(type: LoggedEventType): fc.Arbitrary<Record<string, unknown>> {
  const schema: EventSchema = EVENT_SCHEMAS[type];
  const optional = { ...COMMON_OPTIONAL_FIELDS, ...schema.optional } as Record<string, FieldKind>;
  const fields = Object.fromEntries(
    [...Object.entries(optional), ...Object.entries(schema.required)].map(([name, kind]) => [
      name,
      anyValue(kind as FieldKind),
    ]),
  );
  return fc
    .record(fields, { requiredKeys: Object.keys(schema.required) })
    .chain((event) => {
      const entries: [string, unknown][] = [['type', type], ...Object.entries(event)];
      return fc.shuffledSubarray(entries, { minLength: entries.length });
    })
    .map((entries) => Object.fromEntries(entries));
}

describe('events are copied in canonical key order', () => {
  it('for every event type, JSON.stringify of what validateEvent returns is its canonical JSON (property)', () => {
    // envelope/record.ts writes events with JSON.stringify on this guarantee.
    for (const type of Object.keys(EVENT_SCHEMAS) as LoggedEventType[]) {
      fc.assert(
        fc.property(anyEvent(type), (event) => {
          const clean = validateEvent(event, { allowSystem: true });
          expect(Object.keys(clean)).toEqual(Object.keys(clean).sort());
          expect(JSON.stringify(clean)).toBe(canonicalJson(event));
        }),
        { numRuns: 25 },
      );
    }
  });

  it('reads each field once, so a getter cannot pass the check with one value and log another', () => {
    // Optional fields were read twice before (once to check, once to copy).
    for (const field of ['shardId', 'modelRef']) {
      let reads = 0;
      const event: Record<string, unknown> = {
        type: 'vram_sealed',
        shardId: 'shard-1',
        gpuDevice: 0,
        vramBytes: 1,
        digest: 'ab'.repeat(32),
        workerId: 'w',
      };
      Object.defineProperty(event, field, {
        enumerable: true,
        get() {
          reads += 1;
          return reads === 1 ? 'value-ok' : 'value\u001b[2Jforged';
        },
      });
      const clean = validateEvent(event) as Record<string, unknown>;
      expect(clean[field], field).toBe('value-ok');
      expect(reads, field).toBe(1);
    }
  });
});

describe('record envelope on disk', () => {
  it('each line is canonical JSON and mac = HMAC(audit key, canonical {seq, auditId, ts, serviceId, event, prevMac})', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir);
    for (let i = 1; i <= 3; i++) await log.emit(sealedEvent(i));
    await log.close();
    let prev = GENESIS_MAC;
    for (const line of readLines(segmentPath(dir))) {
      const record = JSON.parse(line) as AuditRecord;
      expect(line).toBe(canonicalJson(record));
      const { mac, ...body } = record;
      expect(Object.keys(body).sort()).toEqual([
        'auditId',
        'event',
        'prevMac',
        'seq',
        'serviceId',
        'ts',
      ]);
      const expected = Buffer.from(hmacSha256(auditKey, Buffer.from(canonicalJson(body)))).toString(
        'hex',
      );
      expect(mac).toBe(expected);
      expect(record.prevMac).toBe(prev);
      expect(record.serviceId).toBe('worker-a');
      expect(record.auditId).toMatch(/^[0-9a-f-]{36}$/);
      prev = mac;
    }
    expect(GENESIS_MAC).toBe('00'.repeat(32));
  });

  it('checkpoint roots are RFC 6962 roots over the leaf hashes of the stored lines', async () => {
    const dir = tmpLogDir();
    const log = await openLogger(dir, { checkpointEvery: 1 });
    for (let i = 1; i <= 9; i++) await log.emit(sealedEvent(i));
    await log.close();
    const leaves = readLines(segmentPath(dir)).map((l) => leafHash(Buffer.from(l)));
    const checkpoints = readLines(path.join(dir, 'checkpoints.ndjson')).map((l) => JSON.parse(l));
    expect(checkpoints.map((c) => c.treeSize)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const cp of checkpoints) {
      expect(cp.root).toBe(Buffer.from(merkleRoot(leaves.slice(0, cp.treeSize))).toString('hex'));
    }
    expect(fs.existsSync(path.join(dir, 'writer.lock'))).toBe(false);
  });
});
