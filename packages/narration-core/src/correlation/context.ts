import { AsyncLocalStorage } from 'node:async_hooks';
import { NarrationError } from '../errors/narration-error.js';
import { isValidCorrelationId } from './correlation-id.js';
import { isValidTraceparent } from './traceparent.js';

/** What travels with a request: its correlation id and, when it came with one, its traceparent. */
export interface CorrelationContext {
  readonly correlationId: string;
  /** A validated W3C `traceparent` header value received with the request, lower-case. */
  readonly traceparent?: string;
}

// AsyncLocalStorage follows the async call graph: awaits, promise callbacks, timers and
// EventEmitter callbacks registered inside `withCorrelation` all see the same store, and two
// concurrent requests each see only their own.
const correlationStore = new AsyncLocalStorage<CorrelationContext>();

/**
 * Runs `fn` with `correlation` as the current correlation; every narration inside it (also
 * after awaits and in timers started inside it) carries the id. Returns what `fn` returns.
 * Throws NarrationError INVALID_CORRELATION_ID when the id is not a UUID v4: take ids from
 * `correlationFromHeaders` or `newCorrelationId`, which never produce an invalid one.
 */
export function withCorrelation<T>(correlation: string | CorrelationContext, fn: () => T): T {
  const context = toContext(correlation);
  if (typeof fn !== 'function') {
    throw new NarrationError(
      'INVALID_ARGUMENT',
      'withCorrelation(): `fn` must be the function to run inside the correlation.',
      { argument: 'fn' },
    );
  }
  return correlationStore.run(context, fn);
}

/** The correlation id of the current async context, or undefined outside `withCorrelation`. */
export function currentCorrelationId(): string | undefined {
  return correlationStore.getStore()?.correlationId;
}

/** The full current correlation context (id and traceparent), or undefined. */
export function currentCorrelation(): CorrelationContext | undefined {
  return correlationStore.getStore();
}

function toContext(correlation: string | CorrelationContext): CorrelationContext {
  const context = typeof correlation === 'string' ? { correlationId: correlation } : correlation;
  if (!isValidCorrelationId(context?.correlationId)) {
    throw new NarrationError(
      'INVALID_CORRELATION_ID',
      'withCorrelation(): `correlation` is not a UUID v4 correlation id. Use newCorrelationId() ' +
        'or correlationFromHeaders(), which always return a valid one.',
      { argument: 'correlation' },
    );
  }
  if (context.traceparent !== undefined && !isValidTraceparent(context.traceparent)) {
    throw new NarrationError(
      'INVALID_CORRELATION_ID',
      'withCorrelation(): `correlation.traceparent` is not a valid W3C traceparent ' +
        '(00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>). Leave it out or use ' +
        'correlationFromHeaders(), which drops invalid ones.',
      { argument: 'correlation.traceparent' },
    );
  }
  return Object.freeze({ ...context, correlationId: context.correlationId.toLowerCase() });
}
