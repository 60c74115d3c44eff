/** Every stable code of seal-crypto's errors. */
export const SEAL_CRYPTO_ERROR_CODES = [
  /** An argument of the wrong type (a TypeError) or out of range (a RangeError); see `argument`. */
  'INVALID_ARGUMENT',
  'WEAK_SECRET',
  'KEY_FILE_UNREADABLE',
  'KEY_FILE_SYMLINK',
  'KEY_FILE_PERMISSIONS',
  'KEY_FILE_FORMAT',
  'KEY_ID_MISMATCH',
  'KEY_PURPOSE_MISMATCH',
  'HASH_FINALIZED',
  'TREE_DIGEST_WORKER_FAILED',
] as const;

export type SealCryptoErrorCode = (typeof SEAL_CRYPTO_ERROR_CODES)[number];

export interface SealCryptoErrorOptions {
  /** The argument or option at fault, e.g. `fields.digest`. */
  argument?: string;
  cause?: unknown;
}

const BRAND = Symbol('SealCryptoError');

/**
 * The one error class of seal-crypto. `code` is stable and meant for programs; `argument` names
 * the argument at fault, where there is one; `message` is for people and never contains key bytes,
 * tokens or file contents; `cause` keeps the underlying error.
 *
 * A bad argument is thrown, like Node's own ERR_INVALID_ARG_* errors, as a `TypeError` (wrong
 * type) or `RangeError` (wrong value) with code INVALID_ARGUMENT, so `instanceof TypeError` keeps
 * working; `instanceof SealCryptoError` is true for those too. (So it has no subclasses: the check
 * is the package's brand, not the prototype chain.)
 */
export class SealCryptoError extends Error {
  declare readonly code: SealCryptoErrorCode;
  declare readonly argument: string | undefined;

  constructor(code: SealCryptoErrorCode, message: string, options: SealCryptoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    stamp(this, code, options.argument);
  }

  /** Every error this package made, the TypeError / RangeError argument errors included. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && Object.hasOwn(value, BRAND);
  }
}

/** An argument of the wrong type: a TypeError with code INVALID_ARGUMENT naming `argument`. */
export function invalidType(argument: string, message: string): TypeError {
  return stamp(new TypeError(message), 'INVALID_ARGUMENT', argument);
}

/** An argument with a wrong value: a RangeError with code INVALID_ARGUMENT naming `argument`. */
export function outOfRange(argument: string, message: string): RangeError {
  return stamp(new RangeError(message), 'INVALID_ARGUMENT', argument);
}

function stamp<E extends Error>(error: E, code: SealCryptoErrorCode, argument?: string): E {
  Object.defineProperty(error, BRAND, { value: true });
  Object.assign(error, { code, argument });
  return error;
}
