import { validateField } from '@vramseal/audit-logging';
import { containsSecret } from '@vramseal/narration-core';
import { describeValue, invalidInput, messageOf } from '../errors.js';

/**
 * The manager's input rules, in one place. Every string it accepts here is also accepted by the
 * audit log's validator (a test checks that with random inputs), so an accepted id can always be
 * audited and narrated.
 */

/** Shard ids: what is safe as a file name, a URL segment, a metric label and a log token. */
export const SHARD_ID_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

/** Worker ids also allow dots and colons (`gpu-17.example:0`). */
export const WORKER_ID_PATTERN = /^[A-Za-z0-9._:-]{1,256}$/;

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** A SHA-256 as the manager writes it: 64 lowercase hex. */
export const LOWER_SHA256_HEX = /^[0-9a-f]{64}$/;

/** A seal key id as seal-crypto makes them: 16 lowercase hex. */
export const KEY_ID = /^[0-9a-f]{16}$/;

/** A non-negative safe integer (sizes, indexes, times). */
export function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** True when an id tries to name a path: separators, parent references or a NUL. */
export function looksLikePathTraversal(id: string): boolean {
  return id.includes('/') || id.includes('\\') || id.includes('..') || id.includes('\u0000');
}

export function checkShardId(value: unknown, argument = 'options.shardId'): string {
  if (typeof value !== 'string') {
    throw invalidInput(argument, `${argument} must be a string, got ${describeValue(value)}`);
  }
  if (!SHARD_ID_PATTERN.test(value)) {
    throw invalidInput(
      argument,
      `${argument} must be 1 to 256 characters of A-Z, a-z, 0-9, '_' and '-' (got ${describeValue(value)}${whyIdIsBad(value)}); ` +
        'leave it out to get an opaque id',
    );
  }
  refuseCredential(value, argument, 'an opaque id');
  return value;
}

/**
 * True when `value` holds what the narration's redaction rules recognise as a secret (a provider
 * token, an AWS key, a password in a URL, ...). Ids and model refs go into the signed seal, every
 * audit record and the narration exactly as given: a credential there could never be taken back.
 */
export function holdsCredential(value: string): boolean {
  return containsSecret(value);
}

function refuseCredential(value: string, argument: string, instead: string): void {
  if (!holdsCredential(value)) return;
  // The value is not repeated: the error would carry the credential into logs.
  throw invalidInput(
    argument,
    `${argument} looks like it holds a credential (a token, key or password); it would be signed ` +
      `into the seal and written to the audit log and narration as given: use ${instead} without it`,
  );
}

function whyIdIsBad(value: string): string {
  if (value.length === 0) return ', which is empty';
  if (value.length > 256) return ', which is too long';
  if (value.includes('\u0000')) return ' holding a NUL byte';
  if (looksLikePathTraversal(value)) return ' that looks like a path';
  return ' holding other characters';
}

/**
 * A model ref: empty (none), or what the audit log accepts in a `name` field (printable,
 * 1..1024 UTF-8 bytes; `sha256:<hex>` allowed). The audit log's own check decides, so there is one
 * definition of a printable name and every accepted ref can be recorded.
 */
export function checkModelRef(value: unknown, argument = 'options.modelRef'): string {
  if (value === undefined || value === '') return '';
  if (typeof value !== 'string') {
    throw invalidInput(
      argument,
      `${argument} must be a model reference such as "meta-llama/Llama-3-8B@main" or "sha256:<hex>", got ${describeValue(value)}`,
    );
  }
  try {
    validateField(argument, 'name', value);
  } catch (error) {
    throw invalidInput(
      argument,
      `${messageOf(error)}; give printable text of at most 1024 bytes, such as "meta-llama/Llama-3-8B@main"`,
      error,
    );
  }
  refuseCredential(value, argument, 'the model\'s name, e.g. "org/model@rev"');
  return value;
}

/** A SHA-256 given as 64 hex characters (either case); returned in lowercase. */
export function checkSha256Hex(value: unknown, argument: string): string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) {
    throw invalidInput(
      argument,
      `${argument} must be a SHA-256 as 64 hex characters (e.g. from \`sha256sum\`), got ${describeValue(value)}`,
    );
  }
  return value.toLowerCase();
}

export function checkInteger(value: unknown, argument: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidInput(
      argument,
      `${argument} must be an integer from ${min} to ${max}, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** An index of one of `deviceCount` devices. */
export function isDeviceIndex(value: unknown, deviceCount: number): value is number {
  return (
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value < deviceCount
  );
}

/** Device index, or 'auto' (the device with the most available VRAM). */
export function checkDeviceChoice(value: unknown, deviceCount: number): number | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  if (!isDeviceIndex(value, deviceCount)) {
    throw invalidInput(
      'options.device',
      `options.device must be 'auto' or a device index from 0 to ${deviceCount - 1}, got ${describeValue(value)}`,
    );
  }
  return value;
}

export function checkFunction<T>(value: unknown, argument: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw invalidInput(argument, `${argument} must be a function, got ${describeValue(value)}`);
  }
  return value as T;
}

export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) {
    throw invalidInput(
      'options.signal',
      `options.signal must be an AbortSignal, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** A verifier's nonce: bytes, or a string taken as its UTF-8 bytes; 8..1024 bytes. */
export function checkNonce(value: unknown, argument = 'options.nonce'): Uint8Array {
  const bytes =
    typeof value === 'string'
      ? new TextEncoder().encode(value)
      : value instanceof Uint8Array
        ? value
        : undefined;
  if (bytes === undefined || bytes.length < 8 || bytes.length > 1024) {
    throw invalidInput(
      argument,
      `${argument} must be 8 to 1024 bytes (a Uint8Array, or a string), fresh for each attestation (e.g. randomBytes(16)); got ${describeValue(value)}`,
    );
  }
  return new Uint8Array(bytes);
}

/** The visible, escaped form of an attacker-chosen id, for audit and narration (never raw). */
export function escapeForRecord(value: string, maxChars = 200): string {
  let out = '';
  for (const ch of value) {
    if (out.length >= maxChars) return `${out}…`;
    const code = ch.codePointAt(0)!;
    out += code >= 0x20 && code < 0x7f ? ch : `\\u{${code.toString(16)}}`;
  }
  return out;
}
