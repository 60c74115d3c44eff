import { hostname } from 'node:os';
import pino from 'pino';
import { cleanString } from '../event/clean.js';
import type { NarrationBindings, NarrationFields, NarrationLevel } from '../event/fields.js';
import { REDACTED } from '../redaction/secrets.js';
import type { SampleOptions } from '../sampling/rate-limiter.js';
import {
  captureTee,
  type NarrationDestination,
  type NarrationFormat,
  prettyStream,
  resolveDestination,
} from './destination.js';
import {
  cleanBindings,
  emit,
  type InvalidEventPolicy,
  type NarratorCore,
  type Voice,
} from './emit.js';
import {
  checkFormat,
  checkLevel,
  checkPolicy,
  checkRedactPaths,
  createLimiter,
  invalidOption,
  isTty,
  LEVEL_VALUES,
  requireOptionString,
  requirePinoPretty,
} from './options.js';
import { detectCallerPackage } from './provenance.js';

export type { InvalidEventPolicy } from './emit.js';

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
  /**
   * An application's pino logger to write through, instead of one of our own: its destination,
   * format, timestamp and base fields apply, `human` becomes its message. Not combinable with
   * `destination`, `format` or `redact` (see README, "Reusing an application's logger").
   */
  logger?: pino.Logger;
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

/**
 * Creates a narrator. Throws NarrationError INVALID_OPTION (naming the option) for bad options;
 * everything is checked here, once, so that narrating itself stays cheap.
 */
export function createNarrator(options: NarratorOptions): Narrator {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'is missing; pass at least { actor: "<component name>" }');
  }
  const actor = requireOptionString(options.actor, 'actor');
  const level = checkLevel(options.level ?? 'info');
  const policy = checkPolicy(options.onInvalid);
  const limiter = createLimiter(options.sample);
  const emittedBy =
    options.emittedBy === undefined
      ? cleanString(detectCallerPackage()) // a package.json is text like any other
      : cleanString(requireOptionString(options.emittedBy, 'emittedBy'));
  const logger =
    options.logger === undefined
      ? ownLogger(options, level, emittedBy)
      : applicationLogger(options, emittedBy);
  const core: NarratorCore = {
    logger,
    minLevel: logger.levelVal,
    limiter,
    policy,
    emittedBy,
    humanAsMessage: options.logger !== undefined,
  };
  return makeNarrator(core, cleanString(actor), {});
}

/** A pino logger of our own: `human` as its message key, our timestamp and base fields. */
function ownLogger(
  options: NarratorOptions,
  level: NarrationLevel | 'silent',
  emittedBy: string,
): pino.Logger {
  const format = checkFormat(options.format, options.destination);
  const redact = checkRedactPaths(options.redact);
  const pinoPretty = format === 'pretty' ? requirePinoPretty() : undefined;
  const target = resolveDestination(options.destination);
  const output =
    pinoPretty === undefined ? target : prettyStream(pinoPretty, target, isTty(target));
  return pino(
    {
      level,
      messageKey: 'human',
      base: { pid: process.pid, hostname: cleanString(hostname()), emitted_by: emittedBy },
      timestamp: () => `,"emitted_at_ms":${Date.now()}`,
      formatters: { level: (label) => ({ level: label }) },
      ...(redact.length > 0 ? { redact: { paths: [...redact], censor: REDACTED } } : {}),
    },
    captureTee(output),
  );
}

/**
 * A child of the application's logger, binding `emitted_by` (and the narrator's `level`, when one
 * is given). Where and how lines are written is the application's choice, so the options that
 * decide it are refused here rather than silently ignored.
 */
function applicationLogger(options: NarratorOptions, emittedBy: string): pino.Logger {
  const app = options.logger as unknown;
  if (
    typeof app !== 'object' ||
    app === null ||
    typeof (app as pino.Logger).child !== 'function' ||
    typeof (app as pino.Logger).levelVal !== 'number'
  ) {
    throw invalidOption('logger', 'must be a pino logger (pino() or a child of one)');
  }
  for (const name of ['destination', 'format', 'redact'] as const) {
    if (options[name] !== undefined) {
      throw invalidOption(
        name,
        "cannot be combined with `logger`: the application's logger decides where and how lines are written",
      );
    }
  }
  const childOptions = options.level === undefined ? undefined : { level: options.level };
  return (app as pino.Logger).child({ emitted_by: emittedBy }, childOptions);
}

function makeNarrator(
  core: NarratorCore,
  actor: string,
  bindings: Readonly<Record<string, unknown>>,
): Narrator {
  const voice: Voice = {
    core,
    actor,
    // The actor rarely changes per event, so it is a pino binding: serialised once, here, not on
    // every event. An event that names another actor is written through the root logger.
    actorLogger: core.logger.child({ actor }),
    bindings,
    bindingKeys: Object.keys(bindings),
  };
  // The level is fixed when the narrator is made, so a disabled level gets a function that does
  // nothing at all (pino does the same): a debug() call in production costs one call.
  const emitAt = (level: NarrationLevel): NarrateFn =>
    LEVEL_VALUES[level] < core.minLevel ? () => {} : (fields) => emit(voice, level, fields);
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
