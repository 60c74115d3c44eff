import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import pino from 'pino';
import { recordWrittenLine } from '../capture/scope.js';
import { NarrationError } from '../errors/narration-error.js';
import { cleanString } from '../event/clean.js';

/** Anything with `write(line)`: a pino destination (SonicBoom), a transport, a Writable. */
export interface WritableLike {
  write(chunk: string): unknown;
}

/**
 * Where lines go:
 * - undefined: standard output (`pino.destination(1)`: pino's default, asynchronous writes
 *   flushed when the process exits);
 * - a number: that file descriptor, written synchronously;
 * - a string: that file path, appended to, parent folders created, written synchronously so
 *   no line is lost if the process dies (pass `pino.destination({ dest, sync: false })` yourself
 *   for buffered writes, and call `flushSync()` on it before exit);
 * - an object with `write(string)`: used as is (`pino.destination()`, `pino.transport()`,
 *   `process.stderr`, a `Writable`, or `{ write() {} }` to discard).
 */
export type NarrationDestination = string | number | WritableLike;

export type NarrationFormat = 'json' | 'pretty';

let stdout: WritableLike | undefined;

export function resolveDestination(destination: NarrationDestination | undefined): WritableLike {
  if (destination === undefined) {
    // One shared standard-output stream: narrators writing to stdout keep their lines in order.
    stdout ??= pino.destination({ dest: 1 });
    return stdout;
  }
  if (typeof destination === 'number') {
    if (!Number.isInteger(destination) || destination < 0) {
      throw invalidDestination('a negative or fractional file descriptor');
    }
    // Checked now: otherwise the first narrate() would throw EBADF.
    openOrThrow(() => fstatSync(destination));
    return pino.destination({ dest: destination, sync: true });
  }
  if (typeof destination === 'string') {
    if (destination.length === 0) throw invalidDestination('an empty path');
    return openOrThrow(() =>
      pino.destination({ dest: destination, mkdir: true, append: true, sync: true }),
    );
  }
  if (typeof destination === 'object' && destination !== null && isWritable(destination)) {
    return destination;
  }
  throw invalidDestination(`a ${destination === null ? 'null' : typeof destination}`);
}

type PinoPretty = (options: Record<string, unknown>) => WritableLike;

/**
 * pino-pretty, an optional peer dependency (it brings a dozen packages a service writing JSON does
 * not need), loaded only when pretty output is asked for; undefined when it is not installed.
 */
export function loadPinoPretty(): PinoPretty | undefined {
  try {
    const loaded = createRequire(import.meta.url)('pino-pretty') as
      | PinoPretty
      | { default: PinoPretty };
    return typeof loaded === 'function' ? loaded : loaded.default;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/** Wraps JSON output in pino-pretty: one (coloured) line per event, `human` as the message. */
export function prettyStream(
  pinoPretty: PinoPretty,
  target: WritableLike,
  colorize: boolean,
): WritableLike {
  return pinoPretty({
    destination: asNodeStream(target),
    messageKey: 'human',
    timestampKey: 'emitted_at_ms',
    translateTime: 'SYS:standard',
    ignore: 'pid,hostname',
    singleLine: true,
    colorize,
    sync: true,
  });
}

/** pino-pretty pipes into its destination, which needs a real stream; wrap a bare `write`. */
function asNodeStream(target: WritableLike): pino.DestinationStream {
  if (typeof (target as { on?: unknown }).on === 'function')
    return target as pino.DestinationStream;
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      target.write(chunk.toString());
      callback();
    },
  });
}

/**
 * The stream pino writes to: passes each JSON line to capture (when a capture is active in the
 * caller's async context) and then to the real destination. pino calls `write` synchronously
 * inside the log call, so the caller's AsyncLocalStorage context is still current here.
 */
export function captureTee(target: WritableLike): pino.DestinationStream {
  return {
    write(line: string) {
      recordWrittenLine(line);
      target.write(line);
    },
  };
}

/** Runs `open`; a file system error (EISDIR, ENOTDIR, EACCES, EBADF) becomes INVALID_OPTION. */
function openOrThrow<T>(open: () => T): T {
  try {
    return open();
  } catch (error) {
    // Node's file system messages start with the code: "EISDIR: illegal operation on a ..."
    throw invalidDestination(
      `not writable (${cleanString(String((error as Error).message))})`,
      error,
    );
  }
}

function isWritable(value: object): value is WritableLike {
  return typeof (value as { write?: unknown }).write === 'function';
}

function invalidDestination(what: string, cause?: unknown): NarrationError {
  return new NarrationError(
    'INVALID_OPTION',
    `createNarrator(): \`destination\` is ${what}; pass a file path, a file descriptor, or a ` +
      'stream with write() (for example pino.destination(), process.stderr), or leave it out ' +
      'for standard output.',
    { argument: 'destination', cause },
  );
}
