/** Log levels, lowest first; the same names and order as pino's. */
export const NARRATION_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type NarrationLevel = (typeof NARRATION_LEVELS)[number];

/** The longest `human` sentence, in characters (Unicode code points). */
export const HUMAN_MAX_CHARS = 100;

/**
 * What a caller passes to `narrate()`. `actor` defaults to the narrator's; `action`, `target`
 * and `human` are required. `human` is one plain sentence of at most 100 characters that makes
 * sense without looking up ids. Everything else is optional structured context.
 */
export interface NarrationFields {
  /** Who did it (a component, e.g. "vram-manager"). Defaults to the narrator's actor. */
  actor?: string;
  /** What was done, a short verb-like token (e.g. "seal", "verify", "allocate"). */
  action: string;
  /** What it was done to (e.g. "shard-0", "GPU0"). */
  target: string;
  /** One plain sentence, <= 100 characters, for a person reading the log. */
  human: string;
  correlation_id?: string;
  session_id?: string;
  job_id?: string;
  task_id?: string;
  pool_id?: string;
  replica_id?: string;
  worker_id?: string;
  shard_id?: string;
  device?: string | number;
  model_ref?: string;
  engine?: string;
  engine_version?: string;
  duration_ms?: number;
  error_kind?: string;
  retry_after_ms?: number;
  backoff_ms?: number;
  queue_position?: number;
  predicted_start_ms?: number;
  tokens_in?: number;
  tokens_out?: number;
  decode_time_ms?: number;
  /** A lighter-toned version of `human` (emoji welcome), for dashboards and demos. */
  cute?: string;
  /** A longer, multi-sentence account, when one sentence is not enough. */
  story?: string;
  /** Any other structured data; written as the nested object `context`. */
  context?: Readonly<Record<string, unknown>>;
}

/** Defaults a child narrator adds to every event it emits (any field but `human`). */
export type NarrationBindings = Partial<Omit<NarrationFields, 'human'>>;

/** One emitted event, as written (and as `captureNarration` returns it). */
export interface NarrationEvent extends Omit<NarrationFields, 'actor'> {
  actor: string;
  level: NarrationLevel;
  /** `package@version` of the code that created the narrator (see README, "Provenance"). */
  emitted_by: string;
  /** Unix epoch milliseconds when the event was written. */
  emitted_at_ms: number;
  /** From the active OpenTelemetry span, or else from the request's traceparent. */
  trace_id?: string;
  span_id?: string;
  /** Present when the event was repaired instead of rejected (see README, "Invalid events"). */
  narration_defects?: string[];
  /** Events of the same actor+action dropped by the rate limit since the last one written. */
  dropped_count?: number;
  /** Dropped events of keys that were evicted from the rate limiter before they could report. */
  dropped_other_count?: number;
  pid?: number;
  hostname?: string;
}

/** required: placed first; string: an identifier-like value; text: free text (never cached). */
export type FieldKind = 'required' | 'string' | 'text' | 'number' | 'device' | 'context';

/** Every field a caller may set, and what kind of value it takes. */
export const FIELD_KINDS: ReadonlyMap<string, FieldKind> = new Map<string, FieldKind>([
  ['actor', 'required'],
  ['action', 'required'],
  ['target', 'required'],
  ['human', 'required'],
  ['correlation_id', 'string'],
  ['session_id', 'string'],
  ['job_id', 'string'],
  ['task_id', 'string'],
  ['pool_id', 'string'],
  ['replica_id', 'string'],
  ['worker_id', 'string'],
  ['shard_id', 'string'],
  ['device', 'device'],
  ['model_ref', 'string'],
  ['engine', 'string'],
  ['engine_version', 'string'],
  ['duration_ms', 'number'],
  ['error_kind', 'string'],
  ['retry_after_ms', 'number'],
  ['backoff_ms', 'number'],
  ['queue_position', 'number'],
  ['predicted_start_ms', 'number'],
  ['tokens_in', 'number'],
  ['tokens_out', 'number'],
  ['decode_time_ms', 'number'],
  ['cute', 'text'],
  ['story', 'text'],
  ['context', 'context'],
]);
