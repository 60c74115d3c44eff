import {
  type AuditEvent,
  AuditValidationError,
  COMMON_OPTIONAL_FIELDS,
  EVENT_SCHEMAS,
  type FieldKind,
  type LoggedEventType,
  validateEvent,
} from '@vramseal/audit-logging';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sampleEvent } from './helpers.js';

type Schema = { required: Record<string, FieldKind>; optional?: Record<string, FieldKind> };
const schemaOf = (type: LoggedEventType) => EVENT_SCHEMAS[type] as Schema;
const allTypes = Object.keys(EVENT_SCHEMAS) as LoggedEventType[];

function rejection(fn: () => unknown): AuditValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AuditValidationError) return error;
    throw error;
  }
  throw new Error('expected an AuditValidationError');
}

/** Every (type, field) of a kind, required and optional alike. */
function fieldsOfKind(kind: FieldKind): [LoggedEventType, string][] {
  return allTypes.flatMap((type) => {
    const s = schemaOf(type);
    return Object.entries({ ...s.required, ...s.optional })
      .filter(([, k]) => k === kind)
      .map(([field]) => [type, field] as [LoggedEventType, string]);
  });
}

const withField = (type: LoggedEventType, field: string, value: unknown) => ({
  ...sampleEvent(type),
  [field]: value,
});

/** Caller event types (`system` ones are refused by validateEvent before their fields). */
const isUserType = (t: LoggedEventType) => EVENT_SCHEMAS[t].category !== 'system';
const nameFields = fieldsOfKind('name').filter(([t]) => isUserType(t));
const textFields = fieldsOfKind('text')
  .filter(([t]) => isUserType(t))
  .concat(
    allTypes
      .filter(isUserType)
      .flatMap((t) =>
        Object.keys(COMMON_OPTIONAL_FIELDS).map((f) => [t, f] as [LoggedEventType, string]),
      ),
  );

describe('the `name` field kind', () => {
  it('is the kind of exactly the ids, refs and paths the VRAM manager logs', () => {
    const vramTypes = allTypes.filter((t) => EVENT_SCHEMAS[t].category === 'vram');
    expect(vramTypes.sort()).toEqual([
      'policy_violation',
      'seal_verification_failed',
      'seal_verified',
      'vram_allocated',
      'vram_allocation_failed',
      'vram_deallocated',
      'vram_deallocation_failed',
      'vram_manager_reset',
      'vram_sealed',
    ]);
    const expected = [
      ...vramTypes.flatMap((type) => {
        const s = schemaOf(type);
        return ['shardId', 'workerId', 'modelRef']
          .filter((f) => f in { ...s.required, ...s.optional })
          .map((f) => `${type}.${f}`);
      }),
      'inference_executed.shardId',
      'inference_executed.modelRef',
      'model_accessed.modelRef',
      'malformed_model_rejected.modelRef',
      'path_traversal_attempt.path',
      'path_traversal_attempt.workerId',
      'integrity_violation.shardId',
      'integrity_violation.workerId',
    ];
    expect(nameFields.map(([t, f]) => `${t}.${f}`).sort()).toEqual(expected.sort());
    // Every vram event names its worker; the shard-level ones name their shard.
    for (const type of vramTypes) expect(nameFields).toContainEqual([type, 'workerId']);
    expect(nameFields.filter(([, f]) => f === 'shardId')).toHaveLength(10);
  });

  const accepted: [string, string][] = [
    ['a shard id that looks like a pointer', '0x1234abcd'],
    ['a long hex shard id', 'shard-0x7ffd5a3c1e20'],
    ['a content-addressed model ref', `sha256:${'ab'.repeat(32)}`],
    ['64 bare hex digits', 'f3'.repeat(32)],
    ['a path someone tried', '../../etc/passwd'],
    ['a plain id', 'llama-3-8b/shard-00002'],
    ['non-ASCII', 'modèle/漢字@main'],
    ['exactly 1024 bytes', 'x'.repeat(1024)],
    ['1023 bytes of 3-byte characters', '漢'.repeat(341)],
    ['one character', 'x'],
  ];
  const refused: [string, unknown, RegExp][] = [
    ['empty', '', /is empty/],
    ['NUL', 'a\u0000b', /forbidden character U\+0000/],
    ['newline', 'shard\nforged line', /forbidden character U\+000A/],
    ['ANSI escape', '\u001b[31mx', /forbidden character U\+001B/],
    ['DEL', 'a\u007f', /forbidden character U\+007F/],
    ['bidi override', 'a\u202eb', /forbidden character U\+202E/],
    ['zero-width space', 'a\u200bb', /forbidden character U\+200B/],
    ['BOM', '\ufeffx', /forbidden character U\+FEFF/],
    ['line separator', 'a\u2028b', /forbidden character U\+2028/],
    ['lone surrogate', 'a\ud800', /forbidden character U\+D800/],
    ['1025 bytes', 'x'.repeat(1025), /1025 bytes; the limit is 1024/],
    ['1026 bytes in 342 characters', '漢'.repeat(342), /1026 bytes/],
    ['a number', 5, /must be name/],
    ['an object', { inner: 'x' }, /must be name/],
    ['an array', ['x'], /must be name/],
    ['null', null, /must be name/],
  ];

  it.each(nameFields)('%s.%s accepts ids, refs and paths, hex ones included', (type, field) => {
    for (const [what, value] of accepted) {
      expect(validateEvent(withField(type, field, value)), what).toMatchObject({ [field]: value });
    }
  });

  it.each(nameFields)('%s.%s refuses what text refuses but the hex checks', (type, field) => {
    for (const [what, value, message] of refused) {
      const error = rejection(() => validateEvent(withField(type, field, value)));
      expect(error.field, `${type}.${field} with ${what}`).toBe(field);
      expect(error.message, what).toMatch(message);
    }
  });

  it('text still refuses pointers, key material and empty values in every text field', () => {
    expect(textFields.length).toBeGreaterThan(50);
    for (const [type, field] of textFields) {
      for (const [value, message] of [
        ['0x1234abcd', /memory address/],
        ['at 0x7ffd5a3c1e20', /memory address/],
        [`sha256:${'ab'.repeat(32)}`, /key material/],
        ['', /is empty/],
        ['a\u0000b', /forbidden character/],
        ['x'.repeat(1025), /1025 bytes/],
      ] as const) {
        const error = rejection(() => validateEvent(withField(type, field, value)));
        expect(error.field, `${type}.${field}`).toBe(field);
        expect(error.message, `${type}.${field}`).toMatch(message);
      }
    }
  });

  it('accepts every value text accepts, and differs only by the hex checks (property)', () => {
    // policy_violation.detail is text, policy_violation.workerId is name: same event, two kinds.
    const base = sampleEvent('policy_violation');
    const ok = (event: object) => {
      try {
        validateEvent(event);
        return true;
      } catch (error) {
        if (error instanceof AuditValidationError) return false;
        throw error;
      }
    };
    const hexy = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.stringMatching(/^[ -~]{0,8}(0x[0-9a-f]{8,12}|[0-9a-f]{64,70})[ -~]{0,8}$/),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefx \u0000\u200b'), maxLength: 90 }),
    );
    fc.assert(
      fc.property(hexy, (value) => {
        const asText = ok({ ...base, detail: value });
        const asName = ok({ ...base, workerId: value });
        if (asText) expect(asName).toBe(true);
        if (asName && !asText) {
          expect(/\b0x[0-9a-f]{8,}\b/i.test(value) || /[0-9a-f]{64,}/i.test(value)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** [type, field, values it accepts, values it refuses] for every field added for the manager. */
const newOptionalFields: [LoggedEventType, string, unknown[], unknown[]][] = [
  ['vram_sealed', 'leafSize', [65_536, 64, 0], [-1, 1.5, '65536', 2 ** 53]],
  ['vram_sealed', 'keyId', ['1a2b3c4d5e6f7081', 'seal-key-1'], ['', 'a\nb', 'x'.repeat(1025), 7]],
  ['vram_sealed', 'shardIndex', [0, 2], [-1, 0.5, '2', null]],
  ['vram_sealed', 'totalShards', [1, 4], [-4, 4.5, '4', true]],
  ['seal_verified', 'treeRoot', ['ab'.repeat(32)], ['AB'.repeat(32), 'ab'.repeat(31), '', 5]],
  ['seal_verified', 'leafSize', [4096], [-1, '4096']],
  ['seal_verified', 'keyId', ['1a2b3c4d5e6f7081'], ['', '\u001b[2J', 'x'.repeat(1025)]],
  ['seal_verified', 'deep', [true, false], ['true', 1, 0, null]],
  ['seal_verified', 'durationMs', [0, 24], [-1, 0.25, '24']],
  [
    'seal_verification_failed',
    'check',
    ['signature', 'tree_root', 'digest', 'unknown_shard'],
    ['tree-root', 'TREE_ROOT', 'root', '', 'signature ', 1, null],
  ],
  ['seal_verification_failed', 'expectedTreeRoot', ['cd'.repeat(32)], ['cd'.repeat(33), 'x']],
  ['seal_verification_failed', 'actualTreeRoot', ['ef'.repeat(32)], ['EF'.repeat(32), '']],
  ['seal_verification_failed', 'keyId', ['1a2b3c4d5e6f7081'], ['', 'a\u202eb']],
  ['policy_violation', 'gpuDevice', [0, 7], [-1, '0', 1.5]],
  [
    'policy_violation',
    'action',
    ['seal refused and memory freed'],
    ['', 'freed\r\nforged', 'x'.repeat(1025), 'freed 0x7ffd5a3c1e20'],
  ],
  [
    'policy_violation',
    'shardId',
    ['shard-1', '0x1234abcd', 'ab'.repeat(32)],
    ['', 'a\u0000', 'x'.repeat(1025)],
  ],
  ['integrity_violation', 'shardId', ['shard-1', '0x1234abcd'], ['', 'a\u0000', 'x'.repeat(1025)]],
  ['integrity_violation', 'workerId', ['worker-gpu-17'], ['', 'w\u2029', ['w']]],
  ['integrity_violation', 'gpuDevice', [0, 3], [-1, '3']],
  ['integrity_violation', 'expectedDigest', ['ab'.repeat(32)], ['AB'.repeat(32), 'ab']],
  ['integrity_violation', 'actualDigest', ['cd'.repeat(32)], ['cd'.repeat(31), '']],
  ['path_traversal_attempt', 'workerId', ['worker-gpu-17', '0xdeadbeef'], ['', 'a\tb']],
  ['vram_manager_reset', 'stoppedBecause', ['seal verification failed'], ['', 'a\u0000']],
];

describe('optional fields added for the VRAM manager', () => {
  it.each(newOptionalFields)('%s.%s is optional', (type, field) => {
    expect(schemaOf(type).optional).toHaveProperty(field);
    expect(schemaOf(type).required).not.toHaveProperty(field);
    // The event without it still validates (it is a widening, not a new requirement).
    expect(validateEvent(sampleEvent(type))).not.toHaveProperty(field);
  });

  it.each(newOptionalFields)('%s.%s accepts its values', (type, field, good) => {
    for (const value of good) {
      expect(validateEvent(withField(type, field, value))).toMatchObject({ [field]: value });
    }
  });

  it.each(newOptionalFields)('%s.%s refuses wrong values, naming it', (type, field, _good, bad) => {
    for (const value of bad) {
      const error = rejection(() => validateEvent(withField(type, field, value)));
      expect(error.field, `${type}.${field} = ${String(value).slice(0, 40)}`).toBe(field);
    }
  });

  it('names the allowed values when a check is not one of them', () => {
    const error = rejection(() =>
      validateEvent(withField('seal_verification_failed', 'check', 'tree-root')),
    );
    expect(error.message).toMatch(/one of "signature", "tree_root", "digest", "unknown_shard"/);
  });

  it('vram_allocation_failed got nothing new', () => {
    expect(schemaOf('vram_allocation_failed').optional).toBeUndefined();
    expect(
      rejection(() => validateEvent(withField('vram_allocation_failed', 'keyId', 'k'))).field,
    ).toBe('keyId');
  });

  it('the new fields type-check as part of AuditEvent and validate together', () => {
    const events: AuditEvent[] = [
      {
        type: 'vram_sealed',
        shardId: '0x1234abcd',
        gpuDevice: 0,
        vramBytes: 1_073_741_824,
        digest: 'ab'.repeat(32),
        workerId: 'worker-gpu-17',
        modelRef: `sha256:${'cd'.repeat(32)}`,
        treeRoot: 'ef'.repeat(32),
        leafSize: 65_536,
        keyId: '1a2b3c4d5e6f7081',
        shardIndex: 2,
        totalShards: 4,
      },
      {
        type: 'seal_verified',
        shardId: 'llama-3-8b/shard-00002',
        gpuDevice: 0,
        digest: 'ab'.repeat(32),
        workerId: 'worker-gpu-17',
        treeRoot: 'ef'.repeat(32),
        leafSize: 65_536,
        keyId: '1a2b3c4d5e6f7081',
        deep: true,
        durationMs: 24,
      },
      {
        type: 'seal_verification_failed',
        shardId: 'llama-3-8b/shard-00002',
        gpuDevice: 0,
        workerId: 'worker-gpu-17',
        reason: 'tree root differs from the sealed one',
        check: 'tree_root',
        expectedTreeRoot: 'ef'.repeat(32),
        actualTreeRoot: '01'.repeat(32),
        keyId: '1a2b3c4d5e6f7081',
      },
      {
        type: 'policy_violation',
        policy: 'vram-only',
        workerId: 'worker-gpu-17',
        detail: 'allocation is host memory',
        gpuDevice: 0,
        action: 'seal refused and memory freed',
      },
      {
        type: 'integrity_violation',
        component: 'vram-manager',
        detail: 'digest mismatch on deep verify',
        shardId: 'llama-3-8b/shard-00002',
        workerId: 'worker-gpu-17',
        gpuDevice: 0,
        expectedDigest: 'ab'.repeat(32),
        actualDigest: 'cd'.repeat(32),
      },
      {
        type: 'path_traversal_attempt',
        actor: 'api',
        path: '../../models/0x1234abcd',
        workerId: 'worker-gpu-17',
      },
      {
        type: 'vram_manager_reset',
        operator: 'oncall-alice',
        reason: 'memory replaced after the bit-flip investigation',
        workerId: 'worker-gpu-17',
        stoppedBecause: 'seal verification failed on llama-3-8b/shard-00002',
      },
    ];
    for (const event of events) expect(validateEvent(event)).toEqual(event);
    const wrongCheck: AuditEvent = {
      type: 'seal_verification_failed',
      shardId: 'llama-3-8b/shard-00002',
      gpuDevice: 0,
      workerId: 'worker-gpu-17',
      reason: 'tree root differs',
      // @ts-expect-error: `check` is one of the four checks, not any string
      check: 'tree-root',
    };
    expect(() => validateEvent(wrongCheck)).toThrow(AuditValidationError);
  });
});

describe('vram_manager_reset', () => {
  it('is a critical vram event with the documented fields', () => {
    expect(EVENT_SCHEMAS.vram_manager_reset).toEqual({
      category: 'vram',
      severity: 'critical',
      description: 'An operator reset a stopped VRAM manager so it seals and verifies again.',
      required: { operator: 'text', reason: 'text', workerId: 'name' },
      optional: { stoppedBecause: 'text' },
    });
  });

  it('refuses to be emitted without its operator, reason or worker', () => {
    const full = {
      type: 'vram_manager_reset',
      operator: 'oncall-alice',
      reason: 'hardware replaced',
      workerId: 'worker-gpu-17',
    };
    for (const field of ['operator', 'reason', 'workerId']) {
      const event: Record<string, unknown> = { ...full };
      delete event[field];
      expect(rejection(() => validateEvent(event)).field).toBe(field);
    }
    expect(rejection(() => validateEvent({ ...full, operator: 'root\u001b[2J' })).field).toBe(
      'operator',
    );
    expect(rejection(() => validateEvent({ ...full, force: true })).field).toBe('force');
  });
});
