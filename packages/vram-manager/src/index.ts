export {
  ATTESTATION_FORMAT,
  type AttestationCheck,
  type AttestationFailure,
  type AttestationStatement,
  attestationFieldsOf,
  type VerifyAttestationOptions,
  verifyAttestation,
} from './attestation/attestation.js';
export { DEFAULT_LEAF_SIZE, type VramManagerOptions, type VramPolicy } from './config/options.js';
export {
  type PolicyViolation,
  type VerificationCheck,
  VRAM_ERROR_CODES,
  VramError,
  type VramErrorCode,
} from './errors.js';
export { SHARD_ID_PATTERN, WORKER_ID_PATTERN } from './input/validate.js';
export type {
  AttestOptions,
  DeviceReport,
  FaultOptions,
  ManagerState,
  ResetOptions,
  SealOptions,
  StopReason,
  VerifyOptions,
} from './manager/types.js';
export { VramManager } from './manager/vram-manager.js';
export { METRIC_NAMES } from './metrics/metrics.js';
export { NARRATION_ACTOR, type NarrationAction } from './observe/narration.js';
export type { ShardSource } from './seal/source.js';
export type { UploadProgress } from './seal/upload.js';
export {
  ModelShardHandle,
  SealedShard,
  type SealedShardJSON,
  sealFieldsOf,
} from './shard/sealed-shard.js';
