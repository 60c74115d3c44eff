import { inspect } from 'node:util';
import { type SealFields, timingSafeEqual } from '@vramseal/seal-crypto';
import { isUint, LOWER_SHA256_HEX } from '../input/validate.js';

/** What a seal says about a shard: exactly the fields `toJSON()` gives. */
export interface SealedShardJSON {
  shardId: string;
  gpuDevice: number;
  vramBytes: number;
  /** SHA-256 of the shard's bytes, 64 lowercase hex (comparable with a registry's file hash). */
  digest: string;
  /** sha256-tree-v1 root over the device contents, 64 lowercase hex. */
  treeRoot: string;
  leafSize: number;
  /** When it was sealed, ms since the epoch. */
  sealedAt: number;
  modelRef: string;
  shardIndex: number;
  totalShards: number;
  /** Id of the seal key that signed it (16 hex; never the key). */
  keyId: string;
}

/**
 * The signature of each shard, kept outside the object: nothing reachable from a SealedShard
 * (its properties, JSON, inspect output) leads to it, to the allocation or to a pointer.
 */
const signatures = new WeakMap<SealedShard, Uint8Array>();

/**
 * A shard sealed in device memory. Plain data plus an HMAC signature the manager holds for it:
 * the fields are ordinary properties, so a copy can travel through a scheduler, but changing any
 * of them (or presenting a copy that lost its signature) fails `verifySealed` with check
 * `signature`.
 */
export class SealedShard implements SealedShardJSON {
  readonly shardId: string;
  readonly gpuDevice: number;
  readonly vramBytes: number;
  readonly digest: string;
  readonly treeRoot: string;
  readonly leafSize: number;
  readonly sealedAt: number;
  readonly modelRef: string;
  readonly shardIndex: number;
  readonly totalShards: number;
  readonly keyId: string;

  /** @internal Made by VramManager.sealModel(). */
  constructor(fields: SealedShardJSON, signature: Uint8Array) {
    this.shardId = fields.shardId;
    this.gpuDevice = fields.gpuDevice;
    this.vramBytes = fields.vramBytes;
    this.digest = fields.digest;
    this.treeRoot = fields.treeRoot;
    this.leafSize = fields.leafSize;
    this.sealedAt = fields.sealedAt;
    this.modelRef = fields.modelRef;
    this.shardIndex = fields.shardIndex;
    this.totalShards = fields.totalShards;
    this.keyId = fields.keyId;
    signatures.set(this, new Uint8Array(signature));
  }

  toJSON(): SealedShardJSON {
    return {
      shardId: this.shardId,
      gpuDevice: this.gpuDevice,
      vramBytes: this.vramBytes,
      digest: this.digest,
      treeRoot: this.treeRoot,
      leafSize: this.leafSize,
      sealedAt: this.sealedAt,
      modelRef: this.modelRef,
      shardIndex: this.shardIndex,
      totalShards: this.totalShards,
      keyId: this.keyId,
    };
  }

  [inspect.custom](
    _depth: number,
    options: { stylize: (s: string, style: string) => string },
  ): string {
    const body = inspect(this.toJSON(), { ...options, depth: 1 });
    return `SealedShard ${body}`;
  }
}

/** The signature the manager made for `shard`, or undefined for anything it did not issue. */
export function signatureOf(shard: unknown): Uint8Array | undefined {
  return shard instanceof SealedShard ? signatures.get(shard) : undefined;
}

/** Alias kept for the worker's vocabulary: a handle to a sealed, resident model shard. */
export type ModelShardHandle = SealedShard;
export const ModelShardHandle = SealedShard;

/**
 * The seal-crypto fields a shard's signature covers, read from any shard-shaped object.
 * Returns undefined when a field cannot be part of a valid seal (so no signature can match).
 */
export function sealFieldsOf(shard: object): SealFields | undefined {
  const fields = shard as Record<string, unknown>;
  const { shardId, gpuDevice, vramBytes, digest, treeRoot, leafSize, sealedAt } = fields;
  const { modelRef, shardIndex, totalShards, keyId } = fields;
  if (
    typeof shardId !== 'string' ||
    typeof keyId !== 'string' ||
    typeof modelRef !== 'string' ||
    typeof digest !== 'string' ||
    typeof treeRoot !== 'string' ||
    !LOWER_SHA256_HEX.test(digest) ||
    !LOWER_SHA256_HEX.test(treeRoot) ||
    !isUint(gpuDevice) ||
    !isUint(vramBytes) ||
    !isUint(leafSize) ||
    !isUint(sealedAt) ||
    !isUint(shardIndex) ||
    !isUint(totalShards)
  ) {
    return undefined;
  }
  return {
    keyId,
    shardId,
    device: gpuDevice,
    byteLength: vramBytes,
    digest: Buffer.from(digest, 'hex'),
    treeRoot: Buffer.from(treeRoot, 'hex'),
    leafSize,
    sealedAt,
    modelRef,
    shardIndex,
    totalShards,
  };
}

/** The seal resident under an id is the one presented: same fields, field for field. */
export function sameSeal(resident: Readonly<SealedShardJSON>, fields: SealFields): boolean {
  return (
    resident.gpuDevice === fields.device &&
    resident.vramBytes === fields.byteLength &&
    resident.sealedAt === fields.sealedAt &&
    resident.leafSize === fields.leafSize &&
    resident.modelRef === fields.modelRef &&
    resident.shardIndex === fields.shardIndex &&
    resident.totalShards === fields.totalShards &&
    resident.keyId === fields.keyId &&
    timingSafeEqual(Buffer.from(resident.treeRoot, 'hex'), fields.treeRoot) &&
    timingSafeEqual(Buffer.from(resident.digest, 'hex'), fields.digest)
  );
}
