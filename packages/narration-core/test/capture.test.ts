import { setTimeout as sleep } from 'node:timers/promises';
import {
  createNarrator,
  NarrationError,
  newCorrelationId,
  withCorrelation,
} from '@vramseal/narration-core';
import { captureNarration, fieldAt, stringsIn } from '@vramseal/narration-core/testing';
import { describe, expect, it } from 'vitest';
import { basicFields, THIS_PACKAGE } from './helpers.js';

// One narrator shared by every test in this file, as a module-level narrator in a service
// would be: isolation must come from capture scoping, not from separate narrators.
const narrator = createNarrator({ actor: 'shared', destination: { write() {} } });

describe.concurrent('capture isolation under concurrent tests', () => {
  for (let n = 0; n < 8; n++) {
    it(`test ${n} sees only its own events`, async () => {
      const capture = await captureNarration(async () => {
        for (let i = 0; i < 5; i++) {
          narrator.info({ ...basicFields, target: `test-${n}`, human: `Event ${i} of test ${n}.` });
          await sleep((n * 7 + i) % 4);
        }
        return n;
      });
      expect(capture.result).toBe(n);
      expect(capture.events).toHaveLength(5);
      expect(capture.events.every((event) => event.target === `test-${n}`)).toBe(true);
    });
  }
});

describe('captureNarration', () => {
  it('returns events exactly as written: sanitised, redacted, with level and provenance', async () => {
    const capture = await captureNarration(() =>
      narrator.warn({
        ...basicFields,
        human: 'Retry with token=abc123\nnow.',
        context: { attempt: { n: 2 } },
      }),
    );
    expect(capture.events).toHaveLength(1);
    expect(capture.events[0]).toMatchObject({
      level: 'warn',
      actor: 'shared',
      human: 'Retry with token=[REDACTED] now.',
      emitted_by: THIS_PACKAGE,
    });
    expect(Object.isFrozen(capture.events)).toBe(true);
    expect(Object.isFrozen(capture.events[0])).toBe(true);
    const context = capture.events[0]?.context as { attempt: object };
    expect(Object.isFrozen(context.attempt)).toBe(true);
  });

  it('sees events from timers started inside, but nothing after it returned', async () => {
    let late: Promise<void> | undefined;
    const capture = await captureNarration(async () => {
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          narrator.info({ ...basicFields, human: 'From a timer.' });
          resolve();
        }, 1),
      );
      late = sleep(5).then(() => narrator.info({ ...basicFields, human: 'Too late.' }));
    });
    await late;
    expect(capture.events.map((event) => event.human)).toEqual(['From a timer.']);
  });

  it('nested captures: the outer one sees the inner events too', async () => {
    let inner: Awaited<ReturnType<typeof captureNarration>> | undefined;
    const outer = await captureNarration(async () => {
      narrator.info({ ...basicFields, human: 'Outer.' });
      inner = await captureNarration(() => narrator.info({ ...basicFields, human: 'Inner.' }));
    });
    expect(inner?.events.map((event) => event.human)).toEqual(['Inner.']);
    expect(outer.events.map((event) => event.human)).toEqual(['Outer.', 'Inner.']);
  });

  it('re-throws what fn throws', async () => {
    await expect(
      captureNarration(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
  });

  it('rejects a non-function with INVALID_ARGUMENT', async () => {
    await expect(captureNarration(42 as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'fn',
    });
  });
});

describe('assertions', () => {
  const id = newCorrelationId();
  const capturing = () =>
    captureNarration(() =>
      withCorrelation(id, () => {
        narrator.info({ ...basicFields, cute: 'Tucked in! 🛏️', context: { bytes: 1024 } });
        narrator.error({ ...basicFields, action: 'verify', human: 'Seal mismatch on shard 0.' });
      }),
    );

  it('pass when the events match', async () => {
    const capture = await capturing();
    capture.assertIncludes('Seal mismatch');
    capture.assertIncludes('Tucked in');
    capture.assertField('action', 'verify');
    capture.assertField('level', 'error');
    capture.assertField('context.bytes', 1024);
    capture.assertField('context', { bytes: 1024 });
    capture.assertCorrelationIdPresent();
    capture.assertCorrelationIdPresent(id);
    capture.assertNoSecrets(['hunter2']);
  });

  it('fail with ASSERTION_FAILED and a list of what was captured', async () => {
    const capture = await capturing();
    const failure = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(NarrationError);
        expect((error as NarrationError).code).toBe('ASSERTION_FAILED');
        return (error as NarrationError).message;
      }
      throw new Error('assertion did not fail');
    };
    expect(failure(() => capture.assertIncludes('never said'))).toMatch(/Seal mismatch on shard 0/);
    expect(failure(() => capture.assertField('action', 'allocate'))).toMatch(/action = 'allocate'/);
    expect(failure(() => capture.assertField('context.bytes', 2048))).toMatch(/context.bytes/);
    expect(failure(() => capture.assertCorrelationIdPresent(newCorrelationId()))).toMatch(
      /expected/,
    );
  });

  it('assertCorrelationIdPresent fails for events without a correlation, or no events', async () => {
    const without = await captureNarration(() => narrator.info(basicFields));
    expect(() => without.assertCorrelationIdPresent()).toThrow(/no valid correlation_id/);
    const empty = await captureNarration(() => undefined);
    expect(() => empty.assertCorrelationIdPresent()).toThrow(/no events/);
  });

  it('assertNoSecrets catches a known secret that slipped through, without printing it', async () => {
    // "s3cr3tvalue" is not recognisable as a secret by pattern; the test names it explicitly.
    const capture = await captureNarration(() =>
      narrator.info({ ...basicFields, worker_id: 's3cr3tvalue' }),
    );
    capture.assertNoSecrets();
    let message = '';
    try {
      capture.assertNoSecrets(['s3cr3tvalue']);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/known secret \(11 chars\)/);
    expect(message).not.toContain('s3cr3tvalue');
  });
});

describe('fieldAt and stringsIn (exported for assertions of your own)', () => {
  const event = {
    action: 'seal',
    'context.raw': 1,
    context: { bytes: 42, nested: { note: 'a\nb' } },
  };

  it('fieldAt reads a top-level field, a dotted path, and says undefined for a missing part', () => {
    expect(fieldAt(event, 'action')).toBe('seal');
    expect(fieldAt(event, 'context.raw')).toBe(1); // a key with a dot wins over the path
    expect(fieldAt(event, 'context.bytes')).toBe(42);
    expect(fieldAt(event, 'context.nested.note')).toBe('a\nb');
    expect(fieldAt(event, 'context.missing.deeper')).toBeUndefined();
  });

  it('stringsIn yields every key and string value, decoded', () => {
    expect([...stringsIn(event)]).toEqual([
      'action',
      'seal',
      'context.raw',
      'context',
      'bytes',
      'nested',
      'note',
      'a\nb',
    ]);
  });
});
