import pino from 'pino';
import { NarrationError } from '../errors/narration-error.js';
import { cleanString } from '../event/clean.js';
import { NARRATION_LEVELS, type NarrationLevel } from '../event/fields.js';
import { RateLimiter, type SampleOptions } from '../sampling/rate-limiter.js';
import { loadPinoPretty, type NarrationDestination, type NarrationFormat } from './destination.js';
import type { InvalidEventPolicy } from './emit.js';

export const LEVEL_VALUES: Readonly<Record<NarrationLevel | 'silent', number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

const DEFAULT_SAMPLE: Required<SampleOptions> = {
  maxPerWindow: 1000,
  windowMs: 1000,
  maxKeys: 1000,
};

export function checkLevel(level: unknown): NarrationLevel | 'silent' {
  if (typeof level === 'string' && Object.hasOwn(LEVEL_VALUES, level)) {
    return level as NarrationLevel | 'silent';
  }
  throw invalidOption('level', `must be one of ${[...NARRATION_LEVELS, 'silent'].join(', ')}`);
}

export function checkFormat(
  format: unknown,
  destination: NarrationDestination | undefined,
): NarrationFormat {
  const chosen = format ?? defaultFormat(destination);
  if (chosen !== 'json' && chosen !== 'pretty') {
    throw invalidOption('format', "must be 'json' or 'pretty'");
  }
  return chosen;
}

/** pino-pretty for `format: 'pretty'`, or a clear INVALID_OPTION when the optional peer is missing. */
export function requirePinoPretty(): NonNullable<ReturnType<typeof loadPinoPretty>> {
  const pinoPretty = loadPinoPretty();
  if (pinoPretty !== undefined) return pinoPretty;
  throw invalidOption(
    'format',
    "is 'pretty', which needs the optional peer dependency pino-pretty: install it " +
      "(npm install pino-pretty) or use format 'json'",
  );
}

export function checkPolicy(policy: unknown): InvalidEventPolicy {
  const chosen = policy ?? defaultPolicy();
  if (chosen !== 'throw' && chosen !== 'repair') {
    throw invalidOption('onInvalid', "must be 'throw' or 'repair'");
  }
  return chosen;
}

export function createLimiter(sample: SampleOptions | false | undefined): RateLimiter | undefined {
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

export function checkRedactPaths(redact: readonly string[] | undefined): readonly string[] {
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
      error,
    );
  }
  return redact;
}

export function requireOptionString(value: unknown, name: string): string {
  if (typeof value === 'string' && value.trim().length > 0) return value;
  throw invalidOption(name, 'must be a non-empty string');
}

// Pretty output only where a person is watching a terminal during development; JSON otherwise,
// so a log shipper never receives colour codes by accident.
function defaultFormat(destination: NarrationDestination | undefined): NarrationFormat {
  const development = process.env.NODE_ENV === 'development';
  const watched = development && destination === undefined && process.stdout.isTTY === true;
  // Pretty by default only where pino-pretty is installed (it is an optional peer).
  return watched && loadPinoPretty() !== undefined ? 'pretty' : 'json';
}

function defaultPolicy(): InvalidEventPolicy {
  const env = process.env.NODE_ENV;
  return env === 'development' || env === 'test' ? 'throw' : 'repair';
}

export function isTty(stream: unknown): boolean {
  const { fd, isTTY } = stream as { fd?: unknown; isTTY?: unknown };
  return isTTY === true || (fd === 1 && process.stdout.isTTY === true);
}

export function invalidOption(name: string, what: string, cause?: unknown): NarrationError {
  return new NarrationError('INVALID_OPTION', `createNarrator(): \`${name}\` ${what}.`, {
    argument: name,
    cause,
  });
}
