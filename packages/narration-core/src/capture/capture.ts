import { inspect, isDeepStrictEqual } from 'node:util';
import { isValidCorrelationId } from '../correlation/correlation-id.js';
import { NarrationError } from '../errors/narration-error.js';
import type { NarrationEvent } from '../event/fields.js';
import { containsSecret } from '../redaction/secrets.js';
import { type CaptureScope, captureScope } from './scope.js';

/** The events one `captureNarration` call saw, the callback's result, and assertions on them. */
export interface NarrationCapture<T = unknown> {
  /** Events emitted inside the callback, in order, exactly as written (frozen). */
  readonly events: readonly NarrationEvent[];
  /** What the callback returned (awaited). */
  readonly result: T;
  /** Some event's `human`, `cute` or `story` contains `text`. */
  assertIncludes(text: string): void;
  /** Some event has `name` (a dotted path such as "context.bytes" works too) deep-equal to `value`. */
  assertField(name: string, value: unknown): void;
  /** Every event has a valid correlation id; equal to `expected` when given. */
  assertCorrelationIdPresent(expected?: string): void;
  /**
   * No string anywhere in any event still holds something the redaction patterns recognise,
   * nor any of `knownSecrets` (the literal secrets your test used) anywhere in the output.
   */
  assertNoSecrets(knownSecrets?: readonly string[]): void;
}

/**
 * Runs `fn` and returns the narration events emitted inside it (and inside everything it awaits
 * or schedules while it runs), from any narrator. Scoped with AsyncLocalStorage: captures
 * running concurrently, for example in `it.concurrent` tests, never see each other's events.
 * Nested captures: the inner one's events are seen by the outer one too. Events written after
 * `fn` settles are not captured. If `fn` throws, the error is re-thrown.
 */
export async function captureNarration<T>(fn: () => T | Promise<T>): Promise<NarrationCapture<T>> {
  if (typeof fn !== 'function') {
    throw new NarrationError(
      'INVALID_ARGUMENT',
      'captureNarration(): `fn` must be a function that narrates, e.g. () => narrator.info({...}).',
      { argument: 'fn' },
    );
  }
  const scope: CaptureScope = { events: [], parent: captureScope.getStore(), open: true };
  try {
    const result = await captureScope.run(scope, fn);
    return makeCapture(Object.freeze([...scope.events]) as readonly NarrationEvent[], result);
  } finally {
    scope.open = false;
  }
}

function makeCapture<T>(events: readonly NarrationEvent[], result: T): NarrationCapture<T> {
  return {
    events,
    result,
    assertIncludes(text) {
      const found = events.some((event) =>
        [event.human, event.cute, event.story].some(
          (value) => typeof value === 'string' && value.includes(text),
        ),
      );
      if (!found) fail(`no event's human/cute/story includes ${inspect(text)}`, events);
    },
    assertField(name, value) {
      const found = events.some((event) => isDeepStrictEqual(fieldAt(event, name), value));
      if (!found) fail(`no event has ${name} = ${inspect(value)}`, events);
    },
    assertCorrelationIdPresent(expected) {
      if (events.length === 0) fail('no events were captured', events);
      for (const event of events) {
        const id = event.correlation_id;
        if (!isValidCorrelationId(id)) fail(`an event has no valid correlation_id`, [event]);
        if (expected !== undefined && id !== expected) {
          fail(`an event has correlation_id ${id}, expected ${expected}`, [event]);
        }
      }
    },
    assertNoSecrets(knownSecrets = []) {
      for (const event of events) {
        const text = JSON.stringify(event);
        for (const secret of knownSecrets) {
          // The secret itself is never printed: that would put it in the test log.
          if (secret.length > 0 && text.includes(secret)) {
            fail(`a known secret (${secret.length} chars) appears in an event`, []);
          }
        }
        for (const value of stringsIn(event)) {
          if (containsSecret(value)) fail('an event holds a value that looks like a secret', []);
        }
      }
    },
  };
}

/**
 * The value at `path` in an event: a top-level field, or a dotted path into nested objects
 * ("context.bytes"); undefined when any part is missing.
 */
export function fieldAt(event: object, path: string): unknown {
  if (Object.hasOwn(event, path)) return (event as unknown as Record<string, unknown>)[path];
  let value: unknown = event;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part))
      return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Every key and string value in `value`, depth first, decoded (what a reader would see). */
export function* stringsIn(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      yield key;
      yield* stringsIn(item);
    }
  }
}

function fail(what: string, events: readonly NarrationEvent[]): never {
  const shown = events
    .slice(0, 20)
    .map(
      (event) => `  ${event.level} ${event.actor} ${event.action} ${event.target}: ${event.human}`,
    )
    .join('\n');
  throw new NarrationError(
    'ASSERTION_FAILED',
    events.length > 0 ? `${what}. Captured events:\n${shown}` : `${what}.`,
  );
}
