/**
 * Stable machine-readable codes. A code never changes meaning once released; messages may be
 * reworded.
 */
export type NarrationErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_NARRATION'
  | 'INVALID_CORRELATION_ID'
  | 'INVALID_ARGUMENT'
  | 'ASSERTION_FAILED'
  | 'GOLDEN_MISMATCH';

/**
 * The one error class of narration-core. `argument` names the option, field or parameter that
 * was wrong, so a caller can react without parsing the message.
 */
export class NarrationError extends Error {
  override readonly name = 'NarrationError';
  readonly code: NarrationErrorCode;
  readonly argument: string | undefined;

  constructor(code: NarrationErrorCode, message: string, argument?: string) {
    super(message);
    this.code = code;
    this.argument = argument;
  }
}
