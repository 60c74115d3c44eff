import { NarrationError } from '../errors/narration-error.js';
import { activeSpan } from '../tracing/otel.js';
import { type CorrelationContext, currentCorrelation } from './context.js';
import { isValidCorrelationId, newCorrelationId } from './correlation-id.js';
import { formatTraceparent, isValidTraceparent } from './traceparent.js';

export const CORRELATION_HEADER = 'x-correlation-id';
export const TRACEPARENT_HEADER = 'traceparent';

/**
 * Headers as they come: Node's `IncomingHttpHeaders` (lower-case keys, string or string[]
 * values), a plain record with any key case, or a Fetch API `Headers`.
 */
export type HeadersInput =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Headers to write into: a plain record, or a Fetch API `Headers` (anything with `set`). */
export type HeadersOutput = { set(name: string, value: string): unknown } | Record<string, unknown>;

/**
 * Reads the correlation of an incoming request. A valid `X-Correlation-Id` (UUID v4) is kept;
 * a missing, malformed, repeated-with-different-values or oversized one is replaced by a fresh
 * id and never echoed, so a client cannot inject text into logs through it. A valid W3C
 * `traceparent` is kept as well; an invalid one is dropped.
 */
export function correlationFromHeaders(headers: HeadersInput): CorrelationContext {
  requireHeaders(headers, 'correlationFromHeaders');
  const incomingId = singleHeaderValue(headers, CORRELATION_HEADER)?.trim();
  const correlationId = isValidCorrelationId(incomingId)
    ? incomingId.toLowerCase()
    : newCorrelationId();
  const traceparent = singleHeaderValue(headers, TRACEPARENT_HEADER)?.trim();
  return isValidTraceparent(traceparent) ? { correlationId, traceparent } : { correlationId };
}

/**
 * Writes the current correlation into outgoing headers and returns them: `x-correlation-id`
 * (a fresh id when called outside `withCorrelation`), and `traceparent` taken from the active
 * OpenTelemetry span if there is one, else the traceparent the current request came with.
 * Existing values of these two headers, in any key case, are replaced.
 */
export function injectCorrelationHeaders<H extends HeadersOutput>(headers: H): H {
  requireHeaders(headers, 'injectCorrelationHeaders');
  const correlation = currentCorrelation();
  setHeader(headers, CORRELATION_HEADER, correlation?.correlationId ?? newCorrelationId());
  const span = activeSpan();
  const traceparent =
    span !== undefined
      ? formatTraceparent(span.traceId, span.spanId, span.traceFlags)
      : correlation?.traceparent;
  if (traceparent !== undefined) setHeader(headers, TRACEPARENT_HEADER, traceparent);
  return headers;
}

function singleHeaderValue(headers: HeadersInput, name: string): string | undefined {
  const raw = hasGet(headers) ? headers.get(name) : findCaseInsensitive(headers, name);
  if (typeof raw === 'string') return raw;
  if (!Array.isArray(raw)) return undefined; // absent, or not a header value at all
  // Repeated header: only unambiguous if every copy says the same thing.
  const values = [...new Set(raw)];
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
}

function requireHeaders(headers: unknown, caller: string): void {
  if (typeof headers === 'object' && headers !== null) return;
  throw new NarrationError(
    'INVALID_ARGUMENT',
    `${caller}(): \`headers\` must be a headers object (Node's req.headers, a plain record or ` +
      'a Fetch Headers); pass {} when there are none.',
    { argument: 'headers' },
  );
}

function hasGet(headers: HeadersInput): headers is { get(name: string): string | null } {
  return typeof (headers as { get?: unknown }).get === 'function';
}

function findCaseInsensitive(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  name: string,
): string | readonly string[] | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return headers[key];
  }
  return undefined;
}

function setHeader(headers: HeadersOutput, name: string, value: string): void {
  if (typeof (headers as { set?: unknown }).set === 'function') {
    (headers as { set(name: string, value: string): unknown }).set(name, value);
    return;
  }
  const record = headers as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === name) delete record[key];
  }
  record[name] = value;
}
