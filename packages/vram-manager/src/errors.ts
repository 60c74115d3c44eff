/**
 * Every error the manager throws is a `VramError` with a stable `code`. `retriable` says whether
 * the same call may succeed later without anyone changing anything (memory may free up);
 * `fatal` says the worker must not serve inference until an operator has looked (the seal or
 * the VRAM-only guarantee is broken). Messages name what was wrong and what to do, and never
 * contain a pointer, a key or a token.
 */
export const VRAM_ERROR_CODES = {
  INSUFFICIENT_VRAM: { retriable: true, fatal: false },
  SEAL_VERIFICATION_FAILED: { retriable: false, fatal: true },
  NOT_SEALED: { retriable: false, fatal: false },
  INTEGRITY_VIOLATION: { retriable: false, fatal: false },
  INVALID_INPUT: { retriable: false, fatal: false },
  CUDA_ALLOCATION_FAILED: { retriable: true, fatal: false },
  CUDA_DEALLOCATION_FAILED: { retriable: false, fatal: true },
  POLICY_VIOLATION: { retriable: false, fatal: true },
  CONFIG_ERROR: { retriable: false, fatal: false },
  MANAGER_STOPPED: { retriable: false, fatal: false },
  ABORTED: { retriable: true, fatal: false },
  SOURCE_UNREADABLE: { retriable: true, fatal: false },
  DEVICE_ERROR: { retriable: false, fatal: true },
  AUDIT_UNAVAILABLE: { retriable: true, fatal: false },
} as const satisfies Record<string, { retriable: boolean; fatal: boolean }>;

export type VramErrorCode = keyof typeof VRAM_ERROR_CODES;

/** Which part of a seal failed to verify. */
export type VerificationCheck = 'signature' | 'tree_root' | 'digest' | 'unknown_shard';

/** One reason the VRAM-only policy does not hold (see `enforceVramOnlyPolicy`). */
export interface PolicyViolation {
  kind: 'mock_backend' | 'integrated_device' | 'host_memory';
  /** The device concerned, when there is one. */
  device?: number;
  /** The shard whose memory is not device memory (`host_memory`). */
  shardId?: string;
  /** One sentence: what was found. */
  detail: string;
}

export interface VramErrorDetails {
  cause?: unknown;
  /** The option of `VramManager.create` at fault (`CONFIG_ERROR`). */
  option?: string;
  /** The argument at fault (`INVALID_INPUT`), e.g. `options.shardId`. */
  argument?: string;
  /** The check that failed (`SEAL_VERIFICATION_FAILED`). */
  check?: VerificationCheck;
  shardId?: string;
  device?: number;
  /** Bytes asked for and bytes that were available (`INSUFFICIENT_VRAM`). */
  neededBytes?: number;
  availableBytes?: number;
  /** What broke the policy (`POLICY_VIOLATION`). */
  violations?: readonly PolicyViolation[];
  /** Every problem found in the options, the first of which is `option` (`CONFIG_ERROR`). */
  problems?: readonly { option: string; message: string }[];
}

export class VramError extends Error {
  readonly code: VramErrorCode;
  readonly retriable: boolean;
  readonly fatal: boolean;
  readonly option: string | undefined;
  readonly argument: string | undefined;
  readonly check: VerificationCheck | undefined;
  readonly shardId: string | undefined;
  readonly device: number | undefined;
  readonly neededBytes: number | undefined;
  readonly availableBytes: number | undefined;
  readonly violations: readonly PolicyViolation[] | undefined;
  readonly problems: readonly { option: string; message: string }[] | undefined;

  constructor(code: VramErrorCode, message: string, details: VramErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VramError';
    this.code = code;
    this.retriable = VRAM_ERROR_CODES[code].retriable;
    this.fatal = VRAM_ERROR_CODES[code].fatal;
    this.option = details.option;
    this.argument = details.argument;
    this.check = details.check;
    this.shardId = details.shardId;
    this.device = details.device;
    this.neededBytes = details.neededBytes;
    this.availableBytes = details.availableBytes;
    this.violations = details.violations;
    this.problems = details.problems;
  }
}

/** `INVALID_INPUT` naming the argument. */
export function invalidInput(argument: string, message: string, cause?: unknown): VramError {
  return new VramError('INVALID_INPUT', message, { argument, cause });
}

/** `SOURCE_UNREADABLE`: the shard's bytes could not be read (retriable: the source may recover). */
export function sourceUnreadable(message: string, cause?: unknown): VramError {
  return new VramError('SOURCE_UNREADABLE', message, { argument: 'source', cause });
}

/** The error's own message, for wrapping foreign errors (never their stack or fields). */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A short, safe description of a value for messages: never the value itself (it may be secret). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number')
    return Number.isFinite(value) ? `the number ${value}` : String(value);
  return `a value of type ${typeof value}`;
}
