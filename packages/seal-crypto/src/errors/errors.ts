/** Stable codes for every domain error this package throws (argument mistakes are TypeError/RangeError). */
export type SealCryptoErrorCode =
  | 'WEAK_SECRET'
  | 'KEY_FILE_UNREADABLE'
  | 'KEY_FILE_SYMLINK'
  | 'KEY_FILE_PERMISSIONS'
  | 'KEY_FILE_FORMAT'
  | 'KEY_ID_MISMATCH'
  | 'KEY_PURPOSE_MISMATCH'
  | 'HASH_FINALIZED'
  | 'TREE_DIGEST_WORKER_FAILED';

/**
 * The one base class for seal-crypto's domain errors. `code` is stable and meant for programs;
 * `message` is for people and never contains key bytes, tokens or file contents.
 */
export class SealCryptoError extends Error {
  readonly code: SealCryptoErrorCode;

  constructor(code: SealCryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealCryptoError';
    this.code = code;
  }
}
