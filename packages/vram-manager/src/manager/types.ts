import type { VerificationCheck } from '../errors.js';
import type { UploadProgress } from '../seal/upload.js';

export type ManagerState = 'ready' | 'stopped' | 'closed';

export interface SealOptions {
  /** Device index, or 'auto' (default): the device with the most available memory. */
  device?: number | 'auto';
  /** 1-256 of A-Z a-z 0-9 _ -; unique among live shards. Default: an opaque `shard-<uuid>`. */
  shardId?: string;
  /** Which model this shard belongs to ("org/model@rev", "sha256:<hex>"); printable, <= 1024 bytes. */
  modelRef?: string;
  /** The SHA-256 the bytes must have (e.g. the registry's published file hash), 64 hex. */
  expectedSha256?: string;
  /** Position in a tensor-parallel shard set (default 0 of 1). */
  shardIndex?: number;
  totalShards?: number;
  /** Size in bytes: required for an AsyncIterable source; checked against the others. */
  byteLength?: number;
  /** Called after each chunk reaches the device (it must not throw; if it does, it is not called again). */
  onProgress?: (progress: UploadProgress) => void;
  /** Aborts the seal: memory freed, reservation released, rejects with code ABORTED. */
  signal?: AbortSignal;
}

export interface VerifyOptions {
  /** Also re-hash the flat SHA-256 of the device contents (reads them back: slower). */
  deep?: boolean;
}

export interface ResetOptions {
  /** Who resets (a person or system), recorded in the audit log. */
  operator: string;
  /** Why it is safe to serve again, recorded in the audit log. */
  reason: string;
}

export interface AttestOptions {
  /** The verifier's fresh nonce (8..1024 bytes, or a string). */
  nonce: Uint8Array | string;
}

export interface FaultOptions {
  /** Byte offset in the shard. */
  offset: number;
  /** XOR mask, 1..255. */
  xorMask: number;
}

/** Why the manager stopped, while it is stopped. */
export interface StopReason {
  /** `seal_verification_failed` or `policy_violation`. */
  cause: 'seal_verification_failed' | 'policy_violation';
  check?: VerificationCheck;
  shardId?: string;
  /** ms since the epoch. */
  at: number;
  /** Failures that happened after this one while the manager was already stopped. */
  laterFailures?: number;
}

/** One device as the `devices()` report shows it. */
export interface DeviceReport {
  index: number;
  name: string;
  uuid: string;
  totalBytes: number;
  availableBytes: number;
  usedBytes: number;
  computeCapability: string | null;
  integrated: boolean;
  managedMemory: boolean;
  pageableMemoryAccess: boolean;
  unifiedAddressing: boolean;
  /** Whether shards sealed here live in VRAM only, and why. */
  vramOnly: { ok: boolean; reason: string };
}
