import { createPublicKey, KeyObject } from 'node:crypto';
import {
  ATTESTATION_PAYLOAD_VERSION,
  type AttestationFields,
  timingSafeEqual,
  verifyAttestationSignature,
} from '@vramseal/seal-crypto';
import { LOWER_SHA256_HEX } from '../input/validate.js';
import { type SealedShardJSON, sealFieldsOf } from '../shard/sealed-shard.js';

/** The format name every statement carries, so a verifier never mistakes another document for one. */
export const ATTESTATION_FORMAT = 'vramseal-vram-residency';

/**
 * A signed statement that a sealed shard is resident in device memory, as measured at
 * `attestedAt`: everything in it is covered by `signature` (Ed25519 over seal-crypto's
 * attestation payload), so it can be handed to a remote verifier as JSON.
 */
export interface AttestationStatement {
  format: typeof ATTESTATION_FORMAT;
  version: typeof ATTESTATION_PAYLOAD_VERSION;
  shard: SealedShardJSON;
  device: {
    name: string;
    uuid: string;
    /** `major.minor`; '' on the host mock. */
    computeCapability: string;
    /** From the allocation's pointer attributes: 'device' is VRAM. */
    memoryType: string;
  };
  /** The tree root recomputed from device memory when the statement was made (64 hex). */
  measuredTreeRoot: string;
  /** The verifier's nonce, hex. */
  nonce: string;
  attestedAt: number;
  /** Ed25519 signature, base64. */
  signature: string;
}

export type AttestationFailure =
  | 'malformed'
  | 'wrong_format'
  | 'nonce_mismatch'
  | 'bad_signature'
  | 'tree_root_mismatch'
  | 'not_device_memory';

export type AttestationCheck =
  | { ok: true; reason: null }
  | { ok: false; reason: AttestationFailure; detail: string };

export interface VerifyAttestationOptions {
  /** The nonce the verifier sent (bytes, or the string it used). Required: it proves freshness. */
  nonce: Uint8Array | string;
  /**
   * Accept a statement whose memory type is not 'device' (the host mock, development only).
   * Default false: a statement about host memory is not proof of VRAM residency.
   */
  allowHostMemory?: boolean;
}

/** The seal-crypto fields a statement signs. Exported for the manager that makes statements. */
export function attestationFieldsOf(
  statement: Omit<AttestationStatement, 'signature'>,
): AttestationFields | undefined {
  const seal = sealFieldsOf(statement.shard as unknown as Record<string, unknown>);
  if (seal === undefined) return undefined;
  return {
    seal,
    deviceName: statement.device.name,
    deviceUuid: statement.device.uuid,
    computeCapability: statement.device.computeCapability,
    memoryType: statement.device.memoryType,
    measuredTreeRoot: Buffer.from(statement.measuredTreeRoot, 'hex'),
    nonce: Buffer.from(statement.nonce, 'hex'),
    attestedAt: statement.attestedAt,
  };
}

const HEX = /^(?:[0-9a-f]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Checks a statement from `attestVramResidency` with the attestation public key: well formed, made
 * for this nonce, signed by the key, the measured tree root equal to the sealed one, and the
 * memory device memory (unless `allowHostMemory`). Never throws for a bad statement; it returns
 * the first reason it fails. Throws a TypeError only for an unusable key or missing nonce.
 */
export function verifyAttestation(
  statement: AttestationStatement | string,
  publicKey: KeyObject | string,
  options: VerifyAttestationOptions,
): AttestationCheck {
  const key = toPublicKey(publicKey);
  const expectedNonce = toNonce(options?.nonce);
  const parsed = parseStatement(statement);
  if (typeof parsed === 'string') return fail('malformed', parsed);
  if (parsed.format !== ATTESTATION_FORMAT || parsed.version !== ATTESTATION_PAYLOAD_VERSION) {
    return fail(
      'wrong_format',
      `not a ${ATTESTATION_FORMAT} v${ATTESTATION_PAYLOAD_VERSION} statement`,
    );
  }
  const fields = attestationFieldsOf(parsed);
  if (fields === undefined) return fail('malformed', 'the shard fields are not those of a seal');
  if (!timingSafeEqual(fields.nonce, expectedNonce)) {
    return fail(
      'nonce_mismatch',
      'the statement was made for another nonce (a replay, or another request)',
    );
  }
  let signed: boolean;
  try {
    signed = verifyAttestationSignature(key, fields, Buffer.from(parsed.signature, 'base64'));
  } catch (error) {
    return fail(
      'malformed',
      `the statement's fields cannot be encoded: ${(error as Error).message}`,
    );
  }
  if (!signed)
    return fail(
      'bad_signature',
      'the signature does not match the statement under this public key',
    );
  if (!timingSafeEqual(fields.measuredTreeRoot, fields.seal.treeRoot)) {
    return fail(
      'tree_root_mismatch',
      'the tree root measured now differs from the sealed one: device memory changed',
    );
  }
  if (parsed.device.memoryType !== 'device' && options.allowHostMemory !== true) {
    return fail(
      'not_device_memory',
      `the shard lives in '${parsed.device.memoryType}' memory, not device memory`,
    );
  }
  return { ok: true, reason: null };
}

function fail(reason: AttestationFailure, detail: string): AttestationCheck {
  return { ok: false, reason, detail };
}

function toPublicKey(key: KeyObject | string): KeyObject {
  try {
    const object =
      key instanceof KeyObject
        ? key.type === 'private'
          ? createPublicKey(key)
          : key
        : createPublicKey(key);
    if (object.asymmetricKeyType !== 'ed25519') throw new TypeError('not an Ed25519 key');
    return object;
  } catch {
    throw new TypeError(
      'publicKey must be the Ed25519 attestation public key (a KeyObject or an SPKI PEM string)',
    );
  }
}

function toNonce(nonce: unknown): Uint8Array {
  if (typeof nonce === 'string' && nonce.length > 0) return new TextEncoder().encode(nonce);
  if (nonce instanceof Uint8Array && nonce.length > 0) return nonce;
  throw new TypeError(
    'options.nonce must be the nonce sent with the attestation request (Uint8Array or string)',
  );
}

/** A statement from an object or its JSON, shape-checked; a string says what is wrong. */
function parseStatement(input: unknown): AttestationStatement | string {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      return 'the statement is not valid JSON';
    }
  }
  if (typeof value !== 'object' || value === null) return 'the statement is not an object';
  const s = value as Record<string, unknown>;
  const device = s.device as Record<string, unknown> | undefined;
  if (typeof s.shard !== 'object' || s.shard === null) return 'shard is missing';
  if (typeof device !== 'object' || device === null) return 'device is missing';
  for (const name of ['name', 'uuid', 'computeCapability', 'memoryType'] as const) {
    if (typeof device[name] !== 'string') return `device.${name} is not a string`;
  }
  if (typeof s.measuredTreeRoot !== 'string' || !LOWER_SHA256_HEX.test(s.measuredTreeRoot))
    return 'measuredTreeRoot is not 64 hex';
  if (typeof s.nonce !== 'string' || !HEX.test(s.nonce)) return 'nonce is not hex';
  if (typeof s.signature !== 'string' || !BASE64.test(s.signature))
    return 'signature is not base64';
  if (typeof s.attestedAt !== 'number' || !Number.isSafeInteger(s.attestedAt) || s.attestedAt < 0)
    return 'attestedAt is not a time';
  return s as unknown as AttestationStatement;
}
