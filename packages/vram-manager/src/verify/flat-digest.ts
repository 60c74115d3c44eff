import type { DeviceAllocation } from '@vramseal/cuda-ffi';
import { createSha256 } from '@vramseal/seal-crypto';

const FLAT_READ_BYTES = 4 * 1024 * 1024;

/** SHA-256 of an allocation's contents, read back in pieces. */
export async function flatDigest(allocation: DeviceAllocation): Promise<Uint8Array> {
  const hash = createSha256();
  for (let offset = 0; offset < allocation.bytes; offset += FLAT_READ_BYTES) {
    hash.update(allocation.read(offset, Math.min(FLAT_READ_BYTES, allocation.bytes - offset)));
    // Give the event loop a turn between pieces: a deep verify of a large shard must not starve it.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return hash.digest();
}
