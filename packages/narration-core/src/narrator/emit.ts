import type pino from 'pino';
import { recordWrittenEvent } from '../capture/scope.js';
import { currentCorrelation } from '../correlation/context.js';
import { NarrationError } from '../errors/narration-error.js';
import {
  cleanContext,
  cleanIdentifier,
  cleanString,
  codePointLength,
  truncateCodePoints,
} from '../event/clean.js';
import {
  FIELD_KINDS,
  HUMAN_MAX_CHARS,
  type NarrationBindings,
  type NarrationFields,
  type NarrationLevel,
} from '../event/fields.js';
import type { Admission, RateLimiter } from '../sampling/rate-limiter.js';
import { activeSpan } from '../tracing/otel.js';

/** What to do with an event that breaks the field rules (see README, "Invalid events"). */
export type InvalidEventPolicy = 'throw' | 'repair';

/** State shared by a narrator and all its children. */
export interface NarratorCore {
  readonly logger: pino.Logger;
  readonly minLevel: number;
  readonly limiter: RateLimiter | undefined;
  readonly policy: InvalidEventPolicy;
  readonly emittedBy: string;
  /** Writing through an application's logger: `human` is the message, not a field. */
  readonly humanAsMessage: boolean;
}

/** One narrator (a root or a child): who speaks, through which logger, with which bindings. */
export interface Voice {
  readonly core: NarratorCore;
  readonly actor: string;
  /** `core.logger` with the actor bound, so the actor is serialised once, not per event. */
  readonly actorLogger: pino.Logger;
  readonly bindings: Readonly<Record<string, unknown>>;
  readonly bindingKeys: readonly string[];
}

/**
 * The defects of one event, under one policy: 'throw' stops at the first one, 'repair' notes it
 * and goes on. Made per event, so an event built while another is (a context getter that
 * narrates) has its own list; the list itself is made only when there is a defect.
 */
class Defects {
  list: string[] | undefined;

  constructor(readonly policy: InvalidEventPolicy) {}

  note(code: string, error: () => NarrationError): void {
    if (this.policy === 'throw') throw error();
    if (this.list === undefined) this.list = [code];
    else this.list.push(code);
  }
}

/**
 * The hot path: one call per written event. It allocates the event object and little else;
 * identifier-like strings are cleaned through a cache; work is skipped as early as possible.
 */
export function emit(voice: Voice, level: NarrationLevel, fields: NarrationFields): void {
  const { core, bindings } = voice;
  const defects = new Defects(core.policy);
  if (typeof fields !== 'object' || fields === null) {
    // Repaired as an empty object: the missing required fields are the defects noted.
    if (core.policy === 'throw') throw invalidEvent('fields', 'must be an object');
    fields = {} as NarrationFields;
  }
  const input = fields as unknown as Record<string, unknown>;
  const actor =
    fields.actor === undefined ? voice.actor : requiredField(defects, 'actor', fields.actor);
  const action = requiredField(defects, 'action', fields.action ?? bindings.action);
  const target = requiredField(defects, 'target', fields.target ?? bindings.target);

  let admission: Admission | undefined;
  if (core.limiter !== undefined) {
    admission = core.limiter.admit(actor, action, Date.now);
    if (admission === undefined) return;
  }

  const human = humanField(defects, fields.human, actor, action, target);
  const ownActor = actor === voice.actor;
  const event: Record<string, unknown> = ownActor
    ? { action, target, human }
    : { actor, action, target, human };
  for (const key of voice.bindingKeys) {
    if (input[key] === undefined) event[key] = bindings[key];
  }
  for (const key in input) {
    const value = input[key];
    if (value === undefined) continue;
    // Fast paths for the common, valid cases; everything else goes through copyField.
    const kind = FIELD_KINDS.get(key);
    if (kind === 'string' && typeof value === 'string') event[key] = cleanIdentifier(value);
    else if (kind === 'number' && typeof value === 'number' && Number.isFinite(value)) {
      event[key] = value;
    } else if (kind !== 'required') copyField(defects, event, key, value, bindings);
  }
  addCorrelation(event);
  if (admission !== undefined) addDropCounts(event, admission);
  if (defects.list !== undefined) event.narration_defects = defects.list;
  const logger = ownActor ? voice.actorLogger : core.logger;
  if (!core.humanAsMessage) {
    logger[level](event);
    return;
  }
  // The application's logger writes to the application's stream, which capture cannot see: the
  // event is recorded here instead, as narration would have written it.
  recordWrittenEvent(() => ({ level, emitted_by: core.emittedBy, actor: voice.actor, ...event }));
  const { human: message, ...rest } = event;
  logger[level](rest, message as string);
}

function addDropCounts(event: Record<string, unknown>, admission: Admission): void {
  if (admission.dropped > 0) event.dropped_count = admission.dropped;
  if (admission.droppedOther > 0) event.dropped_other_count = admission.droppedOther;
}

/**
 * True for "" and for text of spaces only. Checked after cleaning: sanitising turns control
 * characters into spaces and removes invisible ones, so "\n" or "\u200b" says nothing either.
 */
function isBlank(text: string): boolean {
  return text.length === 0 || (text.charCodeAt(0) === 32 && text.trim().length === 0);
}

function requiredField(defects: Defects, name: string, value: unknown): string {
  if (typeof value === 'string') {
    const clean = cleanIdentifier(value);
    if (!isBlank(clean)) return clean;
  }
  const problem = value === undefined || typeof value === 'string' ? 'missing' : 'not_a_string';
  defects.note(`${problem}:${name}`, () =>
    invalidEvent(name, `is ${problem === 'missing' ? 'missing or blank' : 'not a string'}`),
  );
  return 'unknown';
}

function humanField(
  defects: Defects,
  value: unknown,
  actor: string,
  action: string,
  target: string,
): string {
  const written = typeof value === 'string' ? value : '';
  const human = cleanString(written);
  if (isBlank(human)) {
    const problem = typeof value === 'string' || value === undefined ? 'missing' : 'not_a_string';
    defects.note(`${problem}:human`, () =>
      invalidEvent('human', 'is missing; describe what happened in one plain sentence'),
    );
    return `${actor} ${action} ${target}.`;
  }
  // The limit is on the sentence the caller wrote. Redaction can lengthen it ("token=a" becomes
  // "token=[REDACTED]") and sanitising can shorten it, so either form within the limit passes:
  // whether an event is accepted must not depend on a secret's length.
  if (codePointLength(human, HUMAN_MAX_CHARS) <= HUMAN_MAX_CHARS) return human;
  const length = codePointLength(written, HUMAN_MAX_CHARS);
  if (length <= HUMAN_MAX_CHARS) return human;
  defects.note('too_long:human', () =>
    invalidEvent(
      'human',
      `is ${length} characters; the limit is ${HUMAN_MAX_CHARS}. Keep it to one short ` +
        'sentence and put the detail in `story` or `context`',
    ),
  );
  return truncateCodePoints(human, HUMAN_MAX_CHARS);
}

function copyField(
  defects: Defects,
  event: Record<string, unknown>,
  key: string,
  value: unknown,
  bindings: Readonly<Record<string, unknown>>,
): void {
  switch (FIELD_KINDS.get(key)) {
    case 'required':
      return; // already placed first
    case 'string':
      if (typeof value === 'string') event[key] = cleanIdentifier(value);
      else rejectField(defects, key, 'must be a string');
      return;
    case 'text':
      if (typeof value === 'string') event[key] = cleanString(value);
      else rejectField(defects, key, 'must be a string');
      return;
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) event[key] = value;
      else rejectField(defects, key, 'must be a finite number');
      return;
    case 'device':
      if (typeof value === 'string') event[key] = cleanIdentifier(value);
      else if (typeof value === 'number' && Number.isInteger(value)) event[key] = value;
      else rejectField(defects, key, 'must be a string or an integer');
      return;
    case 'context':
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const own = cleanContext(value) as Record<string, unknown>;
        const bound = bindings.context as Record<string, unknown> | undefined;
        event.context = bound === undefined ? own : { ...bound, ...own };
      } else rejectField(defects, key, 'must be a plain object');
      return;
    default:
      rejectField(defects, key, 'is not a narration field; put extra data in `context`');
  }
}

function rejectField(defects: Defects, key: string, what: string): void {
  defects.note(`invalid:${cleanString(key)}`, () => invalidEvent(key, what));
}

/** Adds the current correlation id and trace ids, unless the event set its own. */
function addCorrelation(event: Record<string, unknown>): void {
  const correlation = currentCorrelation();
  if (correlation !== undefined && event.correlation_id === undefined) {
    event.correlation_id = correlation.correlationId;
  }
  const span = activeSpan();
  if (span !== undefined) {
    event.trace_id = span.traceId;
    event.span_id = span.spanId;
  } else if (correlation?.traceparent !== undefined) {
    // traceparent = "00-" trace-id(32) "-" parent-id "-" flags; the trace id is what joins logs.
    event.trace_id = correlation.traceparent.slice(3, 35);
  }
}

/**
 * Child bindings are checked and cleaned once, when the child is made, and rejected with a
 * NarrationError INVALID_ARGUMENT whatever the event policy: a child is made at start-up, where
 * failing loudly is cheap.
 */
export function cleanBindings(bindings: NarrationBindings): Record<string, unknown> {
  if (typeof bindings !== 'object' || bindings === null) {
    throw new NarrationError(
      'INVALID_ARGUMENT',
      'child(): `bindings` must be an object of narration fields, e.g. { worker_id: "w-1" }.',
      { argument: 'bindings' },
    );
  }
  if ('human' in bindings) {
    throw new NarrationError(
      'INVALID_ARGUMENT',
      'child(): `bindings.human` cannot be bound; every event needs its own sentence.',
      { argument: 'bindings.human' },
    );
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(bindings)) {
    if (value === undefined) continue;
    const defects = new Defects('repair');
    if (key === 'actor' || key === 'action' || key === 'target') {
      if (typeof value === 'string' && value.length > 0) out[key] = cleanString(value);
      else defects.list = [key];
    } else {
      copyField(defects, out, key, value, {});
    }
    if (defects.list !== undefined) {
      const argument = `bindings.${cleanString(key)}`;
      throw new NarrationError(
        'INVALID_ARGUMENT',
        `child(): \`${argument}\` is not a valid narration field value ` +
          "(see NarrationFields for each field's type; put other data in `context`).",
        { argument: argument },
      );
    }
  }
  return out;
}

/** `name` may be a caller's unknown field key: cleaned, so an error cannot carry a secret. */
function invalidEvent(name: string, what: string): NarrationError {
  const field = cleanString(name);
  return new NarrationError('INVALID_NARRATION', `narrate(): \`${field}\` ${what}.`, {
    argument: field,
  });
}
