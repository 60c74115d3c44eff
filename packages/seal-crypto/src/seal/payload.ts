import { assertBytesOfLength, assertInteger, assertString } from '../errors/arguments.js';

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

const utf8 = new TextEncoder();

/**
 * The canonical bytes a seal signs (layout in the README): the tag, the version, then every field
 * in a fixed order; integers big-endian, strings as u32 byte length + UTF-8, hashes as 32 raw
 * bytes. Fixed order and explicit lengths make the encoding injective: no two field sets share it.
 */
export function encodeSealPayload(fields: SealFields): Uint8Array {
  assertSealFields(fields);
  const writer = new PayloadWriter();
  writer.bytes(utf8.encode(SEAL_PAYLOAD_TAG));
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

class PayloadWriter {
  readonly #parts: Uint8Array[] = [];

  bytes(value: Uint8Array): void {
    this.#parts.push(value);
  }

  string(value: string): void {
    const encoded = utf8.encode(value);
    this.u32(encoded.length);
    this.#parts.push(encoded);
  }

  u16(value: number): void {
    const part = new Uint8Array(2);
    new DataView(part.buffer).setUint16(0, value);
    this.#parts.push(part);
  }

  u32(value: number): void {
    const part = new Uint8Array(4);
    new DataView(part.buffer).setUint32(0, value);
    this.#parts.push(part);
  }

  u64(value: number): void {
    const part = new Uint8Array(8);
    new DataView(part.buffer).setBigUint64(0, BigInt(value));
    this.#parts.push(part);
  }

  finish(): Uint8Array {
    const total = this.#parts.reduce((sum, part) => sum + part.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

const KEY_ID = /^[0-9a-f]{16}$/;
/** In a `u` regex a surrogate pair is one code point, so \p{Cs} matches only lone halves. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Validates every field up front, so a bad value is a clear error, never a silently odd seal. */
function assertSealFields(fields: unknown): asserts fields is SealFields {
  if (fields === null || typeof fields !== 'object') {
    throw new TypeError('fields must be a SealFields object');
  }
  const f = fields as Record<string, unknown>;
  assertString(f.keyId, 'fields.keyId');
  if (!KEY_ID.test(f.keyId)) {
    throw new RangeError('fields.keyId must be 16 lowercase hex chars (a SecretKey.id)');
  }
  assertText(f.shardId, 'fields.shardId', 1);
  assertInteger(f.device, 'fields.device', 0, MAX_U32);
  assertInteger(f.byteLength, 'fields.byteLength', 0, Number.MAX_SAFE_INTEGER);
  assertBytesOfLength(f.digest, 32, 'fields.digest');
  assertBytesOfLength(f.treeRoot, 32, 'fields.treeRoot');
  assertInteger(f.leafSize, 'fields.leafSize', 64, 2 ** 30);
  if ((f.leafSize & (f.leafSize - 1)) !== 0) {
    throw new RangeError(`fields.leafSize must be a power of two, got ${f.leafSize}`);
  }
  assertInteger(f.sealedAt, 'fields.sealedAt', 0, Number.MAX_SAFE_INTEGER);
  assertText(f.modelRef, 'fields.modelRef', 0);
  assertInteger(f.totalShards, 'fields.totalShards', 1, MAX_U32);
  assertInteger(f.shardIndex, 'fields.shardIndex', 0, f.totalShards - 1);
}

/**
 * Strings must be well-formed UTF-16: a lone surrogate would be encoded as U+FFFD, so two
 * different strings would sign the same bytes.
 */
function assertText(value: unknown, name: string, minBytes: number): asserts value is string {
  assertString(value, name);
  if (LONE_SURROGATE.test(value)) {
    throw new RangeError(`${name} contains a lone surrogate (not valid Unicode); fix the string`);
  }
  const length = utf8.encode(value).length;
  if (length < minBytes || length > MAX_STRING_BYTES) {
    throw new RangeError(
      `${name} must be ${minBytes}..${MAX_STRING_BYTES} bytes of UTF-8, got ${length}`,
    );
  }
}
