import { randomUUID } from 'node:crypto';

/**
 * A correlation id is a UUID version 4 (RFC 9562 section 5.4): 8-4-4-4-12 hex digits, the
 * version nibble (first digit of the third group) is 4, and the variant bits (first digit of the
 * fourth group) are 10xx, i.e. 8, 9, a or b. Upper-case hex is accepted on input (RFC 9562
 * section 4 says UUIDs compare case-insensitively); ids made here are lower-case.
 */
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** A fresh random correlation id (UUID v4, lower-case). */
export function newCorrelationId(): string {
  return randomUUID();
}

/** True when `value` is a string holding a UUID v4 with the RFC 9562 version and variant. */
export function isValidCorrelationId(value: unknown): value is string {
  return typeof value === 'string' && UUID_V4.test(value);
}
