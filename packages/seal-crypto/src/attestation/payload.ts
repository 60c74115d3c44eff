import { assertText, encodeAscii, PayloadWriter } from '../encoding/payload-writer.js';
import { assertBytes, assertBytesOfLength, assertInteger } from '../errors/arguments.js';
import { invalidType, outOfRange } from '../errors/errors.js';
import { encodeSealPayloadNamed, type SealFields } from '../seal/payload.js';

/** Version of the attestation payload layout below; bump it for any change to the bytes. */
export const ATTESTATION_PAYLOAD_VERSION = 1;

/**
 * Domain-separation tag of the attestation payload (ASCII). The encoding writes it followed by one
 * 0x00 byte (29 bytes in all); unlike SEAL_PAYLOAD_TAG, the constant does not include the NUL.
 */
export const ATTESTATION_PAYLOAD_TAG = 'vramseal/attestation-payload';

const MAX_DEVICE_NAME_BYTES = 65_535;
const MAX_SHORT_STRING_BYTES = 255;
const MIN_NONCE_BYTES = 8;
const MAX_NONCE_BYTES = 1024;

/**
 * A VRAM residency attestation: the statement that a sealed shard is resident in device memory,
 * as measured now. The encoding adds the tag and ATTESTATION_PAYLOAD_VERSION in front.
 */
export interface AttestationFields {
  /** Every sealed field of the shard, validated exactly as encodeSealPayload does. */
  seal: SealFields;
  /** The device's name (UTF-8, 1..65535 bytes). */
  deviceName: string;
  /** The device's UUID (UTF-8, 1..255 bytes). */
  deviceUuid: string;
  /** The device's compute capability, e.g. '9.0' (UTF-8, 0..255 bytes; '' on a host mock). */
  computeCapability: string;
  /** Memory type read from the pointer attributes: 'device' | 'host' | 'managed' (1..255 bytes). */
  memoryType: string;
  /** The tree root recomputed from device memory now (32 bytes). */
  measuredTreeRoot: Uint8Array;
  /** The verifier's challenge (8..1024 bytes); see the README on freshness. */
  nonce: Uint8Array;
  /** When the measurement was made: milliseconds since the Unix epoch (UTC), 0..2^53-1. */
  attestedAt: number;
}

/**
 * The canonical bytes an attestation signs (layout in the README): the tag + 0x00, the version,
 * the seal payload as u32 length + exactly the bytes encodeSealPayload(fields.seal) returns, then
 * the device and measurement fields in a fixed order. Explicit lengths make it injective.
 */
export function encodeAttestationPayload(fields: AttestationFields): Uint8Array {
  if (fields === null || typeof fields !== 'object') {
    throw invalidType('fields', 'fields must be an AttestationFields object');
  }
  // The seal first (it comes first in the bytes): one definition of its bytes and its checks.
  const seal = encodeSealPayloadNamed(fields.seal, 'fields.seal');
  assertAttestationFields(fields);
  const writer = new PayloadWriter();
  writer.bytes(encodeAscii(ATTESTATION_PAYLOAD_TAG));
  writer.bytes(new Uint8Array(1));
  writer.u16(ATTESTATION_PAYLOAD_VERSION);
  writer.lengthPrefixed(seal);
  writer.string(fields.deviceName);
  writer.string(fields.deviceUuid);
  writer.string(fields.computeCapability);
  writer.string(fields.memoryType);
  writer.bytes(fields.measuredTreeRoot);
  writer.lengthPrefixed(fields.nonce);
  writer.u64(fields.attestedAt);
  return writer.finish();
}

/** Validates every field but `seal` (checked by the seal encoder, under `fields.seal`). */
function assertAttestationFields(fields: object): asserts fields is AttestationFields {
  const f = fields as Record<string, unknown>;
  assertText(f.deviceName, 'fields.deviceName', 1, MAX_DEVICE_NAME_BYTES);
  assertText(f.deviceUuid, 'fields.deviceUuid', 1, MAX_SHORT_STRING_BYTES);
  assertText(f.computeCapability, 'fields.computeCapability', 0, MAX_SHORT_STRING_BYTES);
  assertText(f.memoryType, 'fields.memoryType', 1, MAX_SHORT_STRING_BYTES);
  assertBytesOfLength(f.measuredTreeRoot, 32, 'fields.measuredTreeRoot');
  assertBytes(f.nonce, 'fields.nonce');
  if (f.nonce.length < MIN_NONCE_BYTES || f.nonce.length > MAX_NONCE_BYTES) {
    throw outOfRange(
      'fields.nonce',
      `fields.nonce must be ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES} bytes, got ${f.nonce.length}`,
    );
  }
  assertInteger(f.attestedAt, 'fields.attestedAt', 0, Number.MAX_SAFE_INTEGER);
}
