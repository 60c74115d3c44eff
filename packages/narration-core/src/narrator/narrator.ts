import { hostname } from 'node:os';
import pino from 'pino';
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
  NARRATION_LEVELS,
  type NarrationBindings,
  type NarrationFields,
  type NarrationLevel,
} from '../event/fields.js';
import { REDACTED } from '../redaction/secrets.js';
import { type Admission, RateLimiter, type SampleOptions } from '../sampling/rate-limiter.js';
import { activeSpan } from '../tracing/otel.js';
import {
  captureTee,
  type NarrationDestination,
  type NarrationFormat,
  prettyStream,
  resolveDestination,
} from './destination.js';
import { detectCallerPackage } from './provenance.js';

/** What to do with an event that breaks the field rules (see README, "Invalid events"). */
export type InvalidEventPolicy = 'throw' | 'repair';

export interface NarratorOptions {
  /** Default `actor` of every event: the component speaking (e.g. "vram-manager"). */
  actor: string;
  /** Where lines go; standard output when left out. See `NarrationDestination`. */
  destination?: NarrationDestination;
  /** 'json' (one JSON object per line) or 'pretty' (pino-pretty). See README for the default. */
  format?: NarrationFormat;
  /** Lowest level written; 'silent' writes nothing. Default 'info'. */
  level?: NarrationLevel | 'silent';
  /** pino redaction paths (e.g. "context.user.email"), censored as "[REDACTED]". */
  redact?: readonly string[];
  /** Rate limit per actor+action, or `false` for none. Default 1000 events/s per key, 1000 keys. */
  sample?: SampleOptions | false;
  /** `name@version` written as `emitted_by`; found from the calling package when left out. */
  emittedBy?: string;
  /** 'throw' or 'repair'; default 'throw' when NODE_ENV is development or test, else 'repair'. */
  onInvalid?: InvalidEventPolicy;
}

export type NarrateFn = (fields: NarrationFields) => void;

export interface Narrator {
  readonly actor: string;
  /** The `emitted_by` value this narrator writes. */
  readonly emittedBy: string;
  /** Narrates at info level. */
  narrate: NarrateFn;
  trace: NarrateFn;
  debug: NarrateFn;
  info: NarrateFn;
  warn: NarrateFn;
  error: NarrateFn;
  fatal: NarrateFn;
  /** True when events of `level` are written. */
  isLevelEnabled(level: NarrationLevel): boolean;
  /** A narrator that adds `bindings` to every event (the event's own fields win). */
  child(bindings: NarrationBindings): Narrator;
}

const LEVEL_VALUES: Readonly<Record<NarrationLevel | 'silent', number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/** Only `policy` is read when cleaning child bindings. */
const LENIENT = { policy: 'repair' } as NarratorCore;

const DEFAULT_SAMPLE: Required<SampleOptions> = {
  maxPerWindow: 1000,
  windowMs: 1000,
  maxKeys: 1000,
};

/** State shared by a narrator and all its children. */
interface NarratorCore {
  readonly logger: pino.Logger;
  readonly minLevel: number;
  readonly limiter: RateLimiter | undefined;
  readonly policy: InvalidEventPolicy;
  readonly emittedBy: string;
}

/**
 * Creates a narrator. Throws NarrationError INVALID_OPTION (naming the option) for bad options;
 * everything is checked here, once, so that narrating itself stays cheap.
 */
export function createNarrator(options: NarratorOptions): Narrator {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'is missing; pass at least { actor: "<component name>" }');
  }
  const actor = requireOptionString(options.actor, 'actor');
  const level = options.level ?? 'info';
  if (!Object.hasOwn(LEVEL_VALUES, level)) {
    throw invalidOption('level', `must be one of ${[...NARRATION_LEVELS, 'silent'].join(', ')}`);
  }
  const format = options.format ?? defaultFormat(options.destination);
  if (format !== 'json' && format !== 'pretty') {
    throw invalidOption('format', "must be 'json' or 'pretty'");
  }
  const policy = options.onInvalid ?? defaultPolicy();
  if (policy !== 'throw' && policy !== 'repair') {
    throw invalidOption('onInvalid', "must be 'throw' or 'repair'");
  }
  const redact = validateRedactPaths(options.redact);
  const limiter = createLimiter(options.sample);
  const emittedBy =
    options.emittedBy === undefined
      ? cleanString(detectCallerPackage()) // a package.json is text like any other
      : cleanString(requireOptionString(options.emittedBy, 'emittedBy'));

  const target = resolveDestination(options.destination);
  const output = format === 'pretty' ? prettyStream(target, isTty(target)) : target;
  const logger = pino(
    {
      level: level === 'silent' ? 'silent' : level,
      messageKey: 'human',
      base: { pid: process.pid, hostname: cleanString(hostname()), emitted_by: emittedBy },
      timestamp: () => `,"emitted_at_ms":${Date.now()}`,
      formatters: { level: (label) => ({ level: label }) },
      ...(redact.length > 0 ? { redact: { paths: [...redact], censor: REDACTED } } : {}),
    },
    captureTee(output),
  );
  const core: NarratorCore = { logger, minLevel: LEVEL_VALUES[level], limiter, policy, emittedBy };
  return makeNarrator(core, cleanString(actor), {});
}

function makeNarrator(
  core: NarratorCore,
  actor: string,
  bindings: Readonly<Record<string, unknown>>,
): Narrator {
  const bindingKeys = Object.keys(bindings);
  // The actor rarely changes per event, so it is a pino binding: serialised once, here, not on
  // every event. An event that names another actor is written through the root logger.
  const actorLogger = core.logger.child({ actor });
  // The level is fixed when the narrator is made, so a disabled level gets a function that does
  // nothing at all (pino does the same): a debug() call in production costs one call.
  const emitAt = (level: NarrationLevel): NarrateFn =>
    LEVEL_VALUES[level] < core.minLevel
      ? () => {}
      : (fields) => emit(core, actorLogger, actor, bindings, bindingKeys, level, fields);
  const info = emitAt('info');
  return {
    actor,
    emittedBy: core.emittedBy,
    narrate: info,
    trace: emitAt('trace'),
    debug: emitAt('debug'),
    info,
    warn: emitAt('warn'),
    error: emitAt('error'),
    fatal: emitAt('fatal'),
    isLevelEnabled: (level) => LEVEL_VALUES[level] >= core.minLevel,
    child(childBindings) {
      const merged = { ...bindings, ...cleanBindings(childBindings) };
      if (bindings.context !== undefined && merged.context !== bindings.context) {
        merged.context = { ...(bindings.context as object), ...(merged.context as object) };
      }
      const childActor = typeof merged.actor === 'string' ? merged.actor : actor;
      delete merged.actor;
      return makeNarrator(core, childActor, merged);
    },
  };
}

// Defects found while building one event. Reused, so a valid event allocates no array; copied
// into the event before it is handed to pino, so a destination whose write() narrates again
// cannot disturb it.
const problems: string[] = [];

/**
 * The hot path: one call per written event. It allocates the event object and little else;
 * identifier-like strings are cleaned through a cache; work is skipped as early as possible.
 */
function emit(
  core: NarratorCore,
  actorLogger: pino.Logger,
  defaultActor: string,
  bindings: Readonly<Record<string, unknown>>,
  bindingKeys: readonly string[],
  level: NarrationLevel,
  fields: NarrationFields,
): void {
  if (problems.length !== 0) problems.length = 0;
  if (typeof fields !== 'object' || fields === null) {
    if (core.policy === 'throw') throw invalidEvent('fields', 'must be an object');
    fields = {} as NarrationFields;
  }
  const input = fields as unknown as Record<string, unknown>;
  const actor =
    fields.actor === undefined ? defaultActor : requiredField(core, 'actor', fields.actor);
  const action = requiredField(core, 'action', fields.action ?? bindings.action);
  const target = requiredField(core, 'target', fields.target ?? bindings.target);

  let admission: Admission | undefined;
  if (core.limiter !== undefined) {
    admission = core.limiter.admit(actor, action, Date.now);
    if (admission === undefined) return;
  }

  const human = humanField(core, fields.human, actor, action, target);
  const ownActor = actor === defaultActor;
  const event: Record<string, unknown> = ownActor
    ? { action, target, human }
    : { actor, action, target, human };
  for (const key of bindingKeys) {
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
    } else if (kind !== 'required') copyField(core, event, key, value, bindings);
  }
  addCorrelation(event);
  if (admission !== undefined) addDropCounts(event, admission);
  if (problems.length > 0) event.narration_defects = [...problems];
  (ownActor ? actorLogger : core.logger)[level](event);
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

function requiredField(core: NarratorCore, name: string, value: unknown): string {
  if (typeof value === 'string') {
    const clean = cleanIdentifier(value);
    if (!isBlank(clean)) return clean;
  }
  const problem = value === undefined || typeof value === 'string' ? 'missing' : 'not_a_string';
  if (core.policy === 'throw') {
    throw invalidEvent(name, `is ${problem === 'missing' ? 'missing or blank' : 'not a string'}`);
  }
  problems.push(`${problem}:${name}`);
  return 'unknown';
}

function humanField(
  core: NarratorCore,
  value: unknown,
  actor: string,
  action: string,
  target: string,
): string {
  const written = typeof value === 'string' ? value : '';
  const human = cleanString(written);
  if (isBlank(human)) {
    if (core.policy === 'throw') {
      throw invalidEvent('human', 'is missing; describe what happened in one plain sentence');
    }
    problems.push(
      `${typeof value === 'string' || value === undefined ? 'missing' : 'not_a_string'}:human`,
    );
    return `${actor} ${action} ${target}.`;
  }
  // The limit is on the sentence the caller wrote. Redaction can lengthen it ("token=a" becomes
  // "token=[REDACTED]") and sanitising can shorten it, so either form within the limit passes:
  // whether an event is accepted must not depend on a secret's length.
  if (codePointLength(human, HUMAN_MAX_CHARS) <= HUMAN_MAX_CHARS) return human;
  const length = codePointLength(written, HUMAN_MAX_CHARS);
  if (length <= HUMAN_MAX_CHARS) return human;
  if (core.policy === 'throw') {
    throw invalidEvent(
      'human',
      `is ${length} characters; the limit is ${HUMAN_MAX_CHARS}. Keep it to one short ` +
        'sentence and put the detail in `story` or `context`',
    );
  }
  problems.push('too_long:human');
  return truncateCodePoints(human, HUMAN_MAX_CHARS);
}

function copyField(
  core: NarratorCore,
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
      else rejectField(core, key, 'must be a string');
      return;
    case 'text':
      if (typeof value === 'string') event[key] = cleanString(value);
      else rejectField(core, key, 'must be a string');
      return;
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) event[key] = value;
      else rejectField(core, key, 'must be a finite number');
      return;
    case 'device':
      if (typeof value === 'string') event[key] = cleanIdentifier(value);
      else if (typeof value === 'number' && Number.isInteger(value)) event[key] = value;
      else rejectField(core, key, 'must be a string or an integer');
      return;
    case 'context':
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const own = cleanContextKeepingProblems(value);
        const bound = bindings.context as Record<string, unknown> | undefined;
        event.context = bound === undefined ? own : { ...bound, ...own };
      } else rejectField(core, key, 'must be a plain object');
      return;
    default:
      rejectField(core, key, 'is not a narration field; put extra data in `context`');
  }
}

/**
 * cleanContext reads the caller's getters, and a getter may narrate: that nested event reuses
 * `problems`, so this event's defects are set aside meanwhile and put back after.
 */
function cleanContextKeepingProblems(value: object): Record<string, unknown> {
  const pending = problems.length > 0 ? problems.splice(0) : undefined;
  const clean = cleanContext(value) as Record<string, unknown>;
  problems.length = 0;
  if (pending !== undefined) problems.push(...pending);
  return clean;
}

function rejectField(core: NarratorCore, key: string, what: string): void {
  if (core.policy === 'throw') throw invalidEvent(key, what);
  problems.push(`invalid:${cleanString(key)}`);
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
function cleanBindings(bindings: NarrationBindings): Record<string, unknown> {
  if (typeof bindings !== 'object' || bindings === null) {
    throw new NarrationError(
      'INVALID_ARGUMENT',
      'child(): `bindings` must be an object of narration fields, e.g. { worker_id: "w-1" }.',
      'bindings',
    );
  }
  if ('human' in bindings) {
    throw new NarrationError(
      'INVALID_ARGUMENT',
      'child(): `bindings.human` cannot be bound; every event needs its own sentence.',
      'bindings.human',
    );
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(bindings)) {
    if (value === undefined) continue;
    problems.length = 0;
    if (key === 'actor' || key === 'action' || key === 'target') {
      if (typeof value === 'string' && value.length > 0) out[key] = cleanString(value);
      else problems.push(key);
    } else {
      copyField(LENIENT, out, key, value, {});
    }
    if (problems.length > 0) {
      problems.length = 0;
      const argument = `bindings.${cleanString(key)}`;
      throw new NarrationError(
        'INVALID_ARGUMENT',
        `child(): \`${argument}\` is not a valid narration field value ` +
          "(see NarrationFields for each field's type; put other data in `context`).",
        argument,
      );
    }
  }
  return out;
}

function createLimiter(sample: SampleOptions | false | undefined): RateLimiter | undefined {
  if (sample === false) return undefined;
  if (sample !== undefined && (typeof sample !== 'object' || sample === null)) {
    throw invalidOption('sample', 'must be false or { maxPerWindow, windowMs, maxKeys }');
  }
  const merged = { ...DEFAULT_SAMPLE, ...sample };
  for (const key of ['maxPerWindow', 'windowMs', 'maxKeys'] as const) {
    const value = merged[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw invalidOption(`sample.${key}`, `must be a positive integer (got ${String(value)})`);
    }
  }
  return new RateLimiter(merged);
}

function validateRedactPaths(redact: readonly string[] | undefined): readonly string[] {
  if (redact === undefined) return [];
  if (!Array.isArray(redact) || !redact.every((path) => typeof path === 'string' && path !== '')) {
    throw invalidOption(
      'redact',
      'must be an array of non-empty pino paths, e.g. ["context.user"]',
    );
  }
  // pino checks the path syntax only when a logger is built: build a throwaway one now, so a bad
  // path is an INVALID_OPTION before any destination (a file) is opened.
  try {
    pino({ redact: [...redact] }, { write() {} });
  } catch (error) {
    throw invalidOption(
      'redact',
      `holds a path pino cannot parse (${cleanString(String((error as Error).message))}); ` +
        'write paths like "context.user.email" or \'context["x-key"]\'',
    );
  }
  return redact;
}

function requireOptionString(value: unknown, name: string): string {
  if (typeof value === 'string' && value.trim().length > 0) return value;
  throw invalidOption(name, 'must be a non-empty string');
}

// Pretty output only where a person is watching a terminal during development; JSON otherwise,
// so a log shipper never receives colour codes by accident.
function defaultFormat(destination: NarrationDestination | undefined): NarrationFormat {
  const development = process.env.NODE_ENV === 'development';
  return development && destination === undefined && process.stdout.isTTY === true
    ? 'pretty'
    : 'json';
}

function defaultPolicy(): InvalidEventPolicy {
  const env = process.env.NODE_ENV;
  return env === 'development' || env === 'test' ? 'throw' : 'repair';
}

function isTty(stream: unknown): boolean {
  const { fd, isTTY } = stream as { fd?: unknown; isTTY?: unknown };
  return isTTY === true || (fd === 1 && process.stdout.isTTY === true);
}

function invalidOption(name: string, what: string): NarrationError {
  return new NarrationError('INVALID_OPTION', `createNarrator(): \`${name}\` ${what}.`, name);
}

/** `name` may be a caller's unknown field key: cleaned, so an error cannot carry a secret. */
function invalidEvent(name: string, what: string): NarrationError {
  const field = cleanString(name);
  return new NarrationError('INVALID_NARRATION', `narrate(): \`${field}\` ${what}.`, field);
}
