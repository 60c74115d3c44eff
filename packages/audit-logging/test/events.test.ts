import { inspect } from 'node:util';
import {
  AuditValidationError,
  COMMON_OPTIONAL_FIELDS,
  EVENT_SCHEMAS,
  type LoggedEventType,
  MAX_FIELD_BYTES,
  tokenFingerprint,
  validateEvent,
  validateField,
} from '@vramseal/audit-logging';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sampleEvent, sealedEvent } from './helpers.js';

const userTypes = (Object.keys(EVENT_SCHEMAS) as LoggedEventType[]).filter(
  (t) => EVENT_SCHEMAS[t].category !== 'system',
);

function rejection(fn: () => unknown): AuditValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AuditValidationError) return error;
    throw error;
  }
  throw new Error('expected an AuditValidationError');
}

describe('event schemas', () => {
  it('cover every event family of the domain', () => {
    const categories = new Set(userTypes.map((t) => EVENT_SCHEMAS[t].category));
    expect([...categories].sort()).toEqual([
      'auth',
      'authz',
      'compliance',
      'data',
      'resources',
      'security',
      'vram',
    ]);
    expect(userTypes).toHaveLength(37);
  });

  it.each(userTypes)('%s: a sample built from its schema validates', (type) => {
    expect(validateEvent(sampleEvent(type))).toEqual(sampleEvent(type));
  });

  it.each(userTypes)('%s: each required field, when missing, is named in the error', (type) => {
    for (const field of Object.keys(EVENT_SCHEMAS[type].required)) {
      const event: Record<string, unknown> = { ...sampleEvent(type) };
      delete event[field];
      const error = rejection(() => validateEvent(event));
      expect(error.field).toBe(field);
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain(`"${field}"`);
    }
  });

  it('rejects unknown types, unknown fields and system types', () => {
    expect(rejection(() => validateEvent({ type: 'vram_stolen' })).field).toBe('type');
    expect(rejection(() => validateEvent({ shardId: 'x' })).field).toBe('type');
    expect(rejection(() => validateEvent({ ...sealedEvent(1), token: 'secret' })).field).toBe(
      'token',
    );
    expect(rejection(() => validateEvent(sampleEvent('audit_log_repaired'))).message).toMatch(
      /reserved/,
    );
  });

  it('rejects malformed values with the field name and expected kind', () => {
    expect(rejection(() => validateEvent({ ...sealedEvent(1), vramBytes: -1 })).field).toBe(
      'vramBytes',
    );
    expect(rejection(() => validateEvent({ ...sealedEvent(1), vramBytes: 1.5 })).field).toBe(
      'vramBytes',
    );
    expect(rejection(() => validateEvent({ ...sealedEvent(1), gpuDevice: '0' })).field).toBe(
      'gpuDevice',
    );
    expect(
      rejection(() => validateEvent({ ...sealedEvent(1), digest: 'AB'.repeat(32) })).field,
    ).toBe('digest');
    expect(rejection(() => validateEvent({ ...sealedEvent(1), shardId: '' })).field).toBe(
      'shardId',
    );
    const perm = { ...sampleEvent('permission_changed'), change: 'maybe' };
    expect(rejection(() => validateEvent(perm)).message).toMatch(/one of "granted", "revoked"/);
  });

  it('with several faults, names a missing required field first, then an unknown one, then a bad value', () => {
    const missingAndBad = { type: 'auth_success', actor: 'a', correlationId: 5 };
    expect(rejection(() => validateEvent(missingAndBad)).field).toBe('method');
    const unknownAndBad = { type: 'auth_success', actor: 'a', method: 'm', bogus: 1, sourceIp: 5 };
    expect(rejection(() => validateEvent(unknownAndBad)).field).toBe('bogus');
    const badOptional = { type: 'auth_success', actor: 'a', method: 'm', sourceIp: 5 };
    expect(rejection(() => validateEvent(badOptional)).field).toBe('sourceIp');
  });
});

describe('log injection defences', () => {
  const forbidden: [string, string][] = [
    ['NUL', '\u0000'],
    ['newline', '\n'],
    ['carriage return', '\r'],
    ['tab', '\t'],
    ['ANSI escape', '\u001b[31m'],
    ['DEL', '\u007f'],
    ['C1 CSI', '\u009b'],
    ['bidi override RLO', '\u202e'],
    ['bidi isolate', '\u2066'],
    ['zero-width space', '\u200b'],
    ['zero-width joiner', '\u200d'],
    ['BOM', '\ufeff'],
    ['line separator', '\u2028'],
    ['paragraph separator', '\u2029'],
    ['bidi mark LRM', '\u200e'],
    ['Arabic letter mark (bidi)', '\u061c'],
    ['pop directional isolate', '\u2069'],
    ['word joiner', '\u2060'],
    ['soft hyphen', '\u00ad'],
    ['tag character', '\u{e0041}'],
    ['lone surrogate', '\ud800'],
  ];
  it.each(forbidden)('rejects %s in a string field, naming the field', (_name, ch) => {
    const error = rejection(() => validateEvent({ ...sealedEvent(1), workerId: `w${ch}x` }));
    expect(error.field).toBe('workerId');
    expect(error.message).toMatch(/forbidden character U\+/);
  });

  // Every text field of every event type, required, optional and common, gets the same checks.
  const textFields = userTypes.flatMap((type) => {
    const schema = EVENT_SCHEMAS[type] as {
      required: Record<string, unknown>;
      optional?: Record<string, unknown>;
    };
    const all = { ...schema.required, ...schema.optional, ...COMMON_OPTIONAL_FIELDS };
    return Object.entries(all)
      .filter(([, kind]) => kind === 'text')
      .map(([field]) => [type, field] as const);
  });
  const badValues: [string, unknown][] = [
    ['NUL', 'a\u0000b'],
    ['ANSI', '\u001b[2Jx'],
    ['bidi override', 'a\u202eb'],
    ['zero-width space', 'a\u200bb'],
    ['1025 bytes', 'x'.repeat(1025)],
    ['a nested object', { inner: 'x' }],
    ['an array', ['x']],
  ];
  it('covers the optional and common text fields too', () => {
    const names = new Set(textFields.map(([, field]) => field));
    for (const field of ['sourceIp', 'expiresAt', 'correlationId']) expect(names).toContain(field);
  });
  it.each(textFields)('%s.%s refuses every kind of bad value, naming the field', (type, field) => {
    for (const [what, value] of badValues) {
      const error = rejection(() => validateEvent({ ...sampleEvent(type), [field]: value }));
      expect(error.field, `${type}.${field} with ${what}`).toBe(field);
    }
    expect(validateEvent({ ...sampleEvent(type), [field]: 'ok' })).toMatchObject({ [field]: 'ok' });
  });

  it('any string containing a control character is rejected (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 0, max: 0x1f }), fc.string(), (a, c, b) => {
        const value = `${a}${String.fromCharCode(c)}${b}`;
        expect(() => validateEvent({ ...sealedEvent(1), shardId: value })).toThrow(
          AuditValidationError,
        );
      }),
    );
  });

  it('printable text up to the limit is accepted (property)', () => {
    const printable = fc.string({
      unit: fc.constantFrom(...'abcXYZ019 -_./:@éß漢'),
      minLength: 1,
      maxLength: 200,
    });
    fc.assert(
      fc.property(printable, (value) => {
        expect(validateEvent({ ...sealedEvent(1), shardId: value }).type).toBe('vram_sealed');
      }),
    );
  });

  it('limits string fields to 1024 UTF-8 bytes', () => {
    expect(MAX_FIELD_BYTES).toBe(1024);
    expect(() => validateEvent({ ...sealedEvent(1), shardId: 'x'.repeat(1024) })).not.toThrow();
    expect(
      rejection(() => validateEvent({ ...sealedEvent(1), shardId: 'x'.repeat(1025) })).message,
    ).toMatch(/1025 bytes/);
    // 342 three-byte characters = 1026 bytes, though only 342 UTF-16 units
    expect(
      rejection(() => validateEvent({ ...sealedEvent(1), shardId: '漢'.repeat(342) })).field,
    ).toBe('shardId');
  });

  it('refuses pointers and key-like hex in free text, without echoing the value', () => {
    // shardId is a `name` (ids may look like hex); free text such as a failure reason is `text`.
    const failed = sampleEvent('vram_allocation_failed');
    expect(
      rejection(() => validateEvent({ ...failed, reason: 'at 0x7ffd5a3c1e20' })).message,
    ).toMatch(/memory address/);
    const key = 'f3'.repeat(32);
    const error = rejection(() =>
      validateEvent({ ...sampleEvent('auth_failure'), reason: `bad ${key}` }),
    );
    expect(error.message).toMatch(/key material/);
    expect(error.message).not.toContain(key);
  });

  it('tokens appear only as fingerprints', () => {
    const token = 'vrs_live_5d8b1e0f2a9c47e3b6d4a1f08c2e7b93';
    const fp = tokenFingerprint(token);
    expect(fp).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(fp).not.toContain(token.slice(4, 12));
    expect(tokenFingerprint(token)).toBe(fp);
    const event = {
      type: 'token_created',
      actor: 'admin',
      subject: 'worker-1',
      tokenFingerprint: fp,
    } as const;
    expect(validateEvent(event).type).toBe('token_created');
    const leaked = rejection(() => validateEvent({ ...event, tokenFingerprint: token }));
    expect(leaked.field).toBe('tokenFingerprint');
    expect(leaked.message).not.toContain(token);
    expect(inspect(leaked)).not.toContain(token);
  });

  it('returns a copy: later changes to the caller object do not reach the log', () => {
    const event = { ...sealedEvent(1) };
    const clean = validateEvent(event);
    event.shardId = 'changed';
    expect(clean).toMatchObject({ shardId: 'shard-1' });
  });
});

describe('validateField: one value against one field kind, as emit checks it', () => {
  it.each([
    ['name', `sha256:${'ab'.repeat(32)}`],
    ['name', '0x1234abcd'],
    ['text', 'plain words'],
    ['uint', 7],
    ['sha256', 'cd'.repeat(32)],
    [['granted', 'revoked'], 'revoked'],
  ] as const)('accepts a valid %j value', (kind, value) => {
    expect(() => validateField('f', kind, value)).not.toThrow();
  });

  it.each([
    ['name', 'a\u0000b'],
    ['name', ''],
    ['name', 'x'.repeat(1025)],
    ['text', '0x7ffd5a3c1e20'],
    ['uint', -1],
    [['granted', 'revoked'], 'maybe'],
  ] as const)(
    'refuses an invalid %j value, naming the field and not echoing the value',
    (kind, value) => {
      const error = rejection(() => validateField('modelRef', kind, value));
      expect(error).toBeInstanceOf(AuditValidationError);
      expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'modelRef' });
      if (typeof value === 'string' && value.length > 3) expect(error.message).not.toContain(value);
    },
  );
});
