import { createRequire } from 'node:module';

/** The part of @opentelemetry/api this package uses. */
interface OtelApi {
  trace: {
    getActiveSpan(): { spanContext(): OtelSpanContext } | undefined;
    isSpanContextValid(spanContext: OtelSpanContext): boolean;
  };
}

interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

export interface ActiveSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

// @opentelemetry/api is an optional peer dependency: it is loaded on first use, synchronously
// (its CommonJS build), and a missing package means "no tracing", never an error. `undefined`
// means not tried yet, `null` means not installed.
let otel: OtelApi | null | undefined;

function loadOtel(): OtelApi | null {
  if (otel !== undefined) return otel;
  try {
    otel = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
  } catch {
    otel = null;
  }
  return otel;
}

/** The active OpenTelemetry span's ids, when the API is installed and a valid span is active. */
export function activeSpan(): ActiveSpan | undefined {
  const api = loadOtel();
  if (api === null) return undefined;
  const span = api.trace.getActiveSpan();
  if (span === undefined) return undefined;
  const spanContext = span.spanContext();
  if (!api.trace.isSpanContextValid(spanContext)) return undefined;
  return spanContext;
}
