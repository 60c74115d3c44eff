/**
 * Every stable machine-readable code. A code never changes meaning once released; messages may be
 * reworded.
 */
export const NARRATION_ERROR_CODES = [
  'INVALID_OPTION',
  'INVALID_NARRATION',
  'INVALID_CORRELATION_ID',
  'INVALID_ARGUMENT',
  'ASSERTION_FAILED',
  'GOLDEN_MISMATCH',
] as const;

export type NarrationErrorCode = (typeof NARRATION_ERROR_CODES)[number];

export interface NarrationErrorOptions {
  /** The option, field or parameter that was wrong. */
  argument?: string;
  cause?: unknown;
}

/**
 * The one error class of narration-core. `argument` names the option, field or parameter that
 * was wrong, so a caller can react without parsing the message; `cause` keeps the underlying error.
 */
export class NarrationError extends Error {
  readonly code: NarrationErrorCode;
  readonly argument: string | undefined;

  constructor(code: NarrationErrorCode, message: string, options: NarrationErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.argument = options.argument;
  }
}
