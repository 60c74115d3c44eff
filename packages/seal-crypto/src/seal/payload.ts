import { assertText, encodeAscii, PayloadWriter } from '../encoding/payload-writer.js';
import { assertBytesOfLength, assertInteger, assertString } from '../errors/arguments.js';
import { invalidType, outOfRange } from '../errors/errors.js';

/** Version of the seal payload layout below; bump it for any change to the bytes. */
export const SEAL_PAYLOAD_VERSION = 1;

/** Domain-separation tag that opens every payload (ASCII, NUL-terminated, 22 bytes). */
export const SEAL_PAYLOAD_TAG = 'vramseal/seal-payload\u0000';

const MAX_STRING_BYTES = 65_535;
const MAX_U32 = 0xffff_ffff;

/** Every field a seal signs. The encoding adds the tag and SEAL_PAYLOAD_VERSION in front. */
export interface SealFields {
  /** Id of the seal key (SecretKey.id): 16 lowercase hex chars. */
  keyId: string;
  /** The shard's id (UTF-8, 1..65535 bytes). */
  shardId: string;
  /** Device ordinal the shard is resident on (u32). */
  device: number;
  /** Shard size in bytes (0..2^53-1). */
  byteLength: number;
  /** SHA-256 of the whole shard (32 bytes). */
  digest: Uint8Array;
  /** sha256-tree-v1 root of the shard (32 bytes). */
  treeRoot: Uint8Array;
  /** Leaf size of the tree root: a power of two, 64..2^30. */
  leafSize: number;
  /** When the seal was made: milliseconds since the Unix epoch (UTC), 0..2^53-1. */
  sealedAt: number;
  /** Which model this shard belongs to (UTF-8, 0..65535 bytes; may be empty). */
  modelRef: string;
  /** Position of this shard in the model (u32, < totalShards). */
  shardIndex: number;
  /** Number of shards of the model (u32, >= 1). */
  totalShards: number;
}

/**
 * The canonical bytes a seal signs (layout in the README): the tag, the version, then every field
 * in a fixed order; integers big-endian, strings as u32 byte length + UTF-8, hashes as 32 raw
 * bytes. Fixed order and explicit lengths make the encoding injective: no two field sets share it.
 */
export function encodeSealPayload(fields: SealFields): Uint8Array {
  return encodeSealPayloadNamed(fields, 'fields');
}

/**
 * encodeSealPayload, with errors naming the fields under `name` (`fields.seal.digest` when the
 * seal is embedded in an attestation). The one definition of the seal payload bytes; not exported
 * from the package.
 */
export function encodeSealPayloadNamed(fields: unknown, name: string): Uint8Array {
  assertSealFields(fields, name);
  const writer = new PayloadWriter();
  writer.bytes(encodeAscii(SEAL_PAYLOAD_TAG));
  writer.u16(SEAL_PAYLOAD_VERSION);
  writer.string(fields.keyId);
  writer.string(fields.shardId);
  writer.u32(fields.device);
  writer.u64(fields.byteLength);
  writer.bytes(fields.digest);
  writer.bytes(fields.treeRoot);
  writer.u32(fields.leafSize);
  writer.u64(fields.sealedAt);
  writer.string(fields.modelRef);
  writer.u32(fields.shardIndex);
  writer.u32(fields.totalShards);
  return writer.finish();
}

const KEY_ID = /^[0-9a-f]{16}$/;

/** Validates every field up front, so a bad value is a clear error, never a silently odd seal. */
function assertSealFields(fields: unknown, name: string): asserts fields is SealFields {
  if (fields === null || typeof fields !== 'object') {
    throw invalidType(name, `${name} must be a SealFields object`);
  }
  const f = fields as Record<string, unknown>;
  assertString(f.keyId, `${name}.keyId`);
  if (!KEY_ID.test(f.keyId)) {
    throw outOfRange(
      `${name}.keyId`,
      `${name}.keyId must be 16 lowercase hex chars (a SecretKey.id)`,
    );
  }
  assertText(f.shardId, `${name}.shardId`, 1, MAX_STRING_BYTES);
  assertInteger(f.device, `${name}.device`, 0, MAX_U32);
  assertInteger(f.byteLength, `${name}.byteLength`, 0, Number.MAX_SAFE_INTEGER);
  assertBytesOfLength(f.digest, 32, `${name}.digest`);
  assertBytesOfLength(f.treeRoot, 32, `${name}.treeRoot`);
  assertInteger(f.leafSize, `${name}.leafSize`, 64, 2 ** 30);
  if ((f.leafSize & (f.leafSize - 1)) !== 0) {
    throw outOfRange(
      `${name}.leafSize`,
      `${name}.leafSize must be a power of two, got ${f.leafSize}`,
    );
  }
  assertInteger(f.sealedAt, `${name}.sealedAt`, 0, Number.MAX_SAFE_INTEGER);
  assertText(f.modelRef, `${name}.modelRef`, 0, MAX_STRING_BYTES);
  assertInteger(f.totalShards, `${name}.totalShards`, 1, MAX_U32);
  assertInteger(f.shardIndex, `${name}.shardIndex`, 0, f.totalShards - 1);
}
