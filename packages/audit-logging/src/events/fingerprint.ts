import { sha256Hex } from '@vramseal/seal-crypto';
import { AuditValidationError } from '../errors.js';

const utf8 = new TextEncoder();

/**
 * The only form in which a token may appear in the audit log: `sha256:` + the first 16 hex digits
 * (64 bits) of SHA-256(token). Enough to correlate "the same token" across events, useless for
 * using it. Tokens must be high-entropy for this to be safe (a guessable password is not a token).
 */
export function tokenFingerprint(token: string | Uint8Array): string {
  if (typeof token !== 'string' && !(token instanceof Uint8Array)) {
    throw new AuditValidationError(
      'token',
      'tokenFingerprint(token): token must be a string or Uint8Array',
    );
  }
  const bytes = typeof token === 'string' ? utf8.encode(token) : token;
  return `sha256:${sha256Hex(bytes).slice(0, 16)}`;
}
