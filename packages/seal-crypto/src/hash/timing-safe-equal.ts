import { timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';
import { assertBytes } from '../errors/arguments.js';

/**
 * Compares two byte strings in time that depends only on their lengths, never on where they
 * differ. Different lengths give false (lengths are not secret: MACs and hashes have fixed sizes);
 * even then a full comparison runs, so there is no early exit.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'a');
  assertBytes(b, 'b');
  if (a.length !== b.length) {
    nodeTimingSafeEqual(a, a);
    return false;
  }
  return nodeTimingSafeEqual(a, b);
}
