import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { AuditConfigError } from '../errors.js';

/**
 * Ed25519 keys for checkpoints, accepted as a node:crypto `KeyObject`, a PEM string (PKCS#8
 * private / SPKI public) or raw 32 bytes (private: the RFC 8032 seed; public: the encoded point).
 */
export type CheckpointSigningKey = KeyObject | string | Uint8Array;
export type CheckpointPublicKey = KeyObject | string | Uint8Array;

// DER prefixes that wrap a raw 32-byte Ed25519 key into PKCS#8 / SPKI (RFC 8410 section 7).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function requireEd25519(key: KeyObject, option: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AuditConfigError(
      option,
      `${option} must be an Ed25519 key, got ${key.asymmetricKeyType ?? 'a symmetric key'}`,
    );
  }
  return key;
}

export function toSigningKey(key: CheckpointSigningKey, option = 'signingKey'): KeyObject {
  try {
    if (key instanceof Uint8Array) {
      if (key.length !== 32) {
        throw new AuditConfigError(
          option,
          `${option} as raw bytes must be a 32-byte Ed25519 seed, got ${key.length} bytes`,
        );
      }
      const der = Buffer.concat([PKCS8_ED25519_PREFIX, key]);
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    }
    const obj = typeof key === 'string' ? createPrivateKey(key) : key;
    if (obj.type !== 'private') {
      throw new AuditConfigError(
        option,
        `${option} must be a private key (got a ${obj.type} key); the verifier takes the public one`,
      );
    }
    return requireEd25519(obj, option);
  } catch (error) {
    if (error instanceof AuditConfigError) throw error;
    throw new AuditConfigError(
      option,
      `${option} is not a usable Ed25519 private key (PEM, KeyObject or 32-byte seed)`,
      error,
    );
  }
}

export function toPublicKey(key: CheckpointPublicKey, option = 'publicKey'): KeyObject {
  try {
    if (key instanceof Uint8Array) {
      if (key.length !== 32) {
        throw new AuditConfigError(
          option,
          `${option} as raw bytes must be a 32-byte Ed25519 public key, got ${key.length} bytes`,
        );
      }
      return createPublicKey({
        key: Buffer.concat([SPKI_ED25519_PREFIX, key]),
        format: 'der',
        type: 'spki',
      });
    }
    if (typeof key !== 'string' && key.type === 'public') return requireEd25519(key, option);
    // createPublicKey also derives the public half from a private key or private PEM.
    return requireEd25519(createPublicKey(key), option);
  } catch (error) {
    if (error instanceof AuditConfigError) throw error;
    throw new AuditConfigError(
      option,
      `${option} is not a usable Ed25519 public key (PEM, KeyObject or 32 raw bytes)`,
      error,
    );
  }
}
