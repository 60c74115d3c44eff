/**
 * Every error this package throws is an `AuditError` with a stable `code`, so callers can branch on
 * the code and operators can grep for it. Messages name the argument or file, say what was wrong and
 * what to do, and never contain key material, tokens or pointers.
 */
export const AUDIT_ERROR_CODES = [
  'INVALID_INPUT',
  'CONFIG_ERROR',
  'AUDIT_WRITE_FAILED',
  'AUDIT_CLOSED',
  'INTEGRITY_VIOLATION',
  'AUDIT_UNREADABLE',
] as const;

export type AuditErrorCode = (typeof AUDIT_ERROR_CODES)[number];

export interface AuditErrorOptions {
  /** The event field or option at fault, where there is one. */
  argument?: string;
  cause?: unknown;
  retriable?: boolean;
}

export class AuditError extends Error {
  readonly code: AuditErrorCode;
  /** The event field or option at fault (`field` / `option` on the subclasses that have one). */
  readonly argument: string | undefined;
  /** True when retrying the same call later may succeed (e.g. after freeing disk space). */
  readonly retriable: boolean;

  constructor(code: AuditErrorCode, message: string, options: AuditErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.argument = options.argument;
    this.retriable = options.retriable ?? false;
  }
}

/** An event or argument was rejected before anything was written; `field` names the culprit. */
export class AuditValidationError extends AuditError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('INVALID_INPUT', message, { argument: field });
    this.field = field;
  }
}

/** `AuditLogger.open` options are unusable (bad dir, key, durability mode, ...). */
export class AuditConfigError extends AuditError {
  readonly option: string;
  constructor(option: string, message: string, cause?: unknown) {
    super('CONFIG_ERROR', message, { argument: option, cause });
    this.option = option;
  }
}

/**
 * The disk refused a write or fsync (disk full, permission, I/O error). The events of the failed
 * batch were NOT acknowledged and were rolled back from the file; the log stays consistent.
 */
export class AuditWriteError extends AuditError {
  /** errno code from the OS (`ENOSPC`, `EACCES`, `EIO`, ...), when there was one. */
  readonly osCode: string | undefined;
  constructor(message: string, cause: unknown) {
    const osCode = errnoCode(cause);
    super('AUDIT_WRITE_FAILED', message, { cause, retriable: osCode !== 'EIO' });
    this.osCode = osCode;
  }
}

/** `emit`/`flush` after `close()` (or after an unrecoverable write failure). */
export class AuditClosedError extends AuditError {
  constructor(message: string) {
    super('AUDIT_CLOSED', message);
  }
}

/** Files on disk contradict the chain (found while opening an existing log). */
export class AuditIntegrityError extends AuditError {
  readonly seq: number | null;
  constructor(seq: number | null, message: string) {
    super('INTEGRITY_VIOLATION', message);
    this.seq = seq;
  }
}

/** The log directory or one of its files could not be read at all. */
export class AuditUnreadableError extends AuditError {
  constructor(message: string, cause?: unknown) {
    super('AUDIT_UNREADABLE', message, { cause });
  }
}

export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
