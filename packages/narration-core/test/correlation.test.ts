import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  correlationFromHeaders,
  createNarrator,
  currentCorrelation,
  currentCorrelationId,
  injectCorrelationHeaders,
  isValidCorrelationId,
  NarrationError,
  newCorrelationId,
  parseTraceparent,
  withCorrelation,
} from '@vramseal/narration-core';
import { describe, expect, it } from 'vitest';
import { basicFields, memoryDestination } from './helpers.js';

const VALID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('correlation ids', () => {
  it('newCorrelationId makes distinct, valid UUID v4 ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newCorrelationId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(isValidCorrelationId(id)).toBe(true);
    }
  });

  it.each([
    ['version nibble 1', '0f8fad5b-d9cb-169f-a165-70867728950e'],
    ['version nibble 7', '0f8fad5b-d9cb-769f-a165-70867728950e'],
    ['variant nibble 0 (NCS)', '0f8fad5b-d9cb-469f-0165-70867728950e'],
    ['variant nibble c (Microsoft)', '0f8fad5b-d9cb-469f-c165-70867728950e'],
    ['variant nibble f', '0f8fad5b-d9cb-469f-f165-70867728950e'],
    ['nil UUID', '00000000-0000-0000-0000-000000000000'],
    ['missing dashes', '0f8fad5bd9cb469fa16570867728950e'],
    ['braces', '{0f8fad5b-d9cb-469f-a165-70867728950e}'],
    ['trailing newline', `${VALID}\n`],
    ['injection attempt', `${VALID}"},"level":"fatal`],
    ['not hex', '0f8fad5b-d9cb-469f-a165-70867728950g'],
    ['empty', ''],
  ])('isValidCorrelationId rejects %s', (_name, value) => {
    expect(isValidCorrelationId(value)).toBe(false);
  });

  it('isValidCorrelationId accepts every variant nibble 8, 9, a, b and upper case', () => {
    for (const nibble of ['8', '9', 'a', 'b', 'A', 'B']) {
      expect(isValidCorrelationId(`0f8fad5b-d9cb-469f-${nibble}165-70867728950e`)).toBe(true);
    }
    expect(isValidCorrelationId(VALID.toUpperCase())).toBe(true);
    expect(isValidCorrelationId(42)).toBe(false);
    expect(isValidCorrelationId(undefined)).toBe(false);
  });
});

describe('withCorrelation', () => {
  it('is undefined outside, set inside, and returns what fn returns', () => {
    expect(currentCorrelationId()).toBeUndefined();
    const result = withCorrelation(VALID, () => currentCorrelationId());
    expect(result).toBe(VALID);
    expect(currentCorrelationId()).toBeUndefined();
  });

  it('follows awaits, timers, setImmediate, queueMicrotask and event emitters', async () => {
    const seen: Array<string | undefined> = [];
    const emitter = new EventEmitter();
    emitter.on('tick', () => seen.push(currentCorrelationId()));
    await withCorrelation(VALID, async () => {
      await sleep(1);
      seen.push(currentCorrelationId());
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          seen.push(currentCorrelationId());
          resolve();
        }, 1),
      );
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          seen.push(currentCorrelationId());
          resolve();
        }),
      );
      await new Promise<void>((resolve) =>
        queueMicrotask(() => {
          seen.push(currentCorrelationId());
          resolve();
        }),
      );
      emitter.emit('tick');
    });
    expect(seen).toEqual([VALID, VALID, VALID, VALID, VALID]);
  });

  it('keeps concurrent requests apart, and nested calls restore the outer id', async () => {
    const out = memoryDestination();
    const narrator = createNarrator({ actor: 'gateway', destination: out });
    const ids = Array.from({ length: 50 }, () => newCorrelationId());
    await Promise.all(
      ids.map((id, i) =>
        withCorrelation(id, async () => {
          await sleep(i % 7);
          narrator.info({ ...basicFields, target: `request-${i}` });
          await sleep((i * 3) % 5);
          const inner = newCorrelationId();
          withCorrelation(inner, () => expect(currentCorrelationId()).toBe(inner));
          expect(currentCorrelationId()).toBe(id);
          narrator.info({ ...basicFields, target: `request-${i}` });
        }),
      ),
    );
    const events = out.events();
    expect(events).toHaveLength(100);
    for (const event of events) {
      const i = Number(event.target.slice('request-'.length));
      expect(event.correlation_id).toBe(ids[i]);
    }
  });

  it('an explicit correlation_id on the event wins over the context', () => {
    const out = memoryDestination();
    const narrator = createNarrator({ actor: 'gateway', destination: out });
    const other = newCorrelationId();
    withCorrelation(VALID, () => narrator.info({ ...basicFields, correlation_id: other }));
    expect(out.events()[0]?.correlation_id).toBe(other);
  });

  it('rejects an invalid id with a typed error that names the argument', () => {
    const call = () => withCorrelation('not-a-uuid', () => 1);
    expect(call).toThrow(NarrationError);
    expect(call).toThrow(/UUID v4/);
    try {
      call();
    } catch (error) {
      expect((error as NarrationError).code).toBe('INVALID_CORRELATION_ID');
      expect((error as NarrationError).argument).toBe('correlation');
    }
    expect(() =>
      withCorrelation({ correlationId: VALID, traceparent: 'garbage' }, () => 1),
    ).toThrow(/traceparent/);
  });

  it('rejects a non-function with INVALID_ARGUMENT naming fn', () => {
    expect(() => withCorrelation(VALID, 'run' as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'fn' }),
    );
  });

  it('normalises an upper-case id to lower case', () => {
    expect(withCorrelation(VALID.toUpperCase(), () => currentCorrelationId())).toBe(VALID);
  });
});

describe('correlationFromHeaders', () => {
  it('keeps a valid X-Correlation-Id, in any header case and header shape', () => {
    expect(correlationFromHeaders({ 'x-correlation-id': VALID }).correlationId).toBe(VALID);
    expect(correlationFromHeaders({ 'X-Correlation-Id': VALID }).correlationId).toBe(VALID);
    expect(correlationFromHeaders(new Headers({ 'X-CORRELATION-ID': VALID })).correlationId).toBe(
      VALID,
    );
    expect(correlationFromHeaders({ 'x-correlation-id': [VALID, VALID] }).correlationId).toBe(
      VALID,
    );
  });

  it.each([
    ['missing', {}],
    ['malformed', { 'x-correlation-id': 'abc' }],
    ['log injection', { 'x-correlation-id': `${VALID}\n{"level":"fatal"}` }],
    ['two different values', { 'x-correlation-id': [VALID, newCorrelationId()] }],
    ['wrong version', { 'x-correlation-id': '0f8fad5b-d9cb-169f-a165-70867728950e' }],
    ['oversized', { 'x-correlation-id': 'a'.repeat(10_000) }],
  ])('replaces a %s id with a fresh one and never echoes it', (_name, headers) => {
    const { correlationId } = correlationFromHeaders(headers);
    expect(isValidCorrelationId(correlationId)).toBe(true);
    const incoming = (headers as Record<string, unknown>)['x-correlation-id'];
    if (typeof incoming === 'string') expect(correlationId).not.toBe(incoming);
    expect(correlationFromHeaders(headers).correlationId).not.toBe(correlationId);
  });

  it('trims optional whitespace around a valid id (RFC 9110 section 5.5), keeping it', () => {
    expect(correlationFromHeaders({ 'x-correlation-id': ` ${VALID}\t` }).correlationId).toBe(VALID);
  });

  it('ignores header values that are not strings, replacing the id', () => {
    for (const value of [42, { id: VALID }, [VALID, 7], [], null]) {
      const { correlationId } = correlationFromHeaders({ 'x-correlation-id': value } as never);
      expect(isValidCorrelationId(correlationId)).toBe(true);
      expect(correlationId).not.toBe(VALID);
    }
  });

  it('a missing headers object is a typed error naming `headers`, in both directions', () => {
    for (const call of [
      () => correlationFromHeaders(undefined as never),
      () => correlationFromHeaders(null as never),
      () => injectCorrelationHeaders(undefined as never),
    ]) {
      expect(call).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'headers' }),
      );
      expect(call).toThrow(/pass \{\} when there are none/);
    }
  });

  it('keeps a valid traceparent and drops an invalid one', () => {
    expect(correlationFromHeaders({ traceparent: TRACEPARENT }).traceparent).toBe(TRACEPARENT);
    for (const bad of [
      'garbage',
      TRACEPARENT.toUpperCase(),
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      `${TRACEPARENT}-extra`,
    ]) {
      expect(correlationFromHeaders({ traceparent: bad }).traceparent).toBeUndefined();
    }
  });

  it('parseTraceparent reads the fields, and accepts future versions with extra fields', () => {
    expect(parseTraceparent(TRACEPARENT)).toEqual({
      version: '00',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
    });
    expect(parseTraceparent(`01-${TRACEPARENT.slice(3)}-what-comes-next`)?.version).toBe('01');
  });
});

describe('injectCorrelationHeaders', () => {
  it('writes the current id (and traceparent) into a plain object, replacing any case variant', () => {
    const headers: Record<string, unknown> = { 'X-Correlation-ID': 'stale', accept: 'json' };
    withCorrelation({ correlationId: VALID, traceparent: TRACEPARENT }, () =>
      injectCorrelationHeaders(headers),
    );
    expect(headers).toEqual({
      accept: 'json',
      'x-correlation-id': VALID,
      traceparent: TRACEPARENT,
    });
  });

  it('writes into a Fetch Headers object', () => {
    const headers = withCorrelation(VALID, () => injectCorrelationHeaders(new Headers()));
    expect(headers.get('X-Correlation-Id')).toBe(VALID);
    expect(headers.has('traceparent')).toBe(false);
  });

  it('outside any correlation it sends a fresh valid id', () => {
    const headers = injectCorrelationHeaders({} as Record<string, string>);
    expect(isValidCorrelationId(headers['x-correlation-id'])).toBe(true);
  });

  it('round-trips: the receiving side continues the same correlation', () => {
    const headers = withCorrelation(VALID, () => injectCorrelationHeaders({}));
    const received = correlationFromHeaders(headers as Record<string, string>);
    expect(received.correlationId).toBe(VALID);
    expect(withCorrelation(received, () => currentCorrelation()?.correlationId)).toBe(VALID);
  });
});
