import { timingSafeEqual } from '@vramseal/seal-crypto';

// The one hex codec of the log's text formats (MACs, roots, digests: lowercase, as HEX64 reads).

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * True when `hex` spells exactly `bytes`, compared in constant time: MACs are checked this way, and
 * roots too (public, but one way of comparing is easier to get right than two).
 */
export function equalsHex(bytes: Uint8Array, hex: string): boolean {
  return timingSafeEqual(bytes, Buffer.from(hex, 'hex'));
}
