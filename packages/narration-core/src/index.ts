export {
  type CorrelationContext,
  currentCorrelation,
  currentCorrelationId,
  withCorrelation,
} from './correlation/context.js';
export { isValidCorrelationId, newCorrelationId } from './correlation/correlation-id.js';
export {
  CORRELATION_HEADER,
  correlationFromHeaders,
  type HeadersInput,
  type HeadersOutput,
  injectCorrelationHeaders,
  TRACEPARENT_HEADER,
} from './correlation/headers.js';
export { parseTraceparent, type Traceparent } from './correlation/traceparent.js';
export {
  NARRATION_ERROR_CODES,
  NarrationError,
  type NarrationErrorCode,
} from './errors/narration-error.js';
export {
  HUMAN_MAX_CHARS,
  NARRATION_LEVELS,
  type NarrationBindings,
  type NarrationEvent,
  type NarrationFields,
  type NarrationLevel,
} from './event/fields.js';
export type {
  NarrationDestination,
  NarrationFormat,
  WritableLike,
} from './narrator/destination.js';
export {
  createNarrator,
  type InvalidEventPolicy,
  type NarrateFn,
  type Narrator,
  type NarratorOptions,
} from './narrator/narrator.js';
export { sanitizeText } from './redaction/sanitize.js';
export { containsSecret, REDACTED, redactSecrets } from './redaction/secrets.js';
export type { SampleOptions } from './sampling/rate-limiter.js';
