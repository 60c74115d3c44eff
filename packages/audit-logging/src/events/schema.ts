/**
 * The one table of audit event types. The TypeScript types (`AuditEvent`), the runtime validator
 * and the README table are all derived from it, so they cannot drift apart.
 *
 * Field kinds:
 * - `text`: printable UTF-8, at most 1024 bytes, no control/bidi/zero-width characters; also no
 *   pointer-like (`0x` + 8 hex) or key-like (64+ hex digits) runs
 * - `name`: an identifier or reference (shard id, worker id, model ref, a path someone tried): the
 *   same rules as `text` except the pointer-like and key-like checks, because `0x1234abcd` as a
 *   shard id or `sha256:<64 hex>` as a model ref is a public name, not a pointer or a key. Every
 *   value `text` accepts, `name` accepts (fields moved from `text` to `name` only got wider)
 * - `uint`: a non-negative safe integer (bytes, device index, milliseconds)
 * - `sha256`: 64 lowercase hex characters
 * - `fingerprint`: a token fingerprint from `tokenFingerprint()` (`sha256:` + 16 hex); tokens
 *   themselves are never logged
 * - `bool`: true / false
 * - a list of strings: one of those values
 */
export type FieldKind =
  | 'text'
  | 'name'
  | 'uint'
  | 'sha256'
  | 'fingerprint'
  | 'bool'
  | readonly string[];

export type Severity = 'info' | 'warning' | 'critical';

export type Category =
  | 'auth'
  | 'authz'
  | 'resources'
  | 'vram'
  | 'security'
  | 'data'
  | 'compliance'
  | 'system';

export interface EventSchema {
  readonly category: Category;
  readonly severity: Severity;
  readonly description: string;
  readonly required: Readonly<Record<string, FieldKind>>;
  readonly optional?: Readonly<Record<string, FieldKind>>;
}

/** Optional fields every event may carry. */
export const COMMON_OPTIONAL_FIELDS = {
  correlationId: 'text',
} as const satisfies Record<string, FieldKind>;

/** A shard's device memory: what allocation and deallocation events name. */
const SHARD_MEMORY = {
  shardId: 'name',
  gpuDevice: 'uint',
  vramBytes: 'uint',
  workerId: 'name',
} as const satisfies Record<string, FieldKind>;

const CHANGE = ['granted', 'revoked'] as const;
/** Which check of a seal verification failed. */
const SEAL_CHECK = ['signature', 'tree_root', 'digest', 'unknown_shard'] as const;

export const EVENT_SCHEMAS = {
  // auth
  auth_success: {
    category: 'auth',
    severity: 'info',
    description: 'A principal authenticated.',
    required: { actor: 'text', method: 'text' },
    optional: { sourceIp: 'text' },
  },
  auth_failure: {
    category: 'auth',
    severity: 'warning',
    description: 'An authentication attempt failed.',
    required: { actor: 'text', method: 'text', reason: 'text' },
    optional: { sourceIp: 'text' },
  },
  token_created: {
    category: 'auth',
    severity: 'info',
    description: 'An API/worker token was issued (fingerprint only).',
    required: { actor: 'text', subject: 'text', tokenFingerprint: 'fingerprint' },
    optional: { expiresAt: 'text' },
  },
  token_revoked: {
    category: 'auth',
    severity: 'warning',
    description: 'A token was revoked (fingerprint only).',
    required: { actor: 'text', tokenFingerprint: 'fingerprint', reason: 'text' },
  },
  // authz
  authorization_granted: {
    category: 'authz',
    severity: 'info',
    description: 'An action on a resource was allowed.',
    required: { actor: 'text', action: 'text', resource: 'text' },
  },
  authorization_denied: {
    category: 'authz',
    severity: 'warning',
    description: 'An action on a resource was refused.',
    required: { actor: 'text', action: 'text', resource: 'text', reason: 'text' },
  },
  permission_changed: {
    category: 'authz',
    severity: 'critical',
    description: "A principal's permissions were changed.",
    required: { actor: 'text', subject: 'text', permission: 'text', change: CHANGE },
  },
  // resources
  pool_created: {
    category: 'resources',
    severity: 'info',
    description: 'A GPU pool was created.',
    required: { actor: 'text', poolId: 'text' },
  },
  pool_deleted: {
    category: 'resources',
    severity: 'warning',
    description: 'A GPU pool was deleted.',
    required: { actor: 'text', poolId: 'text' },
  },
  pool_modified: {
    category: 'resources',
    severity: 'info',
    description: 'A GPU pool was reconfigured.',
    required: { actor: 'text', poolId: 'text', change: 'text' },
  },
  node_registered: {
    category: 'resources',
    severity: 'info',
    description: 'A worker node joined.',
    required: { nodeId: 'text', gpuCount: 'uint' },
    optional: { address: 'text' },
  },
  node_deregistered: {
    category: 'resources',
    severity: 'info',
    description: 'A worker node left.',
    required: { nodeId: 'text', reason: 'text' },
  },
  task_submitted: {
    category: 'resources',
    severity: 'info',
    description: 'A task was submitted to a pool.',
    required: { actor: 'text', taskId: 'text', poolId: 'text' },
  },
  task_completed: {
    category: 'resources',
    severity: 'info',
    description: 'A task finished.',
    required: { taskId: 'text', durationMs: 'uint', outcome: ['success', 'failure'] },
  },
  task_canceled: {
    category: 'resources',
    severity: 'info',
    description: 'A task was canceled.',
    required: { actor: 'text', taskId: 'text', reason: 'text' },
  },
  // vram
  vram_sealed: {
    category: 'vram',
    severity: 'info',
    description: 'A shard resident in VRAM was sealed (digest + HMAC).',
    required: {
      shardId: 'name',
      gpuDevice: 'uint',
      vramBytes: 'uint',
      digest: 'sha256',
      workerId: 'name',
    },
    optional: {
      modelRef: 'name',
      treeRoot: 'sha256',
      leafSize: 'uint',
      keyId: 'text',
      shardIndex: 'uint',
      totalShards: 'uint',
    },
  },
  seal_verified: {
    category: 'vram',
    severity: 'info',
    description: 'A seal re-verified against device memory before use.',
    required: { shardId: 'name', gpuDevice: 'uint', digest: 'sha256', workerId: 'name' },
    optional: {
      treeRoot: 'sha256',
      leafSize: 'uint',
      keyId: 'text',
      deep: 'bool',
      durationMs: 'uint',
    },
  },
  seal_verification_failed: {
    category: 'vram',
    severity: 'critical',
    description: 'Device memory no longer matches its seal; the worker stops.',
    required: { shardId: 'name', gpuDevice: 'uint', workerId: 'name', reason: 'text' },
    optional: {
      expectedDigest: 'sha256',
      actualDigest: 'sha256',
      check: SEAL_CHECK,
      expectedTreeRoot: 'sha256',
      actualTreeRoot: 'sha256',
      keyId: 'text',
    },
  },
  vram_allocated: {
    category: 'vram',
    severity: 'info',
    description: 'Device memory was allocated for a shard.',
    required: SHARD_MEMORY,
  },
  vram_allocation_failed: {
    category: 'vram',
    severity: 'warning',
    description: 'Device memory could not be allocated.',
    required: {
      shardId: 'name',
      gpuDevice: 'uint',
      requestedBytes: 'uint',
      availableBytes: 'uint',
      workerId: 'name',
      reason: 'text',
    },
  },
  vram_deallocated: {
    category: 'vram',
    severity: 'info',
    description: 'Device memory of a shard was released.',
    required: SHARD_MEMORY,
  },
  vram_deallocation_failed: {
    category: 'vram',
    severity: 'warning',
    description: 'Freeing a shard failed: it is off the books; the device may need attention.',
    required: { ...SHARD_MEMORY, reason: 'text' },
  },
  policy_violation: {
    category: 'vram',
    severity: 'critical',
    description: 'A VRAM policy was violated (e.g. non-device memory under a VRAM-only policy).',
    required: { policy: 'text', workerId: 'name', detail: 'text' },
    optional: { gpuDevice: 'uint', action: 'text', shardId: 'name' },
  },
  vram_manager_reset: {
    category: 'vram',
    severity: 'critical',
    description: 'An operator reset a stopped VRAM manager so it seals and verifies again.',
    required: { operator: 'text', reason: 'text', workerId: 'name' },
    optional: { stoppedBecause: 'text' },
  },
  // security
  rate_limit_exceeded: {
    category: 'security',
    severity: 'warning',
    description: 'A client exceeded its rate limit.',
    required: { actor: 'text', limit: 'uint', windowMs: 'uint' },
  },
  path_traversal_attempt: {
    category: 'security',
    severity: 'critical',
    description: 'A path outside the allowed root was requested.',
    required: { actor: 'text', path: 'name' },
    optional: { workerId: 'name' },
  },
  invalid_token_used: {
    category: 'security',
    severity: 'critical',
    description: 'An unknown, expired or revoked token was presented (fingerprint only).',
    required: { tokenFingerprint: 'fingerprint', reason: 'text' },
    optional: { sourceIp: 'text' },
  },
  suspicious_activity: {
    category: 'security',
    severity: 'critical',
    description: 'Behaviour matched a suspicious pattern.',
    required: { actor: 'text', description: 'text' },
  },
  integrity_violation: {
    category: 'security',
    severity: 'critical',
    description: 'A component found data that fails its integrity check.',
    required: { component: 'text', detail: 'text' },
    optional: {
      shardId: 'name',
      workerId: 'name',
      gpuDevice: 'uint',
      expectedDigest: 'sha256',
      actualDigest: 'sha256',
    },
  },
  malformed_model_rejected: {
    category: 'security',
    severity: 'warning',
    description: 'A model file was rejected as malformed.',
    required: { modelRef: 'name', reason: 'text' },
  },
  resource_limit_violation: {
    category: 'security',
    severity: 'warning',
    description: 'A request exceeded a resource limit.',
    required: { actor: 'text', resource: 'text', limit: 'uint', requested: 'uint' },
  },
  // data
  inference_executed: {
    category: 'data',
    severity: 'info',
    description: 'An inference ran on a sealed shard.',
    required: { actor: 'text', shardId: 'name', modelRef: 'name' },
    optional: { taskId: 'text' },
  },
  model_accessed: {
    category: 'data',
    severity: 'info',
    description: 'Model weights were read.',
    required: { actor: 'text', modelRef: 'name', access: ['read', 'load', 'download'] },
  },
  data_deleted: {
    category: 'data',
    severity: 'warning',
    description: 'Data was deleted.',
    required: { actor: 'text', dataRef: 'text', reason: 'text' },
  },
  // compliance
  gdpr_data_access_request: {
    category: 'compliance',
    severity: 'info',
    description: 'A data subject asked for access (GDPR Art. 15).',
    required: { subjectRef: 'text', requestId: 'text' },
  },
  gdpr_data_export: {
    category: 'compliance',
    severity: 'info',
    description: "A data subject's data was exported (GDPR Art. 20).",
    required: { subjectRef: 'text', requestId: 'text' },
    optional: { destination: 'text' },
  },
  gdpr_right_to_erasure: {
    category: 'compliance',
    severity: 'warning',
    description: "A data subject's data was erased (GDPR Art. 17).",
    required: { subjectRef: 'text', requestId: 'text' },
  },
  // system: written by the logger itself, refused from emit()
  audit_log_repaired: {
    category: 'system',
    severity: 'critical',
    description: 'On open, a torn (partially written, never acknowledged) tail was cut off.',
    required: { file: 'text', droppedBytes: 'uint', droppedSha256: 'sha256', lastGoodSeq: 'uint' },
  },
} as const satisfies Record<string, EventSchema>;

type Schemas = typeof EVENT_SCHEMAS;

/** Every event type, the logger's own `system` ones included. */
export type LoggedEventType = keyof Schemas;

/** Event types a caller may emit (everything but the `system` category). */
export type AuditEventType = {
  [T in LoggedEventType]: Schemas[T]['category'] extends 'system' ? never : T;
}[LoggedEventType];

type ValueOf<K> = K extends 'uint'
  ? number
  : K extends 'bool'
    ? boolean
    : K extends readonly (infer E)[]
      ? E
      : string;

type RequiredFields<S> = S extends { required: infer R }
  ? { -readonly [F in keyof R]: ValueOf<R[F]> }
  : never;
type OptionalFields<S> = S extends { optional: infer O }
  ? { -readonly [F in keyof O]?: ValueOf<O[F]> }
  : unknown;
type CommonFields = { [F in keyof typeof COMMON_OPTIONAL_FIELDS]?: string };

type EventOf<T extends LoggedEventType> = { type: T } & RequiredFields<Schemas[T]> &
  OptionalFields<Schemas[T]> &
  CommonFields;

/** One audit event: a discriminated union over `type`, generated from `EVENT_SCHEMAS`. */
export type AuditEvent = { [T in AuditEventType]: EventOf<T> }[AuditEventType];

/** What a record on disk may hold: caller events plus the logger's own system events. */
export type LoggedEvent = { [T in LoggedEventType]: EventOf<T> }[LoggedEventType];

export function isKnownEventType(type: string): type is LoggedEventType {
  return Object.hasOwn(EVENT_SCHEMAS, type);
}

export function severityOf(type: LoggedEventType): Severity {
  return EVENT_SCHEMAS[type].severity;
}
