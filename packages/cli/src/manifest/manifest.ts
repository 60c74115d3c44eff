import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  encodeSealPayload,
  hmacSha256,
  hmacSha256Hex,
  type SealFields,
  type SecretKey,
  signSeal,
  timingSafeEqual,
  verifySealSignature,
} from '@vramseal/seal-crypto';
import { type SealedShardJSON, sealFieldsOf } from '@vramseal/vram-manager';
import { CliError, cannotRead, codeOf } from '../errors.js';

/** `format` of every manifest `vramseal seal` writes. */
export const MANIFEST_FORMAT = 'vramseal-seal-manifest';
/** Layout version: bump it for any change a version-1 reader would misread. */
export const MANIFEST_VERSION = 1;
/** Domain-separation tag that opens the bytes the manifest MAC covers (ASCII, NUL-terminated). */
export const MANIFEST_MAC_TAG = 'vramseal/seal-manifest\u0000';

/** One sealed file: the seal's fields (a `SealedShard`'s JSON), where the file is, the signature. */
export interface ManifestShard extends SealedShardJSON {
  /** The sealed file, relative to the manifest's folder, with `/` separators. */
  file: string;
  /** HMAC-SHA256 seal signature over seal-crypto's seal payload of the fields: 64 lowercase hex. */
  signature: string;
}

export interface SealManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  /** Id of the seal key every entry and the `mac` are made with (16 hex). */
  keyId: string;
  /** When `vramseal seal` wrote it, ISO 8601 UTC. */
  createdAt: string;
  /** The tool that wrote it, e.g. `@vramseal/cli 0.1.0`. */
  createdBy: string;
  /** The backend the shards were sealed on: `cuda` or `mock`. */
  backend: 'cuda' | 'mock';
  shards: ManifestShard[];
  /** HMAC-SHA256 with the seal key over `encodeManifestPayload` of every other field: 64 hex. */
  mac: string;
}

/** A manifest before its MAC is computed. */
export type UnsignedManifest = Omit<SealManifest, 'mac'>;

/**
 * seal-crypto's seal fields of a shard, by vram-manager's own `sealFieldsOf`: the mapping the
 * manager signs with, so a manifest cannot drift from it. Every entry `parseManifest` accepts and
 * every `SealedShard` maps; anything else is a BAD_MANIFEST rather than a seal that cannot match.
 */
function fieldsOf(shard: SealedShardJSON): SealFields {
  const fields = sealFieldsOf(shard as unknown as Record<string, unknown>);
  if (fields === undefined) {
    throw new CliError(
      'BAD_MANIFEST',
      `shard ${JSON.stringify(shard.shardId)} has fields no seal can hold; pass a manifest written by \`vramseal seal\`, unedited`,
    );
  }
  return fields;
}

/** The signature `VramManager` made for this seal (HMAC with the seal key), as hex. */
export function signShard(key: SecretKey, shard: SealedShardJSON): string {
  return Buffer.from(signSeal(key, fieldsOf(shard))).toString('hex');
}

/** True when the manifest entry's signature is the seal key's signature of its fields. */
export function signatureValid(key: SecretKey, shard: ManifestShard): boolean {
  return verifySealSignature(key, fieldsOf(shard), Buffer.from(shard.signature, 'hex'));
}

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
/** u32 big-endian byte length, then the bytes: no two field lists share an encoding. */
const lengthPrefixed = (bytes: Uint8Array) => Buffer.concat([u32(bytes.length), bytes]);
const text = (value: string) => lengthPrefixed(Buffer.from(value, 'utf8'));

/**
 * The bytes the manifest MAC covers (layout in the README): the tag, then every field but `mac`
 * in a fixed order, each entry as its file, seal-crypto's seal payload of its fields and its
 * signature. So no field, no entry, no entry's place and no entry count can change unnoticed.
 */
export function encodeManifestPayload(manifest: UnsignedManifest): Uint8Array {
  const parts: Uint8Array[] = [
    Buffer.from(MANIFEST_MAC_TAG, 'ascii'),
    text(manifest.format),
    u16(manifest.version),
    text(manifest.keyId),
    text(manifest.createdAt),
    text(manifest.createdBy),
    text(manifest.backend),
    u32(manifest.shards.length),
  ];
  for (const shard of manifest.shards) {
    parts.push(
      text(shard.file),
      lengthPrefixed(encodeSealPayload(fieldsOf(shard))),
      Buffer.from(shard.signature, 'hex'),
    );
  }
  return Buffer.concat(parts);
}

/** The manifest's MAC: HMAC-SHA256 with the seal key over `encodeManifestPayload`, hex. */
export function manifestMac(key: SecretKey, manifest: UnsignedManifest): string {
  return hmacSha256Hex(key, encodeManifestPayload(manifest));
}

/** True when `mac` is the seal key's MAC of the whole manifest (compared in constant time). */
export function manifestMacValid(key: SecretKey, manifest: SealManifest): boolean {
  const { mac, ...rest } = manifest;
  const expected = hmacSha256(key, encodeManifestPayload(rest));
  return timingSafeEqual(expected, Buffer.from(mac, 'hex'));
}

/**
 * Why a manifest `file` cannot be used, or undefined when it names a file inside the manifest's
 * folder: an absolute path, or one with a `..` part (`seal` never writes either), is refused.
 */
export function manifestFileProblem(file: string): string | undefined {
  if (path.posix.isAbsolute(file) || path.win32.isAbsolute(file)) return 'is an absolute path';
  if (file.split(/[\\/]/).includes('..'))
    return "has a '..' part: it can leave the manifest's folder";
  return undefined;
}

const HEX64 = /^[0-9a-f]{64}$/;
const KEY_ID = /^[0-9a-f]{16}$/;
const SHARD_ID = /^[A-Za-z0-9_-]{1,256}$/;
const TOP_KEYS = [
  'format',
  'version',
  'keyId',
  'createdAt',
  'createdBy',
  'backend',
  'shards',
  'mac',
];
const MAX_U32 = 0xffff_ffff;
const SHARD_KEYS = [
  'shardId',
  'file',
  'vramBytes',
  'digest',
  'treeRoot',
  'leafSize',
  'signature',
  'modelRef',
  'shardIndex',
  'totalShards',
  'keyId',
  'gpuDevice',
  'sealedAt',
];

type Check = (value: unknown) => boolean;
const isUint: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isU32: Check = (v) => isUint(v) && (v as number) <= MAX_U32;
/** Well-formed UTF-16: a lone surrogate encodes as U+FFFD, so two strings could MAC the same. */
const isString: Check = (v) => typeof v === 'string' && !/\p{Cs}/u.test(v);
const SHARD_FIELDS: Record<string, [Check, string]> = {
  shardId: [(v) => isString(v) && SHARD_ID.test(v as string), '1-256 of A-Z a-z 0-9 _ -'],
  file: [(v) => isString(v) && (v as string).length > 0, 'a non-empty file path'],
  vramBytes: [(v) => isUint(v) && (v as number) >= 1, 'a byte count of at least 1'],
  digest: [(v) => isString(v) && HEX64.test(v as string), '64 lowercase hex characters'],
  treeRoot: [(v) => isString(v) && HEX64.test(v as string), '64 lowercase hex characters'],
  leafSize: [
    (v) =>
      isUint(v) &&
      (v as number) >= 64 &&
      (v as number) <= 2 ** 30 &&
      ((v as number) & ((v as number) - 1)) === 0,
    'a power of two from 64 to 2^30',
  ],
  signature: [(v) => isString(v) && HEX64.test(v as string), '64 lowercase hex characters'],
  modelRef: [
    (v) => isString(v) && Buffer.byteLength(v as string) <= 65_535,
    'text of at most 65535 bytes',
  ],
  shardIndex: [isU32, 'a shard index'],
  totalShards: [(v) => isU32(v) && (v as number) >= 1, 'a shard count of at least 1'],
  keyId: [(v) => isString(v) && KEY_ID.test(v as string), '16 lowercase hex characters'],
  gpuDevice: [isU32, 'a device index'],
  sealedAt: [isUint, 'milliseconds since the epoch'],
};

function bad(source: string, problem: string): CliError {
  return new CliError(
    'BAD_MANIFEST',
    `${source} is not a usable seal manifest: ${problem}; pass a manifest written by \`vramseal seal\`, unedited`,
  );
}

/**
 * Checks every field of a manifest (unknown fields too) and returns it typed. Any problem is a
 * BAD_MANIFEST naming the first field at fault.
 */
export function parseManifest(text: string, source = 'the manifest'): SealManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad(source, `it is not JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw bad(source, 'it is not a JSON object');
  }
  const m = value as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) throw bad(source, `"format" is not "${MANIFEST_FORMAT}"`);
  if (m.version !== MANIFEST_VERSION) {
    throw bad(source, `"version" ${JSON.stringify(m.version)} is not ${MANIFEST_VERSION}`);
  }
  const unknown = Object.keys(m).find((k) => !TOP_KEYS.includes(k));
  if (unknown !== undefined) throw bad(source, `it has an unknown field "${unknown}"`);
  if (typeof m.keyId !== 'string' || !KEY_ID.test(m.keyId)) {
    throw bad(source, '"keyId" is not 16 lowercase hex characters');
  }
  if (!isString(m.createdAt)) throw bad(source, '"createdAt" is not text');
  if (!isString(m.createdBy)) throw bad(source, '"createdBy" is not text');
  if (m.backend !== 'cuda' && m.backend !== 'mock')
    throw bad(source, '"backend" is not cuda or mock');
  if (!Array.isArray(m.shards) || m.shards.length === 0) {
    throw bad(source, '"shards" is not a non-empty list');
  }
  if (typeof m.mac !== 'string' || !HEX64.test(m.mac)) {
    throw bad(source, '"mac" is not 64 lowercase hex characters');
  }
  const ids = new Set<string>();
  m.shards.forEach((shard, i) => {
    const where = `shards[${i}]`;
    if (shard === null || typeof shard !== 'object' || Array.isArray(shard)) {
      throw bad(source, `${where} is not an object`);
    }
    const s = shard as Record<string, unknown>;
    const extra = Object.keys(s).find((k) => !SHARD_KEYS.includes(k));
    if (extra !== undefined) throw bad(source, `${where} has an unknown field "${extra}"`);
    for (const [field, [check, expected]] of Object.entries(SHARD_FIELDS)) {
      if (!(field in s)) throw bad(source, `${where}.${field} is missing`);
      if (!check(s[field])) throw bad(source, `${where}.${field} is not ${expected}`);
    }
    if ((s.shardIndex as number) >= (s.totalShards as number)) {
      throw bad(source, `${where}.shardIndex is not below its totalShards`);
    }
    if (s.keyId !== m.keyId) throw bad(source, `${where}.keyId is not the manifest's "keyId"`);
    if (ids.has(s.shardId as string)) throw bad(source, `${where}.shardId repeats an earlier one`);
    ids.add(s.shardId as string);
  });
  return m as unknown as SealManifest;
}

/** Reads and checks a manifest file; returns it with the folder its `file` paths start from. */
export function readManifest(file: string): { manifest: SealManifest; dir: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError('UNREADABLE_INPUT', cannotRead(`the manifest ${file}`, error), {
      cause: error,
    });
  }
  return {
    manifest: parseManifest(text, `manifest ${file}`),
    dir: path.dirname(path.resolve(file)),
  };
}

/** The path of `file` as a manifest in `manifestDir` records it. */
export function manifestPath(manifestDir: string, file: string): string {
  return path.relative(manifestDir, path.resolve(file)).split(path.sep).join('/');
}

/** Writes the manifest whole or not at all (a temp file renamed over the target). */
export function writeManifest(file: string, manifest: SealManifest): void {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644, flag: 'wx' });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new CliError(
      'CANNOT_WRITE',
      `cannot write the manifest ${file} (${codeOf(error) ?? (error as Error).message}); choose a writable path with --manifest`,
      { cause: error },
    );
  }
}
