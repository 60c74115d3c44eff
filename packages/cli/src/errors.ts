/**
 * Exit codes: the contract scripts and CI jobs rely on. `1` means the command worked and found a
 * mismatch (tampered bytes, a tampered log); `2` means it could not do its job (bad arguments, an
 * unreadable file, a bad manifest, a missing key, no device).
 */
export const EXIT_CODES = { ok: 0, mismatch: 1, error: 2 } as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export type CliErrorCode =
  | 'USAGE'
  | 'MISSING_KEY'
  | 'BAD_KEY'
  | 'UNREADABLE_INPUT'
  | 'CANNOT_WRITE'
  | 'BAD_MANIFEST'
  | 'MANIFEST_EDITED'
  | 'WRONG_KEY'
  | 'BACKEND_UNAVAILABLE'
  | 'COMMAND_FAILED';

/**
 * What the command could not do, in one sentence that says what was wrong and what to do. It is
 * printed as is (`vramseal: <message>`); a stack trace only with --verbose.
 */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: ExitCode;

  constructor(
    code: CliErrorCode,
    message: string,
    options: { cause?: unknown; exitCode?: ExitCode } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT_CODES.error;
  }
}

/** The `code` of any error that has one (VramError, SealCryptoError, CudaFfiError, AuditError). */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "cannot read <what> (ENOENT); check the path and its permissions": one sentence for every input. */
export function cannotRead(what: string, error: unknown): string {
  return `cannot read ${what} (${codeOf(error) ?? messageOf(error)}); check the path and its permissions`;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Bytes that do not match what was sealed or expected: exit 1. Everything else failed: exit 2. */
const MISMATCH_CODES = new Set(['INTEGRITY_VIOLATION', 'SEAL_VERIFICATION_FAILED']);

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  return MISMATCH_CODES.has(codeOf(error) ?? '') ? EXIT_CODES.mismatch : EXIT_CODES.error;
}
