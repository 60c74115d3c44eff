import { inspect, isDeepStrictEqual } from 'node:util';
import {
  containsSecret,
  isValidCorrelationId,
  type NarrationEvent,
} from '@vramseal/narration-core';
import { fieldAt, stringsIn } from '@vramseal/narration-core/testing';

/**
 * Assertions on narration events, usable from any test runner: each throws an AssertionError-like
 * Error whose message shows what was expected and the events that were there.
 */

/** Some event's `human`, `cute` or `story` contains `text`. Returns the first such event. */
export function assertNarrationIncludes(
  events: readonly NarrationEvent[],
  text: string,
): NarrationEvent {
  const found = events.find((event) =>
    [event.human, event.cute, event.story].some((v) => typeof v === 'string' && v.includes(text)),
  );
  if (!found) fail(`no narration event's human/cute/story includes ${inspect(text)}`, events);
  return found;
}

/** Fields an event must have: dotted paths ("context.bytes") mapped to expected values. */
export type ExpectedFields = Readonly<Record<string, unknown>>;

/**
 * Some event has `action` and every field in `fields` (compared with the event's value; a string
 * expectation also matches a number or boolean printed the same way, as Gherkin tables give text).
 */
export function assertNarrationEvent(
  events: readonly NarrationEvent[],
  action: string,
  fields: ExpectedFields = {},
): NarrationEvent {
  const candidates = events.filter((event) => event.action === action);
  if (candidates.length === 0) fail(`no narration event has action ${inspect(action)}`, events);
  const found = candidates.find((event) =>
    Object.entries(fields).every(([path, want]) => fieldMatches(fieldAt(event, path), want)),
  );
  if (!found) {
    fail(`no ${inspect(action)} event has ${inspect(fields)}`, candidates);
  }
  return found;
}

/** No event has `action`. */
export function assertNoNarrationEvent(events: readonly NarrationEvent[], action: string): void {
  const found = events.filter((event) => event.action === action);
  if (found.length > 0) fail(`expected no ${inspect(action)} event, found ${found.length}`, found);
}

/** There are events, and every one carries `correlationId`. */
export function assertCorrelationId(
  events: readonly NarrationEvent[],
  correlationId: string,
): void {
  if (!isValidCorrelationId(correlationId)) {
    throw new Error(`${inspect(correlationId)} is not a valid correlation id (a UUID v4)`);
  }
  if (events.length === 0) fail('no narration events were written', events);
  const stray = events.filter((event) => event.correlation_id !== correlationId);
  if (stray.length > 0) {
    fail(`${stray.length} of ${events.length} events do not carry ${correlationId}`, stray);
  }
}

/**
 * No event holds any of `knownSecrets` (the literal tokens and key bytes, in text, hex and base64)
 * nor a value the redaction rules recognise as a secret. The secret itself is never printed.
 */
export function assertNoSecretsInNarration(
  events: readonly NarrationEvent[],
  knownSecrets: readonly string[],
): void {
  for (const event of events) {
    const leaked = knownSecrets.findIndex(
      (secret) => secret.length > 0 && eventShows(event, secret),
    );
    // Only where: showing the event would print the secret into the test log.
    const where = `the ${event.action} event of ${event.actor}`;
    if (leaked >= 0) fail(`known secret #${leaked + 1} appears in ${where}`, []);
    for (const value of stringsIn(event)) {
      if (containsSecret(value)) fail(`${where} holds a value that looks like a secret`, []);
    }
  }
}

/** A device pointer in hex (0x7f3a...) or an allocation handle: never part of any output. */
const POINTER = /\b0x[0-9a-f]{6,}\b/i;
const HANDLE_WORDS = /\b(?:devicePointer|device_ptr|dptr|cudaIpcMemHandle|handle)\b/i;

/** The first place in `text` that looks like a device pointer or a handle, or undefined. */
export function findPointerOrHandle(text: string): string | undefined {
  return POINTER.exec(text)?.[0] ?? HANDLE_WORDS.exec(text)?.[0];
}

export function assertNoPointersInNarration(events: readonly NarrationEvent[]): void {
  for (const event of events) {
    const found = findPointerOrHandle(JSON.stringify(event));
    if (found) fail(`a narration event shows ${inspect(found)}`, [event]);
  }
}

/** Equal, or a Gherkin string that prints the same as the number/boolean found. */
export function fieldMatches(actual: unknown, expected: unknown): boolean {
  if (isDeepStrictEqual(actual, expected)) return true;
  return (
    typeof expected === 'string' &&
    (typeof actual === 'number' || typeof actual === 'boolean') &&
    String(actual) === expected
  );
}

/**
 * An event as text, every way it could show something: its JSON line (what a log shipper stores)
 * and each of its keys and string values decoded (what a terminal shows). Searching only the JSON
 * would miss a newline or a quote, which JSON escapes.
 */
export function eventTexts(event: object): string[] {
  return [JSON.stringify(event), ...stringsIn(event)];
}

/** Whether `text` appears anywhere in the event, as stored or as shown. */
export function eventShows(event: object, text: string): boolean {
  return eventTexts(event).some((shown) => shown.includes(text));
}

function fail(what: string, events: readonly NarrationEvent[]): never {
  const shown = events
    .slice(0, 25)
    .map((e) => `  ${e.level} ${e.actor} ${e.action} ${e.target ?? ''}: ${e.human}`)
    .join('\n');
  const more = events.length > 25 ? `\n  ... and ${events.length - 25} more` : '';
  throw new Error(events.length > 0 ? `${what}. Narration:\n${shown}${more}` : `${what}.`);
}

// Re-exported for the step files: one definition, narration-core's.
export { fieldAt, stringsIn };
