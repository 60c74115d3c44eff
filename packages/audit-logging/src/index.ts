export {
  type Checkpoint,
  checkpointNote,
  decodeCheckpoint,
} from './checkpoint/checkpoint.js';
export type { CheckpointPublicKey, CheckpointSigningKey } from './checkpoint/keys.js';
export {
  type ConsistencyProof,
  type InclusionProof,
  type ProofCheck,
  verifyCheckpoint,
  verifyCheckpointConsistency,
  verifyRecordInclusion,
} from './checkpoint/proofs.js';
export { canonicalJson } from './envelope/canonical-json.js';
export { type AuditRecord, GENESIS_MAC } from './envelope/record.js';
export {
  AUDIT_ERROR_CODES,
  AuditClosedError,
  AuditConfigError,
  AuditError,
  type AuditErrorCode,
  AuditIntegrityError,
  AuditUnreadableError,
  AuditValidationError,
  AuditWriteError,
} from './errors.js';
export { tokenFingerprint } from './events/fingerprint.js';
export {
  type AuditEvent,
  type AuditEventType,
  type Category,
  COMMON_OPTIONAL_FIELDS,
  EVENT_SCHEMAS,
  type EventSchema,
  type FieldKind,
  type LoggedEvent,
  type LoggedEventType,
  type Severity,
} from './events/schema.js';
export { MAX_FIELD_BYTES, validateEvent, validateField } from './events/validate.js';
export { AuditLogger } from './logger/audit-logger.js';
export type { AuditReceipt } from './logger/group-commit.js';
export type { AuditLoggerOptions, Durability } from './logger/options.js';
export {
  type VerifyFailure,
  type VerifyOptions,
  type VerifyReport,
  verifyAuditLog,
} from './verify/verify-log.js';
